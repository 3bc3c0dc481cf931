// The access units of an H.264 Annex B file, found with one search for start codes over a sliding window: NAL units with their file offsets.
import { DEFAULT_MAX_ACCESS_UNIT_BYTES } from '../../common/h264/annexb.js';
import { hasSliceHeader, isVcl, NalType, startsAccessUnit } from '../../common/h264/nal.js';
import { hasRecoveryPoint } from '../../common/h264/sei.js';
import { firstMbInSlice } from '../../common/h264/slice.js';

const START_CODE = Buffer.from([0, 0, 1]);

// Bytes of a slice read for first_mb_in_slice, as AnnexBParser reads them.
const SLICE_HEAD_BYTES = 16;

/** One access unit as {@link AccessUnitScanner} found it. Its arrays and views are valid only during the callback. */
export interface ScannedAccessUnit {
  /**
   * Its NAL units as views of the scanned window: without start code and trailing zero bytes,
   * none empty (as iterateNalUnits yields them from the access unit's bytes).
   */
  nals: Buffer[];
  /** The file offset of each NAL unit's first byte (its header), parallel to `nals`. */
  offsets: number[];
  /** A random-access point: an IDR slice, or a recovery point SEI before the first slice. */
  keyframe: boolean;
}

/**
 * Splits an Annex B file into access units exactly where AnnexBParser does (H.264 7.4.1.2.3: at
 * an AUD, SPS, PPS, SEI or NAL type 14–18 after a slice, at a slice with first_mb_in_slice 0, after
 * an end of sequence or stream), but for a whole file read in order: the caller hands it windows
 * of the file, each holding every byte from the offset the previous {@link scan} returned, and
 * every byte is searched for start codes once. Access units come out as lists of NAL units that
 * point into the window (no copies), with their file offsets, so a second pass can copy the NAL
 * units without searching again.
 *
 * As AnnexBParser, it drops bytes before the first start code, and an access unit that grows past
 * `maxAccessUnitBytes` without ending (garbage): parsing resumes at the next start code.
 */
export class AccessUnitScanner {
  private window: Buffer = Buffer.alloc(0);
  private base = 0;
  /** File offset from which a start code has not been searched for yet. */
  private scanFrom = 0;
  /** File offset of the start code that began the access unit being collected; -1 when none. */
  private auStart = -1;
  /** The NAL unit whose end has not been found yet: offsets of its start code and header byte; -1 when none. */
  private openStart = -1;
  private openHeader = 0;
  /** Whether the open NAL unit's place (this access unit or the next) is decided, and its type (-1: empty). */
  private openDecided = false;
  private openType = -1;
  /** The complete, non-empty NAL units of the access unit being collected: header offsets and trimmed ends. */
  private readonly headers: number[] = [];
  private readonly ends: number[] = [];
  private hasVcl = false;
  private keyframe = false;
  private recovery = false;
  private ended = false;
  private readonly au: ScannedAccessUnit = { nals: [], offsets: [], keyframe: false };

  constructor(
    private readonly onAccessUnit: (au: ScannedAccessUnit) => void,
    private readonly maxAccessUnitBytes = DEFAULT_MAX_ACCESS_UNIT_BYTES,
  ) {}

  /**
   * Scans `window`, the file's bytes from offset `base` on; the access units it completes are
   * handed to the callback before it returns. The window must start at or before the offset the
   * previous call returned and continue where that call's window ended. Returns the file offset of
   * the oldest byte still needed: the next window must start at or before it.
   */
  scan(window: Buffer, base: number): number {
    if (base > this.keepFrom() || base + window.length < this.base + this.window.length) {
      throw new RangeError(`scan window [${base}, ${base + window.length}) does not continue the last one`);
    }
    this.window = window;
    this.base = base;
    const end = base + window.length;
    let q = window.indexOf(START_CODE, Math.max(0, this.scanFrom - base));
    let next = this.scanFrom;
    while (q >= 0) {
      const p = base + q;
      // A zero byte before 00 00 01 is the zero_byte of a 4-byte start code (or a trailing zero).
      this.onStartCode(q > 0 && window[q - 1] === 0 ? p - 1 : p, p + 3);
      next = p + 3;
      q = window.indexOf(START_CODE, q + 3);
    }
    // A start code may begin in the last two bytes and end in the next window.
    this.scanFrom = Math.max(next, end - 2);
    // Trailing zeros may begin the next start code (a NAL unit never ends in 0x00), as AnnexBParser waits for them.
    let zeros = 0;
    while (zeros < 3 && zeros < window.length && window[window.length - 1 - zeros] === 0) zeros++;
    if (this.openStart >= 0 && !this.openDecided) this.decide(end - zeros, false);
    if (this.auStart >= 0 && end - this.auStart > this.maxAccessUnitBytes) {
      // No end in sight: drop what was collected and resynchronise at the next start code.
      this.auStart = -1;
      this.openStart = -1;
      this.resetAccessUnit();
    }
    return this.keepFrom();
  }

  /** Ends the file: the last access unit (if any bytes after a start code remain) goes to the callback. */
  end(): void {
    const end = this.base + this.window.length;
    if (this.openStart >= 0) this.finishNal(end);
    this.openStart = -1;
    if (this.auStart >= 0 && end > this.auStart) this.emit(end);
    this.auStart = -1;
  }

  /** The oldest byte still needed: the access unit being collected, else the byte before the unsearched ones (a zero_byte). */
  private keepFrom(): number {
    const searchFrom = Math.max(0, this.scanFrom - 1);
    return this.auStart >= 0 ? Math.min(this.auStart, searchFrom) : searchFrom;
  }

  private byteAt(pos: number): number {
    return this.window[pos - this.base]!;
  }

  private onStartCode(scStart: number, header: number): void {
    if (this.openStart >= 0) this.finishNal(scStart);
    if (this.auStart < 0) this.auStart = scStart;
    this.openStart = scStart;
    this.openHeader = header;
    this.openDecided = false;
    this.openType = -1;
  }

  /**
   * Puts the open NAL unit into this access unit or starts the next one with it, once enough of
   * it is known: its header byte, and for a slice first_mb_in_slice (from at most 16 bytes), as
   * AnnexBParser decides. `limit`: how far its bytes are known; with `final`, where it ends.
   */
  private decide(limit: number, final: boolean): void {
    const header = this.openHeader;
    const available = limit - header;
    if (available <= 0) {
      // A start code with nothing after it: its bytes stay with the access unit and decide nothing.
      if (final) this.openDecided = true;
      return;
    }
    const type = this.byteAt(header) & 0x1f;
    let newPicture = false;
    if (hasSliceHeader(type)) {
      const len = Math.min(available, SLICE_HEAD_BYTES);
      const firstMb = firstMbInSlice(this.window.subarray(header - this.base, header - this.base + len), len);
      if (firstMb === undefined && !final && len < SLICE_HEAD_BYTES) return;
      // A slice too short to hold first_mb_in_slice cannot continue a picture: it starts a new one.
      newPicture = firstMb === undefined || firstMb === 0;
    }
    this.openDecided = true;
    this.openType = type;
    if ((this.ended || (this.hasVcl && (startsAccessUnit(type) || newPicture))) && this.openStart > this.auStart) this.emit(this.openStart);
    if (isVcl(type)) {
      this.hasVcl = true;
      if (type === NalType.IDR) this.keyframe = true;
    }
    this.ended = type === NalType.END_OF_SEQUENCE || type === NalType.END_OF_STREAM;
  }

  /** The open NAL unit ends at `end` (the next start code, or the end of the file). */
  private finishNal(end: number): void {
    if (!this.openDecided) this.decide(end, true);
    const header = this.openHeader;
    // A SEI before the first slice belongs to this access unit's picture.
    if (this.openType === NalType.SEI && !this.hasVcl && hasRecoveryPoint(this.window.subarray(header - this.base, end - this.base))) this.recovery = true;
    let trimmed = end;
    while (trimmed > header && this.byteAt(trimmed - 1) === 0) trimmed--;
    if (trimmed > header) {
      this.headers.push(header);
      this.ends.push(trimmed);
    }
  }

  /** Completes the access unit [auStart, cut); the next one starts at `cut`. */
  private emit(cut: number): void {
    const { nals, offsets } = this.au;
    nals.length = 0;
    offsets.length = 0;
    for (let i = 0; i < this.headers.length; i++) {
      nals.push(this.window.subarray(this.headers[i]! - this.base, this.ends[i]! - this.base));
      offsets.push(this.headers[i]!);
    }
    this.au.keyframe = this.keyframe || this.recovery;
    this.resetAccessUnit();
    this.auStart = cut;
    this.onAccessUnit(this.au);
  }

  private resetAccessUnit(): void {
    this.headers.length = 0;
    this.ends.length = 0;
    this.hasVcl = this.keyframe = this.recovery = this.ended = false;
  }
}
