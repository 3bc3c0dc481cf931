// Access units in, fragmented MP4 out: the init segment, then one media fragment of whatever was added since the last.
import type { Rotation } from '../events.js';
import type { AccessUnit } from '../h264/annexb.js';
import { iterateNalUnits, nalUnitType } from '../h264/nal.js';
import type { SpsInfo } from '../h264/sps.js';
import { fragmentHead, initSegment, type FragmentSample } from './fragmented.js';
import { keepsNal, NAL_LENGTH_BYTES, presentationOrder, SampleReader } from './samples.js';
import { SampleRole } from './timing.js';
import { trackFormat, variableCompositionOffsets } from './video-track.js';

/** The usual 90 kHz video clock: 11 µs steps, exact for every whole frame rate that divides 90000. */
export const DEFAULT_FRAGMENT_TIMESCALE = 90000;

export interface FragmenterOptions {
  /** Display rotation, carried in the track header matrix. */
  rotation: Rotation;
  /** Ticks per second; `timebase(frameRate(fps)).timescale` makes a constant rate exact (7 fps → 7000). */
  timescale?: number;
}

/** What {@link Fragmenter.fragment} may leave out. */
export interface FragmentOptions {
  /** Keep the newest sample for the next fragment (a live cut before an anchor, see {@link Fragmenter.addedAnchor}). */
  holdNewest?: boolean;
}

/** One sample of a fragment being made: its parts (length fields and NAL units, not copied yet) and facts. */
export interface PendingSample {
  parts: Buffer[];
  size: number;
  ms: number;
  poc: number;
  startsPeriod: boolean;
  sync: boolean;
}

/**
 * Wraps H.264 access units into a fragmented MP4 with no decoding: the same samples as the
 * progressive converter makes (same units skipped or dropped, fields paired, AUD and filler
 * left out, parameter sets kept in-band), timed by the durations the caller gives.
 *
 * Feed units in stream order with {@link add}; {@link fragment} returns one moof + mdat of the
 * samples added since the last call, and {@link initSegment} exists from the first fragment on. Call it
 * before each keyframe for one fragment per GOP (a file, a clip across files), or after every
 * unit for the live view. Presentation order is worked out within a fragment, so a stream that
 * {@link reorders} (B-frames) must be cut where its presentation order is complete: at keyframes,
 * or live, right before each anchor ({@link addedAnchor}, `fragment({ holdNewest: true })`).
 *
 * Times never drift: each sample ends at the exact sum of the durations so far, rounded to a tick.
 */
export class Fragmenter {
  private readonly reader = new SampleReader();
  private readonly rotation: Rotation;
  private readonly timescale: number;
  private init: Buffer | undefined;
  /** Ticks the init segment's edit list skips: composition offsets are shifted by it. */
  private editShift = 0;
  private pending: PendingSample[] = [];
  /** Time of units that belong to a sample already sent (a dropped unit after it): the next sample gets it. */
  private carryMs = 0;
  private sentMs = 0;
  private sentTicks = 0;
  private sequence = 0;
  private samples = 0;
  private periodMaxPoc = -Infinity;
  private reordered = false;
  private anchor = false;

  constructor(options: FragmenterOptions) {
    this.rotation = options.rotation;
    this.timescale = options.timescale ?? DEFAULT_FRAGMENT_TIMESCALE;
  }

  /** The init segment (ftyp + moov), once the first fragment has been made (its reordering delay is in the edit list). */
  get initSegment(): Buffer | undefined {
    return this.init;
  }

  /** Whether pictures were seen out of decoding order (B-frames): then cut fragments at keyframes, or live before anchors. */
  get reorders(): boolean {
    return this.reordered;
  }

  /**
   * Whether the last {@link add} began a sample whose POC is above every earlier one of its POC
   * period (or that starts a period): each sample added before it is then shown before it. For a
   * stream whose pictures are shown before every picture decoded after them (IBBP, x264's
   * pyramid B-frames: I0 | P6 B2 B4 | P12 B8 B10, or I0 | P8 B4 b2 b6 | P16 …), the samples
   * before such an anchor are a run of pictures complete in presentation order, right after
   * those of the fragment before.
   */
  get addedAnchor(): boolean {
    return this.anchor;
  }

  /** Samples added that are in no fragment yet (a held anchor, a first field waiting for its second). */
  get samplesPending(): number {
    return this.pending.length;
  }

  /** The SPS in effect at the first sample, once there is one. */
  get sps(): SpsInfo | undefined {
    return this.reader.first?.sps;
  }

  /** Samples in the fragments returned so far, and their total duration in ticks. */
  get samplesSent(): number {
    return this.samples;
  }

  get ticksSent(): number {
    return this.sentTicks;
  }

  /** Adds one access unit that lasts `durationMs` (its frame's time; a second field's time adds to its frame). */
  add(au: Pick<AccessUnit, 'data' | 'keyframe'>, durationMs: number): void {
    const d = this.reader.read(au);
    const last = this.pending.at(-1);
    this.anchor = false;
    if (d.role === SampleRole.NONE) {
      // Skipped before the first sample: not shown, its time left out. Dropped later: the time stays covered.
      if (d.dropped === undefined) return;
      if (last) last.ms += durationMs;
      else this.carryMs += durationMs;
      return;
    }
    const bytes = Buffer.allocUnsafe(d.bytes);
    let at = 0;
    for (const nal of iterateNalUnits(au.data)) {
      if (!keepsNal(nalUnitType(nal[0]!))) continue;
      bytes.writeUInt32BE(nal.length, at);
      bytes.set(nal, at + NAL_LENGTH_BYTES);
      at += NAL_LENGTH_BYTES + nal.length;
    }
    if (d.role === SampleRole.JOINS && last) {
      last.parts.push(bytes);
      last.size += bytes.length;
      last.ms += durationMs;
      last.poc = Math.min(last.poc, d.poc);
      return;
    }
    if (d.startsPeriod) this.periodMaxPoc = -Infinity;
    if (d.poc < this.periodMaxPoc) this.reordered = true;
    this.anchor = d.poc > this.periodMaxPoc;
    this.periodMaxPoc = Math.max(this.periodMaxPoc, d.poc);
    this.pending.push({ parts: [bytes], size: bytes.length, ms: durationMs + this.carryMs, poc: d.poc, startsPeriod: d.startsPeriod, sync: d.sync });
    this.carryMs = 0;
  }

  /**
   * One media fragment (moof + mdat) of the samples added since the last call, or undefined when
   * there are none. A first field still waiting for its second stays for the next fragment, and
   * so does the newest sample with `holdNewest`.
   */
  fragment(options: FragmentOptions = {}): Buffer | undefined {
    const take = options.holdNewest || this.reader.awaitsSecondField ? this.pending.length - 1 : this.pending.length;
    if (take <= 0) return undefined;
    const samples = this.pending.splice(0, take);
    const deltas = new Uint32Array(samples.length);
    let ticks = this.sentTicks;
    samples.forEach((s, i) => {
      this.sentMs += s.ms;
      const end = Math.round((this.sentMs * this.timescale) / 1000);
      deltas[i] = end - ticks;
      ticks = end;
    });
    const offsets = compositionOffsets(samples, deltas);
    if (!this.init) {
      // The first fragment's reordering delay becomes the edit list's, so every later fragment of
      // the same GOP structure has offsets >= 0 (trun version 0) and presentation starts at 0.
      // A live fragment cut before an anchor starts with its anchor, shown last: its B-frames get
      // negative offsets (trun version 1, as CMAF writes them), and an IDR alone in the first
      // fragment keeps the shift 0, so the IDR is still presented at 0.
      this.editShift = offsets ? -Math.min(0, ...offsets) : 0;
      this.init = initSegment(trackFormat(this.reader.first!, this.rotation, this.timescale), this.editShift);
    }
    const described: FragmentSample[] = samples.map((s, i) => ({ size: s.size, duration: deltas[i]!, sync: s.sync, compositionOffset: (offsets?.[i] ?? 0) + this.editShift }));
    const head = fragmentHead(++this.sequence, this.sentTicks, described);
    this.sentTicks = ticks;
    this.samples += samples.length;
    return Buffer.concat([head, ...samples.flatMap((s) => s.parts)]);
  }
}

/**
 * Signed composition offsets of one fragment's samples: each picture is shown at the decoding
 * time of its slot in presentation order within the fragment, so the fragment presents exactly
 * the time it decodes (no edit list needed); undefined when nothing is reordered.
 */
function compositionOffsets(samples: PendingSample[], deltas: Uint32Array): Int32Array | undefined {
  const pocs = Int32Array.from(samples, (s) => s.poc);
  const starts = Uint8Array.from(samples, (s) => (s.startsPeriod ? 1 : 0));
  const { compositionFrames, delayFrames } = presentationOrder(pocs, starts);
  if (!compositionFrames) return undefined;
  const { offsets, editMediaTime } = variableCompositionOffsets(compositionFrames, delayFrames, deltas);
  return Int32Array.from(offsets, (o) => o - editMediaTime);
}
