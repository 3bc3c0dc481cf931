// A clip of a time range across recordings: from the keyframe at or before its start, as fragmented MP4 made while it is sent (no decoding).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { Rotation } from '../../common/events.js';
import { iterateNalUnits, nalUnitType } from '../../common/h264/nal.js';
import { fragmentHead, initSegment, type FragmentSample } from '../../common/mp4/fragmented.js';
import type { PendingSample } from '../../common/mp4/fragmenter.js';
import { keepsNal, NAL_LENGTH_BYTES, presentationOrder } from '../../common/mp4/samples.js';
import { SampleRole } from '../../common/mp4/timing.js';
import { trackFormat, variableCompositionOffsets } from '../../common/mp4/video-track.js';
import type { FrameTable } from './frame-table.js';
import { clipTimescale, unitDurations, type RecordingTiming } from './movie.js';

/** Frame times are sums of fractions of a millisecond (1000/12): compared with this much slack. */
const SLACK_MS = 0.001;

/** One recording as a clip sees it: its frame table (the written units of a live file), first frame's time and timing. */
export interface ClipSource {
  path: string;
  table: FrameTable;
  units: number;
  start: number;
  timing: RecordingTiming;
}

/** The access units [from, to) of one recording that go into a clip, and their durations. */
export interface ClipPart {
  path: string;
  table: FrameTable;
  from: number;
  to: number;
  durations: Float64Array;
}

/** What a clip holds, known before its first byte is sent. */
export interface ClipPlan {
  parts: ClipPart[];
  /** Samples (frames) in the clip. */
  frames: number;
  /** Wall-clock ms of its first frame (the keyframe at or before the asked start) and of the end of its last. */
  start: number;
  end: number;
  timescale: number;
  rotation: Rotation;
}

/**
 * Plans the clip of [fromMs, toMs) over `sources` (one kind, oldest first, not overlapping): the
 * first one from its last keyframe at or before `rangeFrom` (its first keyframe when the range
 * starts before it), each later one from its first keyframe, every one up to the last frame that
 * starts before `rangeTo`. Undefined when no frame lies in the range.
 */
export function planClip(sources: readonly ClipSource[], rangeFrom: number, rangeTo: number): ClipPlan | undefined {
  const parts: ClipPart[] = [];
  let frames = 0;
  let start = NaN;
  let end = NaN;
  for (const src of sources) {
    const { table, units } = src;
    const durations = unitDurations(src.timing, units);
    // Times within the file, from 0: sums of small numbers keep their fractions of a millisecond.
    const wall = new Float64Array(units + 1);
    for (let i = 0; i < units; i++) wall[i + 1] = wall[i]! + durations[i]!;
    const fromMs = rangeFrom - src.start;
    const toMs = rangeTo - src.start;
    // All of it before the range (the range starts in a gap after it).
    if (wall[units]! <= fromMs + SLACK_MS) continue;
    // The first part: its last keyframe at or before the start, else its first one; a later part: its first keyframe.
    let from = -1;
    for (let i = 0; i < units && wall[i]! < toMs - SLACK_MS; i++) {
      if (!table.isSyncSample(i)) continue;
      if (from < 0 || wall[i]! <= fromMs + SLACK_MS) from = i;
      if (parts.length > 0 || wall[i]! > fromMs + SLACK_MS) break;
    }
    if (from < 0) continue;
    let to = from;
    while (to < units && wall[to]! < toMs - SLACK_MS) to++;
    if (to <= from) continue;
    if (parts.length === 0) start = src.start + Math.round(wall[from]! * 1000) / 1000;
    end = src.start + Math.round(wall[to]! * 1000) / 1000;
    for (let i = from; i < to; i++) if (table.role(i) === SampleRole.STARTS) frames++;
    parts.push({ path: src.path, table, from, to, durations });
  }
  if (parts.length === 0 || frames === 0) return undefined;
  const first = sources.find((s) => s.path === parts[0]!.path)!;
  const sameRate = sources.every((s) => !s.timing.runs || s.timing.runs.length <= 1) && sources.every((s) => s.timing.fps === first.timing.fps);
  return { parts, frames, start, end, timescale: sameRate ? clipTimescale(first.timing.fps) : 90000, rotation: first.timing.rotation };
}


/**
 * The clip's bytes: the init segment, then one media fragment per GOP, each made from the frame
 * table (sizes, order, sync flags: nothing is parsed again) and the GOP's bytes read in one go, so
 * the first bytes leave after one GOP and memory holds about one GOP. The same samples and times
 * as {@link Fragmenter} makes of the same units; each sample ends at the exact sum of the
 * durations so far, rounded to a tick, so times never drift.
 *
 * Each yielded buffer is valid only until the next one is asked for (its memory is used again):
 * write it out before continuing.
 */
export async function* clipBytes(plan: ClipPlan): AsyncGenerator<Buffer> {
  const { timescale } = plan;
  let init: Buffer | undefined;
  let editShift = 0;
  let sequence = 0;
  let sentMs = 0;
  let sentTicks = 0;
  let carryMs = 0;
  let first = true;
  let readBuffer = Buffer.allocUnsafe(0);
  let outBuffer = Buffer.allocUnsafe(0);
  for (const part of plan.parts) {
    const { table } = part;
    const fh = await fsp.open(part.path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      for (let gop = part.from; gop < part.to;) {
        let end = gop + 1;
        while (end < part.to && !table.isSyncSample(end)) end++;
        const base = table.offset(gop);
        const length = table.offset(end) - base;
        // One read buffer for every GOP: its bytes are copied into the fragment before the next read.
        if (readBuffer.length < length) readBuffer = Buffer.allocUnsafe(Math.max(length, readBuffer.length * 2));
        const raw = readBuffer.subarray(0, length);
        const { bytesRead } = await fh.read(raw, 0, length, base);
        if (bytesRead !== length) throw new Error(`${part.path} is shorter than its frame table`);
        const samples: PendingSample[] = [];
        for (let u = gop; u < end; u++) {
          const role = table.role(u);
          const ms = part.durations[u]!;
          if (role === SampleRole.NONE) {
            // A dropped unit's time stays covered by the sample before it.
            if (samples.length > 0) samples.at(-1)!.ms += ms;
            else carryMs += ms;
            continue;
          }
          const parts: Buffer[] = [];
          // A keyframe without its parameter sets (a file whose encoder sent them once): the file's first ones go before it.
          if (first && !table.hasSps(u) && table.first) parts.push(lengthOf(table.first.spsNal), table.first.spsNal, lengthOf(table.first.ppsNal), table.first.ppsNal);
          first = false;
          let size = parts.reduce((n, b) => n + b.length, 0);
          for (const nal of iterateNalUnits(raw.subarray(table.offset(u) - base, table.offset(u + 1) - base))) {
            if (!keepsNal(nalUnitType(nal[0]!))) continue;
            parts.push(lengthOf(nal), nal);
            size += NAL_LENGTH_BYTES + nal.length;
          }
          const last = samples.at(-1);
          if (role === SampleRole.JOINS && last) {
            last.parts.push(...parts);
            last.size += size;
            last.ms += ms;
            last.poc = Math.min(last.poc, table.poc(u));
            continue;
          }
          samples.push({ parts, size, ms: ms + carryMs, poc: table.poc(u), startsPeriod: table.startsPeriod(u), sync: table.isSyncSample(u) });
          carryMs = 0;
        }
        gop = end;
        if (samples.length === 0) continue;
        const deltas = new Uint32Array(samples.length);
        let ticks = sentTicks;
        samples.forEach((sample, i) => {
          sentMs += sample.ms;
          const at = Math.round((sentMs * timescale) / 1000);
          deltas[i] = at - ticks;
          ticks = at;
        });
        const offsets = compositionOffsets(samples, deltas);
        if (!init) {
          // The first fragment's reordering delay goes into the edit list, so presentation starts at 0.
          editShift = offsets ? -Math.min(0, ...offsets) : 0;
          init = initSegment(trackFormat(table.first!, plan.rotation, timescale), editShift);
          yield init;
        }
        const described: FragmentSample[] = samples.map((sample, i) => ({ size: sample.size, duration: deltas[i]!, sync: sample.sync, compositionOffset: (offsets?.[i] ?? 0) + editShift }));
        const head = fragmentHead(++sequence, sentTicks, described);
        sentTicks = ticks;
        // One copy per GOP into a buffer used again for the next: one chunk on the wire, memory of about one GOP.
        let size = head.length;
        for (const sample of samples) size += sample.size;
        if (outBuffer.length < size) outBuffer = Buffer.allocUnsafe(Math.max(size, outBuffer.length * 2));
        let at = head.copy(outBuffer, 0);
        for (const sample of samples) for (const b of sample.parts) at += b.copy(outBuffer, at);
        yield outBuffer.subarray(0, at);
      }
    } finally {
      await fh.close();
    }
  }
}

function lengthOf(nal: Buffer): Buffer {
  const b = Buffer.allocUnsafe(NAL_LENGTH_BYTES);
  b.writeUInt32BE(nal.length, 0);
  return b;
}

/** Signed composition offsets within one fragment (as the Fragmenter makes them); undefined when nothing is reordered. */
function compositionOffsets(samples: PendingSample[], deltas: Uint32Array): Int32Array | undefined {
  const { compositionFrames, delayFrames } = presentationOrder(Int32Array.from(samples, (s) => s.poc), Uint8Array.from(samples, (s) => (s.startsPeriod ? 1 : 0)));
  if (!compositionFrames) return undefined;
  const { offsets, editMediaTime } = variableCompositionOffsets(compositionFrames, delayFrames, deltas);
  return Int32Array.from(offsets, (o) => o - editMediaTime);
}
