// From H.264 access units to an MP4 sample table: which units become samples, their sizes, sync flags and presentation order.
import type { AccessUnit } from '../h264/annexb.js';
import { H264SyntaxError } from '../h264/bits.js';
import { hasSliceHeader, iterateNalUnits, NalType, nalUnitType } from '../h264/nal.js';
import { PocCalculator } from '../h264/poc.js';
import { parsePps, type PpsInfo } from '../h264/pps.js';
import { parseSliceHeader, type SliceHeader } from '../h264/slice.js';
import { parseSps, type SpsInfo } from '../h264/sps.js';
import { SampleRole } from './timing.js';

/** Bytes of the length field before every NAL unit in a sample (avcC lengthSizeMinusOne = 3). */
export const NAL_LENGTH_BYTES = 4;

/**
 * Whether a NAL unit is copied into the MP4 sample. Access unit delimiters and filler data are
 * dropped (the sample boundaries already delimit access units; filler only pads bitrate).
 * Parameter sets and SEI stay in-band, as ffmpeg's remux keeps them: every IDR sample then
 * carries the SPS/PPS in effect, so a stream whose parameter sets change still decodes.
 */
export function keepsNal(type: number): boolean {
  return type !== NalType.AUD && type !== NalType.FILLER;
}

/** The stream cannot become an MP4: no SPS, no IDR, nothing decodable. */
export class UnconvertibleStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnconvertibleStreamError';
  }
}

/** The sample table of a whole stream, ready for the moov box. */
export interface SampleTable {
  /** The SPS in effect at the first sample, and the raw SPS/PPS NAL units for avcC. */
  sps: SpsInfo;
  spsNal: Buffer;
  ppsNal: Buffer;
  /** Sample sizes in bytes (length-prefixed NAL units), in decoding order. */
  sizes: Uint32Array;
  /** 1-based sample numbers of IDR samples. */
  syncSamples: Uint32Array;
  /**
   * Composition offsets in frames, shifted so the smallest is 0, in decoding order; undefined when
   * every picture is presented in decoding order (no B-frame reordering).
   */
  compositionFrames?: Uint32Array;
  /** Frames the presentation must skip (the edit list) so that it starts at 0. */
  delayFrames: number;
  /** Bytes of all samples together: the mdat payload. */
  mdatBytes: number;
  /** What each access unit seen became ({@link SampleRole}), in stream order: the map from frames to samples. */
  roles: Uint8Array;
  /** Access units seen, and how many of them became samples (or second fields of one). */
  accessUnits: number;
  keptAccessUnits: number;
  /** Things a user may want to know: frames skipped before the first IDR, a cut-off end, changes. */
  warnings: string[];
}

/** A typed array that grows by doubling: a few bytes per frame, never the frames themselves. */
class Growable<T extends Uint8Array | Uint32Array | Int32Array> {
  length = 0;
  constructor(private data: T) {}

  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new (this.data.constructor as new (n: number) => T)(Math.max(64, this.data.length * 2));
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }

  get(i: number): number {
    return this.data[i]!;
  }

  set(i: number, v: number): void {
    this.data[i] = v;
  }

  /** The values, trimmed (a view, no copy). */
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

/** What one access unit becomes in the MP4, as {@link SampleReader.read} decides it. */
export interface SampleDecision {
  /** Starts a sample, joins the one before it (second field), or is left out ({@link SampleRole}). */
  role: (typeof SampleRole)[keyof typeof SampleRole];
  /** Bytes it adds to its sample: its kept NAL units, each behind a 4-byte length. */
  bytes: number;
  /** Its picture order count, and whether it starts a new POC period (IDR, MMCO 5). */
  poc: number;
  startsPeriod: boolean;
  /** A random-access point (the access unit's keyframe flag). */
  sync: boolean;
  /** Why it was left out after the first sample (unparseable slice headers, no slice); absent for a unit skipped before it. */
  dropped?: string;
}

/** The parameter sets in effect at the first sample: the SPS's facts and the raw SPS/PPS NAL units for avcC. */
export interface FirstParameterSets {
  sps: SpsInfo;
  spsNal: Buffer;
  ppsNal: Buffer;
}

/**
 * Decides, access unit by access unit and keeping only a few bytes of state, what each becomes
 * in an MP4 sample (see {@link SampleTableBuilder} for the rules). Shared by the whole-file
 * sample table and the fragmented writer, so both cut and order samples the same way.
 */
export class SampleReader {
  private readonly spsById = new Map<number, SpsInfo>();
  private readonly ppsById = new Map<number, PpsInfo>();
  private readonly spsRaw = new Map<number, Buffer>();
  private readonly ppsRaw = new Map<number, Buffer>();
  private readonly poc = new PocCalculator();
  private firstSets: FirstParameterSets | undefined;
  private pendingField: { bottom: boolean; frameNum: number; idrPicId?: number } | undefined;
  private samples = 0;
  private change: string | undefined;

  /** The parameter sets of the first sample, once there is one. */
  get first(): FirstParameterSets | undefined {
    return this.firstSets;
  }

  /** Whether any SPS was seen. */
  get sawSps(): boolean {
    return this.spsById.size > 0;
  }

  /** The first change of the SPS after the first sample, as a warning. */
  get parameterChange(): string | undefined {
    return this.change;
  }

  /** Whether the last sample is the first field of a pair whose second field may still join it. */
  get awaitsSecondField(): boolean {
    return this.pendingField !== undefined;
  }

  read(au: Pick<AccessUnit, 'data' | 'keyframe'>): SampleDecision {
    return this.readNalUnits(iterateNalUnits(au.data), au.keyframe);
  }

  /**
   * {@link read} for an access unit already split into its NAL units (each without start code and
   * trailing zero bytes, none empty, as iterateNalUnits yields them), so a caller that found them
   * need not search its bytes again. The NAL units are not kept after the call.
   */
  readNalUnits(nals: Iterable<Buffer>, keyframe: boolean): SampleDecision {
    const slices: SliceHeader[] = [];
    let bytes = 0;
    let error: string | undefined;
    for (const nal of nals) {
      const type = nalUnitType(nal[0]!);
      try {
        if (type === NalType.SPS) this.addSps(nal);
        else if (type === NalType.PPS) this.addPps(nal);
        else if (hasSliceHeader(type)) slices.push(parseSliceHeader(nal, this.ppsById, this.spsById));
      } catch (err) {
        if (!(err instanceof H264SyntaxError)) throw err;
        error ??= `${err.message} (NAL unit type ${type})`;
      }
      if (keepsNal(type)) bytes += NAL_LENGTH_BYTES + nal.length;
    }
    const none: SampleDecision = { role: SampleRole.NONE, bytes: 0, poc: 0, startsPeriod: false, sync: false };
    // Nothing before the first complete IDR picture can be decoded (nor its parameter sets known).
    if (this.samples === 0 && (error !== undefined || slices.length === 0 || !keyframe)) return none;
    if (error !== undefined || slices.length === 0) return { ...none, dropped: error ?? 'no slice' };
    const head = slices[0]!;
    const sps = this.spsById.get(head.spsId)!;
    if (!this.firstSets) {
      const pps = this.ppsById.get(head.ppsId)!;
      this.firstSets = { sps, spsNal: this.spsRaw.get(sps.spsId)!, ppsNal: this.ppsRaw.get(pps.ppsId)! };
    }
    const order = this.poc.compute(head, sps);

    // The second field of a pair joins the first field's sample.
    const pair = this.pendingField;
    if (head.fieldPic && pair && pair.bottom !== head.bottomField && pair.frameNum === head.frameNum &&
      (!head.idr || (pair.idrPicId !== undefined && pair.idrPicId === head.idrPicId))) {
      this.pendingField = undefined;
      return { role: SampleRole.JOINS, bytes, poc: order.poc, startsPeriod: false, sync: false };
    }
    this.pendingField = head.fieldPic ? { bottom: head.bottomField, frameNum: head.frameNum, idrPicId: head.idr ? head.idrPicId : undefined } : undefined;
    this.samples++;
    return { role: SampleRole.STARTS, bytes, poc: order.poc, startsPeriod: order.startsPeriod, sync: keyframe };
  }

  private addSps(nal: Buffer): void {
    const sps = parseSps(nal);
    const old = this.spsRaw.get(sps.spsId);
    if (old && old.equals(nal)) return;
    if (this.firstSets && !this.change && !nal.equals(this.firstSets.spsNal)) {
      this.change = `the SPS changes after sample ${this.samples} (to ${sps.width}x${sps.height}); ` +
        'the MP4 header describes the first one and the samples carry the new one';
    }
    this.spsById.set(sps.spsId, sps);
    // A copy: the access unit's bytes belong to a read buffer that will be reused.
    this.spsRaw.set(sps.spsId, Buffer.from(nal));
  }

  private addPps(nal: Buffer): void {
    const pps = parsePps(nal);
    const old = this.ppsRaw.get(pps.ppsId);
    if (old && old.equals(nal)) return;
    this.ppsById.set(pps.ppsId, pps);
    this.ppsRaw.set(pps.ppsId, Buffer.from(nal));
  }
}

interface Dropped {
  index: number;
  reason: string;
}

/**
 * Decides, access unit by access unit, what the MP4 holds. Feed it every access unit of the
 * stream in order ({@link add}), then {@link finish}. The decisions are kept per access unit
 * (one byte each) so that a second pass over the same bytes copies exactly the same units.
 *
 * - Access units before the first IDR are skipped: nothing before it can be decoded.
 * - An access unit whose slice headers do not parse (the last one of a file cut by a crash, or a
 *   corrupt one) is dropped with a warning; so is one without any slice.
 * - The two fields of a field pair (PAFF) become one sample, as MP4 stores frames.
 * - Picture order counts give each sample's presentation slot: within each IDR (or MMCO 5)
 *   period, pictures are presented in POC order.
 */
export class SampleTableBuilder {
  private readonly reader = new SampleReader();
  private readonly kept = new Growable(new Uint8Array(256));
  private readonly sizes = new Growable(new Uint32Array(256));
  private readonly pocs = new Growable(new Int32Array(256));
  private readonly periodStarts = new Growable(new Uint8Array(256));
  private readonly sync = new Growable(new Uint32Array(64));
  private leadingSkipped = 0;
  private readonly dropped: Dropped[] = [];
  private droppedCount = 0;
  private mdatBytes = 0;
  private keptCount = 0;

  /** Whether access unit number `index` (0-based, in stream order) goes into the MP4. */
  keeps(index: number): boolean {
    return this.kept.get(index) !== SampleRole.NONE;
  }

  add(au: AccessUnit): void {
    this.record(this.reader.read(au));
  }

  /** {@link add} for an access unit already split into its NAL units (see {@link SampleReader.readNalUnits}). */
  addNalUnits(nals: Iterable<Buffer>, keyframe: boolean): void {
    this.record(this.reader.readNalUnits(nals, keyframe));
  }

  private record(d: SampleDecision): void {
    const index = this.kept.length;
    this.kept.push(d.role);
    if (d.role === SampleRole.NONE) {
      if (d.dropped === undefined) this.leadingSkipped++;
      else this.drop(index, d.dropped);
      return;
    }
    this.keptCount++;
    this.mdatBytes += d.bytes;
    if (d.role === SampleRole.JOINS) {
      const last = this.sizes.length - 1;
      this.sizes.set(last, this.sizes.get(last) + d.bytes);
      this.pocs.set(last, Math.min(this.pocs.get(last), d.poc));
      return;
    }
    this.sizes.push(d.bytes);
    this.pocs.push(d.poc);
    this.periodStarts.push(d.startsPeriod ? 1 : 0);
    if (d.sync) this.sync.push(this.sizes.length);
  }

  finish(): SampleTable {
    const n = this.sizes.length;
    const first = this.reader.first;
    if (!first || n === 0) {
      const why = this.reader.sawSps ? 'no complete IDR picture' : 'no SPS';
      throw new UnconvertibleStreamError(`not a usable H.264 stream: ${why} in ${this.kept.length} access units`);
    }
    const warnings: string[] = [];
    if (this.leadingSkipped > 0) warnings.push(`skipped ${this.leadingSkipped} access units before the first IDR picture`);
    for (const d of this.dropped) {
      warnings.push(d.index === this.kept.length - 1
        ? `dropped the incomplete last access unit (file cut short?): ${d.reason}`
        : `dropped access unit ${d.index}: ${d.reason}`);
    }
    if (this.droppedCount > this.dropped.length) warnings.push(`dropped ${this.droppedCount - this.dropped.length} more access units`);
    if (this.reader.parameterChange) warnings.push(this.reader.parameterChange);

    const { compositionFrames, delayFrames } = presentationOrder(this.pocs.view(), this.periodStarts.view());
    return {
      ...first, sizes: this.sizes.view(), syncSamples: this.sync.view(), compositionFrames, delayFrames,
      mdatBytes: this.mdatBytes, roles: this.kept.view(), accessUnits: this.kept.length, keptAccessUnits: this.keptCount, warnings,
    };
  }

  private drop(index: number, reason: string): void {
    this.droppedCount++;
    // Keep a few reasons; a badly damaged file should not fill memory with messages.
    if (this.dropped.length < 10) this.dropped.push({ index, reason });
  }
}

/**
 * Presentation slots from picture order counts: within each period, pictures are shown in POC
 * order. Returns offsets (presentation slot − decoding index + delay) in frames, where delay is
 * the largest amount any picture is shown before its decoding index would allow, so every
 * offset is ≥ 0; undefined offsets when presentation order is decoding order.
 */
export function presentationOrder(pocs: Int32Array, periodStarts: Uint8Array): { compositionFrames?: Uint32Array; delayFrames: number } {
  const n = pocs.length;
  const slot = new Uint32Array(n);
  let reordered = false;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && periodStarts[end] !== 1) end++;
    const order = Array.from({ length: end - start }, (_, k) => start + k).sort((a, b) => pocs[a]! - pocs[b]! || a - b);
    order.forEach((sample, k) => {
      slot[sample] = start + k;
      if (sample !== start + k) reordered = true;
    });
    start = end;
  }
  if (!reordered) return { delayFrames: 0 };
  let delay = 0;
  for (let i = 0; i < n; i++) delay = Math.max(delay, i - slot[i]!);
  const compositionFrames = new Uint32Array(n);
  for (let i = 0; i < n; i++) compositionFrames[i] = slot[i]! - i + delay;
  return { compositionFrames, delayFrames: delay };
}
