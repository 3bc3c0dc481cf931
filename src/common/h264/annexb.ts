// Incremental H.264 Annex B parser: chunks of a byte stream in, complete access units out (H.264 Annex B, 7.4.1.2.3).
import { H264SyntaxError } from './bits.js';
import { hasSliceHeader, isVcl, NalType, nalUnitType, startsAccessUnit } from './nal.js';
import { firstMbInSlice } from './slice.js';
import { hasRecoveryPoint } from './sei.js';
import { parseSps, type SpsInfo } from './sps.js';

/** One access unit: the NAL units of one coded picture and the parameter sets/SEI before it. */
export interface AccessUnit {
  /** The access unit's bytes exactly as in the stream, start codes included. */
  data: Buffer;
  /**
   * A random-access point: contains an IDR slice (nal_unit_type 5), or a recovery point SEI (the
   * open-GOP I-pictures and intra-refresh starts of cameras that send no IDR after the first).
   */
  keyframe: boolean;
  /** Wall-clock ms (epoch) when its first byte arrived. */
  wallTime: number;
  /** Monotonic ms when its first byte arrived. */
  monoTime: number;
}

export interface AnnexBParserOptions {
  /**
   * Longest access unit kept while waiting for its end. Garbage without start codes (or a broken
   * stream) must not grow memory without bound: past this size the bytes are dropped and counted
   * in {@link AnnexBParser.droppedBytes}, and parsing resumes at the next start code.
   */
  maxAccessUnitBytes?: number;
}

/** Default limit: far above any real picture (a 4K intra frame is a few MB). */
export const DEFAULT_MAX_ACCESS_UNIT_BYTES = 16 * 1024 * 1024;

// Bytes of a slice NAL unit read to find first_mb_in_slice: the header byte and an Exp-Golomb
// code of at most 2*17+1 bits for the largest pictures, plus room for emulation-prevention bytes.
const HEAD_BYTES = 16;

const START_CODE = Buffer.from([0, 0, 1]);

interface Segment {
  buf: Buffer;
  /** Stream offset of buf[0]. */
  abs: number;
  wall: number;
  mono: number;
}

interface OpenNal {
  /** Stream offset of its start code's first byte (the zero_byte of a 4-byte start code). */
  start: number;
  /** Stream offset of its header byte. */
  header: number;
  type: number;
  /** Whether it has been assigned to an access unit. */
  decided: boolean;
}

/**
 * Splits an H.264 Annex B byte stream into access units, however the stream is cut into chunks.
 *
 * It keeps a list of the chunks that hold the access unit being collected (no concatenation per
 * chunk); a finished access unit is a subarray of one chunk when it lies inside it, or one copy
 * when it spans chunks. Start codes of 3 or 4 bytes may be split anywhere. Access units end where
 * H.264 7.4.1.2.3 says: at an AUD, SPS, PPS, SEI or NAL type 14–18 after a slice, or at a slice
 * with first_mb_in_slice 0 (a new picture; slices of one picture stay together). Bytes before the
 * first start code are dropped and counted.
 */
export class AnnexBParser {
  private readonly maxAuBytes: number;
  private segs: Segment[] = [];
  /** Stream offset of the end of everything pushed. */
  private total = 0;
  /** Zero bytes just before `total` (at most 3): a start code may continue in the next chunk. */
  private zeros = 0;
  /** Stream offset where the access unit being collected starts; -1 before the first start code. */
  private auStart = -1;
  private auHasVcl = false;
  private auKeyframe = false;
  /** A recovery point SEI came in this access unit. */
  private auRecovery = false;
  /** An end-of-sequence or end-of-stream NAL unit ended the access unit. */
  private auEnded = false;
  private nal: OpenNal | undefined;
  private out: AccessUnit[] = [];
  private newestSps: SpsInfo | undefined;
  private dropped = 0;
  private readonly head = Buffer.alloc(HEAD_BYTES);

  constructor(options: AnnexBParserOptions = {}) {
    this.maxAuBytes = options.maxAccessUnitBytes ?? DEFAULT_MAX_ACCESS_UNIT_BYTES;
  }

  /** Facts of the newest SPS seen (parsed once the SPS NAL unit is complete). */
  get sps(): SpsInfo | undefined {
    return this.newestSps;
  }

  /** Bytes dropped: before the first start code, and access units over the size limit. */
  get droppedBytes(): number {
    return this.dropped;
  }

  /**
   * Stream offset (bytes pushed before it) of the oldest byte the parser still holds. Memory of
   * pushed chunks that ends at or before it is no longer referenced by the parser, so a reader
   * may reuse it once it is done with the access units already returned (they may point into it).
   */
  get heldFrom(): number {
    return this.segs.length > 0 ? this.segs[0]!.abs : this.total;
  }

  /** Feeds one chunk; returns the access units it completed, in stream order. */
  push(chunk: Buffer, wallTime: number, monoTime: number): AccessUnit[] {
    const n = chunk.length;
    if (n === 0) return [];
    const base = this.total;
    this.segs.push({ buf: chunk, abs: base, wall: wallTime, mono: monoTime });
    this.total += n;

    // A start code whose 0x01 is in the first two bytes began in an earlier chunk.
    const carry = this.zeros;
    let zeros = carry;
    for (let i = 0; i < n && i < 2; i++) {
      const b = chunk[i]!;
      if (b === 1 && zeros >= 2) {
        this.onStartCode(base + i - (zeros >= 3 ? 3 : 2), base + i + 1);
        zeros = 0;
      } else {
        zeros = b === 0 ? zeros + 1 : 0;
      }
    }
    // Every other start code lies wholly inside this chunk; indexOf is a fast native search.
    for (let q = chunk.indexOf(START_CODE, 0); q >= 0; q = chunk.indexOf(START_CODE, q + 3)) {
      const fourBytes = q > 0 ? chunk[q - 1] === 0 : carry >= 1;
      this.onStartCode(base + q - (fourBytes ? 1 : 0), base + q + 3);
    }

    let t = 0;
    while (t < n && t < 3 && chunk[n - 1 - t] === 0) t++;
    this.zeros = t === n ? Math.min(3, carry + n) : t;

    // Trailing zeros may be the next start code; a NAL unit never ends in 0x00, so wait for more.
    if (this.nal && !this.nal.decided) this.decide(this.nal, this.total - this.zeros, false);

    if (this.auStart < 0) {
      this.keepTail();
    } else if (this.total - this.auStart > this.maxAuBytes) {
      // No end in sight: drop what was collected and resynchronise at the next start code.
      this.auStart = -1;
      this.nal = undefined;
      this.auHasVcl = this.auKeyframe = this.auRecovery = this.auEnded = false;
      this.keepTail();
    }
    return this.out.splice(0);
  }

  /** Ends the stream: returns the last access unit (if any bytes after a start code remain). */
  end(): AccessUnit[] {
    if (this.nal) this.finishNal(this.nal, this.total);
    if (this.auStart >= 0 && this.total > this.auStart) this.emit(this.total);
    else this.dropped += this.segs.reduce((sum, s) => sum + s.buf.length, 0);
    this.segs = [];
    this.auStart = -1;
    this.nal = undefined;
    this.zeros = 0;
    this.auHasVcl = this.auKeyframe = this.auRecovery = this.auEnded = false;
    return this.out.splice(0);
  }

  /**
   * The access unit being collected, if it already holds a slice: what has arrived of it, without
   * an undecided trailing NAL unit or the zero bytes that may begin the next start code. The live
   * view may send it before the next start code proves it complete (rpicam-vid --flush writes
   * whole access units).
   */
  peekPending(): { data: Buffer; keyframe: boolean } | undefined {
    if (this.auStart < 0 || !this.auHasVcl) return undefined;
    let end = this.nal && !this.nal.decided ? this.nal.start : this.total;
    while (end > this.auStart && this.byteAt(end - 1) === 0) end--;
    if (end <= this.auStart) return undefined;
    return { data: this.extract(this.auStart, end), keyframe: this.auKeyframe || this.auRecovery };
  }

  private onStartCode(scStart: number, header: number): void {
    if (this.nal) this.finishNal(this.nal, scStart);
    if (this.auStart < 0) {
      this.dropBefore(scStart);
      this.auStart = scStart;
    }
    this.nal = { start: scStart, header, type: -1, decided: false };
  }

  /** The NAL unit ends at `end` (the next start code, or the end of the stream). */
  private finishNal(nal: OpenNal, end: number): void {
    if (!nal.decided) this.decide(nal, end, true);
    if (nal.type === NalType.SPS) {
      let e = end;
      while (e > nal.header && this.byteAt(e - 1) === 0) e--;
      try {
        this.newestSps = parseSps(this.extract(nal.header, e));
      } catch (err) {
        if (!(err instanceof H264SyntaxError)) throw err;
        // A corrupt SPS is ignored; the previous one stays the newest valid one.
      }
    } else if (nal.type === NalType.SEI && !this.auHasVcl && nal.start >= this.auStart) {
      // A SEI before the first slice belongs to this access unit's picture.
      if (hasRecoveryPoint(this.extract(nal.header, end))) this.auRecovery = true;
    }
  }

  /**
   * Assigns a NAL unit to the current access unit or starts a new one, once enough of it is here:
   * its header byte, and for a slice first_mb_in_slice. With `final`, `limit` is its real end.
   */
  private decide(nal: OpenNal, limit: number, final: boolean): void {
    const available = Math.min(limit, this.total) - nal.header;
    if (available <= 0) {
      if (!final) return;
      // A start code with nothing after it: keep its bytes with the current access unit.
      nal.decided = true;
      return;
    }
    nal.type = nalUnitType(this.byteAt(nal.header));
    let firstMb: number | undefined;
    if (hasSliceHeader(nal.type)) {
      const len = Math.min(available, HEAD_BYTES);
      for (let i = 0; i < len; i++) this.head[i] = this.byteAt(nal.header + i);
      firstMb = firstMbInSlice(this.head, len);
      if (firstMb === undefined && !final && len < HEAD_BYTES) return;
    }
    nal.decided = true;
    const type = nal.type;
    // A slice too short to hold first_mb_in_slice cannot continue a picture: it starts a new one.
    const newPicture = hasSliceHeader(type) && (firstMb === undefined || firstMb === 0);
    if (this.auEnded || (this.auHasVcl && (startsAccessUnit(type) || newPicture))) {
      if (nal.start > this.auStart) this.emit(nal.start);
    }
    if (isVcl(type)) {
      this.auHasVcl = true;
      if (type === NalType.IDR) this.auKeyframe = true;
    }
    this.auEnded = type === NalType.END_OF_SEQUENCE || type === NalType.END_OF_STREAM;
  }

  /** Completes the access unit [auStart, cut); the next one starts at `cut`. */
  private emit(cut: number): void {
    const first = this.segs[0]!;
    this.out.push({ data: this.extract(this.auStart, cut), keyframe: this.auKeyframe || this.auRecovery, wallTime: first.wall, monoTime: first.mono });
    this.dropBefore(cut);
    this.auStart = cut;
    this.auHasVcl = this.auKeyframe = this.auRecovery = this.auEnded = false;
  }

  /** Forgets the bytes before stream offset `pos`; counts them as dropped when no access unit held them. */
  private dropBefore(pos: number): void {
    const counted = this.auStart < 0;
    while (this.segs.length > 0) {
      const s = this.segs[0]!;
      const segEnd = s.abs + s.buf.length;
      if (segEnd <= pos) {
        if (counted) this.dropped += s.buf.length;
        this.segs.shift();
        continue;
      }
      if (s.abs < pos) {
        if (counted) this.dropped += pos - s.abs;
        this.segs[0] = { buf: s.buf.subarray(pos - s.abs), abs: pos, wall: s.wall, mono: s.mono };
      }
      break;
    }
  }

  /**
   * Outside an access unit, keeps only the last 3 bytes (the start of a start code split across
   * chunks); the rest is counted as dropped.
   */
  private keepTail(): void {
    this.dropBefore(Math.max(0, this.total - 3));
  }

  private byteAt(pos: number): number {
    for (let i = this.segs.length - 1; i >= 0; i--) {
      const s = this.segs[i]!;
      if (pos >= s.abs) return s.buf[pos - s.abs]!;
    }
    throw new RangeError(`byte ${pos} is no longer held`);
  }

  /** Bytes [start, end): a subarray of one chunk, or one copy when they span chunks. */
  private extract(start: number, end: number): Buffer {
    let i = 0;
    while (this.segs[i]!.abs + this.segs[i]!.buf.length <= start) i++;
    const s = this.segs[i]!;
    if (end <= s.abs + s.buf.length) return s.buf.subarray(start - s.abs, end - s.abs);
    const out = Buffer.allocUnsafe(end - start);
    let o = 0;
    for (let pos = start; pos < end; i++) {
      const seg = this.segs[i]!;
      const from = pos - seg.abs;
      const to = Math.min(seg.buf.length, end - seg.abs);
      seg.buf.copy(out, o, from, to);
      o += to - from;
      pos = seg.abs + to;
    }
    return out;
  }
}
