// One .h264 recording as a progressive MP4 (moov first), made as it is served: any byte range of it from the frame table and the frames' own bytes.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { Rotation, TimingRun } from '../../common/events.js';
import { progressiveHead } from '../../common/mp4/movie.js';
import { frameRate, planSampleTiming, SampleRole, snapRate, timebase, type SampleTiming } from '../../common/mp4/timing.js';
import { videoTrack } from '../../common/mp4/video-track.js';
import type { FrameTable } from './frame-table.js';
import { iterateNalUnits, nalUnitType } from '../../common/h264/nal.js';
import { keepsNal, NAL_LENGTH_BYTES } from '../../common/mp4/samples.js';

/** Raw bytes read from the .h264 at a time. */
const READ_BYTES = 1 << 20;

/** How a recording's frames are timed: the real durations its recorder measured, or one rate. */
export interface RecordingTiming {
  fps: number;
  runs?: readonly TimingRun[];
  rotation: Rotation;
}

/** The bytes of the MP4 of the first `units` access units of a recording, ready to be read in any range. */
export interface RecordingMovie {
  /** ftyp, moov and the mdat header. */
  head: Buffer;
  /** Total size of the MP4. */
  size: number;
  /** Samples (frames) in it, and its duration in seconds. */
  frames: number;
  durationSeconds: number;
  units: number;
  /** MP4 offset of each sample's first byte (length frames + 1). */
  sampleStarts: Float64Array;
  /** The first access unit of each sample. */
  sampleUnits: Uint32Array;
  table: FrameTable;
}

/** The sample timing the converter would use for these units: the measured runs, else the rate. */
export function sampleTiming(timing: RecordingTiming, roles: Uint8Array, samples: number): SampleTiming {
  if (timing.runs && timing.runs.length > 0) return planSampleTiming(timing.runs, roles, samples).timing;
  return { kind: 'constant', fps: timing.fps };
}

/**
 * Plans the MP4 of the first `units` units (all of a finished file; the written whole frames of a
 * live one): the moov from the table, timed as postproc's converter times the same file, and
 * where each sample lies. Undefined when the units hold no decodable picture yet.
 */
export function planMovie(table: FrameTable, units: number, timing: RecordingTiming): RecordingMovie | undefined {
  const mapped = table.samples(units);
  if (!mapped) return undefined;
  const t = mapped.table;
  const n = t.sizes.length;
  const track = videoTrack(t, timing.fps, timing.rotation, sampleTiming(timing, t.roles, n));
  const { head, firstSampleOffset } = progressiveHead(track, t.mdatBytes);
  const sampleStarts = new Float64Array(n + 1);
  const sampleUnits = new Uint32Array(n);
  let at = firstSampleOffset;
  let s = -1;
  for (let i = 0; i < units; i++) {
    const role = table.role(i);
    if (role === SampleRole.STARTS) {
      s++;
      sampleUnits[s] = i;
      sampleStarts[s] = at;
      at += t.sizes[s]!;
    }
  }
  sampleStarts[n] = at;
  let ticks = 0;
  if (track.sampleDeltas) for (const d of track.sampleDeltas) ticks += d;
  else ticks = track.sampleDelta * n;
  return { head: Buffer.concat(head), size: at, frames: n, durationSeconds: ticks / track.timescale, units, sampleStarts, sampleUnits, table };
}

/** The recording's file changed under the served MP4 (a unit's bytes are not what the table says). */
export class RecordingChangedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordingChangedError';
  }
}

/**
 * Bytes [from, to) of the MP4 (to exclusive), read from `file` as they are needed: the head,
 * then each sample's NAL units behind their lengths, read about a megabyte of the file at a time.
 * Each yielded buffer is valid only until the next one is asked for (its memory is used again).
 */
export async function* movieBytes(movie: RecordingMovie, file: string, from: number, to: number): AsyncGenerator<Buffer> {
  let pos = from;
  if (pos < movie.head.length) {
    const end = Math.min(to, movie.head.length);
    yield movie.head.subarray(pos, end);
    pos = end;
  }
  if (pos >= to) return;
  // The sample holding `pos`.
  let lo = 0;
  let hi = movie.frames - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (movie.sampleStarts[mid]! <= pos) lo = mid;
    else hi = mid - 1;
  }
  const { table } = movie;
  const fh = await fsp.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    let unit = movie.sampleUnits[lo]!;
    let at = movie.sampleStarts[lo]!;
    let raw = Buffer.allocUnsafe(0);
    let out = Buffer.allocUnsafe(0);
    while (at < to && unit < movie.units) {
      // A run of whole units, about READ_BYTES long (at least one), read and converted into buffers used again for the next run.
      let last = unit + 1;
      while (last < movie.units && table.offset(last + 1) - table.offset(unit) <= READ_BYTES) last++;
      const start = table.offset(unit);
      const length = table.offset(last) - start;
      if (raw.length < length) raw = Buffer.allocUnsafe(Math.max(length, raw.length * 2));
      const { bytesRead } = await fh.read(raw, 0, length, start);
      if (bytesRead !== length) throw new RecordingChangedError(`${file} is shorter than its frame table`);
      // Samples are at most as long as their Annex B units plus one byte per 3-byte start code.
      if (out.length < length * 2) out = Buffer.allocUnsafe(length * 2);
      let outStart = -1;
      let outEnd = 0;
      let written = 0;
      for (let u = unit; u < last && at < to; u++) {
        if (table.role(u) === SampleRole.NONE) continue;
        const rawStart = table.offset(u) - start;
        const size = writeSample(raw.subarray(rawStart, rawStart + table.rawLength(u)), out, written);
        const end = at + size;
        if (end > pos) {
          if (outStart < 0) outStart = written + Math.max(0, pos - at);
          outEnd = written + Math.min(size, to - at);
        }
        written += size;
        at = end;
      }
      if (outStart >= 0) yield out.subarray(outStart, outEnd);
      unit = last;
    }
    if (at < to) throw new RecordingChangedError(`${file} changed while it was served`);
  } finally {
    await fh.close();
  }
}

/** Each access unit's duration in ms from the runs (or the rate), common rates made exact (83.333 → 1000/12). */
export function unitDurations(timing: RecordingTiming, units: number): Float64Array {
  const out = new Float64Array(units);
  const exact = (ms: number): number => {
    const rate = snapRate(ms);
    return rate ? (1000 * rate.den) / rate.num : ms;
  };
  const runs = timing.runs && timing.runs.length > 0 ? timing.runs : [[units, 1000 / timing.fps] as const];
  let i = 0;
  for (const [count, ms] of runs) {
    const d = exact(ms);
    for (let k = 0; k < count && i < units; k++) out[i++] = d;
  }
  // A file cut short of its runs, or longer than them (a crash): the last duration goes on.
  const last = exact(runs.at(-1)![1]);
  for (; i < units; i++) out[i] = last;
  return out;
}

/** The timescale that makes frames at `fps` a whole number of ticks (90000 for 30, 7000 for 7 fps). */
export function clipTimescale(fps: number): number {
  return timebase(frameRate(fps)).timescale;
}

/** Writes an access unit's kept NAL units behind their lengths into `out` at `at`; returns the bytes written. */
function writeSample(au: Buffer, out: Buffer, at: number): number {
  let n = at;
  for (const nal of iterateNalUnits(au)) {
    if (!keepsNal(nalUnitType(nal[0]!))) continue;
    out.writeUInt32BE(nal.length, n);
    n += NAL_LENGTH_BYTES + nal.copy(out, n + NAL_LENGTH_BYTES);
  }
  return n - at;
}
