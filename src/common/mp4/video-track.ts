// From a sample table and the conversion's timing to the one video track's description (durations, composition offsets, chunks).
import type { Rotation } from '../events.js';
import { avcDecoderConfiguration, type TrackFormat, type VideoTrack } from './movie.js';
import type { FirstParameterSets, SampleTable } from './samples.js';
import { frameRate, timebase, type SampleTiming } from './timing.js';

/**
 * Composition offsets for samples of varying durations: a picture is presented at the decoding
 * time of the slot it is shown in (slot = its rank in presentation order), shifted by the largest
 * amount any picture is shown before it is decoded, so every offset is ≥ 0; that shift is the
 * edit list's media time. With equal durations this is exactly slot − index + delay frames.
 */
export function variableCompositionOffsets(compositionFrames: Uint32Array, delayFrames: number, deltas: Uint32Array): { offsets: Uint32Array; editMediaTime: number } {
  const n = deltas.length;
  const dts = new Float64Array(n);
  for (let i = 1; i < n; i++) dts[i] = dts[i - 1]! + deltas[i - 1]!;
  const slotOf = (i: number): number => compositionFrames[i]! + i - delayFrames;
  let shift = 0;
  for (let i = 0; i < n; i++) shift = Math.max(shift, dts[i]! - dts[slotOf(i)]!);
  const offsets = new Uint32Array(n);
  for (let i = 0; i < n; i++) offsets[i] = dts[slotOf(i)]! + shift - dts[i]!;
  return { offsets, editMediaTime: shift };
}

/**
 * The track's format from the parameter sets of its first sample: picture size, sample aspect
 * ratio and avcC from the SPS and PPS, with the display rotation and the media timescale.
 */
export function trackFormat(first: FirstParameterSets, rotation: Rotation, timescale: number): TrackFormat {
  const sps = first.sps;
  const sar = sps.sarWidth && sps.sarHeight && sps.sarWidth !== sps.sarHeight ? { h: sps.sarWidth, v: sps.sarHeight } : undefined;
  return {
    width: sps.width, height: sps.height, sar, rotation, timescale,
    avcC: avcDecoderConfiguration(first.spsNal, first.ppsNal, sps.chromaFormatIdc, sps.bitDepthLuma, sps.bitDepthChroma),
  };
}

/**
 * The track description from the sample table and the conversion options: at `fps` (or the one
 * rate of a constant `timing`), or with each sample's own duration from a variable `timing`.
 */
export function videoTrack(table: SampleTable, fps: number, rotation: Rotation, timing?: SampleTiming): VideoTrack {
  const tables = { sizes: table.sizes, syncSamples: table.syncSamples };
  if (timing?.kind === 'variable') {
    const { timescale, deltas } = timing;
    let ticks = 0;
    for (const d of deltas) ticks += d;
    const composition = table.compositionFrames ? variableCompositionOffsets(table.compositionFrames, table.delayFrames, deltas) : undefined;
    return {
      ...trackFormat(table, rotation, timescale), ...tables, sampleDelta: 0, sampleDeltas: deltas,
      compositionOffsets: composition?.offsets, editMediaTime: composition?.editMediaTime ?? 0,
      samplesPerChunk: Math.max(1, Math.round((deltas.length * timescale) / Math.max(1, ticks))),
    };
  }
  const rate = timing?.kind === 'constant' ? timing.fps : fps;
  const { timescale, sampleDelta } = timebase(frameRate(rate));
  let compositionOffsets: Uint32Array | undefined;
  if (table.compositionFrames) compositionOffsets = table.compositionFrames.map((f) => f * sampleDelta);
  return {
    ...trackFormat(table, rotation, timescale), ...tables, sampleDelta, compositionOffsets,
    editMediaTime: table.delayFrames * sampleDelta,
    // About one second of samples per chunk: few chunk offsets, still fine-grained for readers.
    samplesPerChunk: Math.max(1, Math.round(rate)),
  };
}
