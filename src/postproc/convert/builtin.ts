// The built-in H.264 Annex B → MP4 converter: two streaming passes, moov before mdat, memory a few bytes per frame.
import fs from 'node:fs/promises';
import type { Rotation, TimingRun } from '../../common/events.js';
import { nalUnitType } from '../../common/h264/nal.js';
import { progressiveHead } from '../../common/mp4/movie.js';
import { keepsNal, NAL_LENGTH_BYTES, SampleTableBuilder } from '../../common/mp4/samples.js';
import { planSampleTiming } from '../../common/mp4/timing.js';
import { videoTrack } from '../../common/mp4/video-track.js';
import { AccessUnitScanner } from './annexb-scan.js';
import { BuiltinConvertError, changedInput, copySamples } from './copy-samples.js';
import { CHUNK_BYTES, scanFile } from './file-io.js';
import { NalRanges } from './nal-ranges.js';

export { BuiltinConvertError };

export interface BuiltinOptions {
  /** The frame rate, used when there is no `timing` (and as its average in messages). */
  fps: number;
  rotation: Rotation;
  /** The frames' real durations (an event's `timing`); each sample then lasts what its frame lasted. */
  timing?: readonly TimingRun[];
  signal?: AbortSignal;
  /** Bytes read and written at a time (default 1 MiB); the output is the same for any size. */
  ioBytes?: number;
}

/** What the built-in converter did. */
export interface BuiltinReport {
  /** Samples (frames) in the MP4. */
  frames: number;
  /** Media timescale, and ticks per frame when every frame lasts the same (absent when durations vary). */
  timescale: number;
  sampleDelta?: number;
  /** Whether B-frame reordering needed composition offsets (ctts) and an edit list. */
  reordered: boolean;
  warnings: string[];
}

/**
 * Converts an H.264 Annex B file to MP4 at `output` (written directly; the caller renames it into
 * place). Pass 1 reads the file once, searching it for start codes once (AccessUnitScanner), and
 * builds the sample table and the list of NAL units to copy (a few bytes per frame); pass 2 writes
 * ftyp, moov and then the samples into mdat, copied chunk by chunk from the input without searching
 * it again, so the moov comes first (progressive playback) and memory does not grow with the
 * samples' bytes. With `timing`, each sample lasts what its frame lasted (see planSampleTiming).
 * Throws UnconvertibleStreamError for a stream with nothing to convert.
 */
export async function convertBuiltin(input: string, output: string, options: BuiltinOptions): Promise<BuiltinReport> {
  const { signal } = options;
  const chunkBytes = options.ioBytes ?? CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`ioBytes: not a positive integer: ${chunkBytes}`);
  const builder = new SampleTableBuilder();
  const ranges = new NalRanges();
  let index = 0;
  const scanner = new AccessUnitScanner((au) => {
    builder.addNalUnits(au.nals, au.keyframe);
    if (!builder.keeps(index++)) return;
    for (let i = 0; i < au.nals.length; i++) {
      const nal = au.nals[i]!;
      if (keepsNal(nalUnitType(nal[0]!))) ranges.add(au.offsets[i]!, nal.length);
    }
  });

  // One handle for both passes: the second reads the very file the first one planned.
  const source = await fs.open(input, 'r');
  try {
    const before = await source.stat();
    const buffers = await scanFile(source, scanner, signal, chunkBytes);
    const table = builder.finish();
    if (ranges.totalLength + NAL_LENGTH_BYTES * ranges.count !== table.mdatBytes) {
      throw new BuiltinConvertError(`the sample table plans ${table.mdatBytes} bytes of samples but its NAL units hold ${ranges.totalLength + NAL_LENGTH_BYTES * ranges.count}`);
    }
    const planned = options.timing ? planSampleTiming(options.timing, table.roles, table.sizes.length) : undefined;
    const track = videoTrack(table, options.fps, options.rotation, planned?.timing);
    const { head } = progressiveHead(track, table.mdatBytes);
    const after = await source.stat();
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) throw changedInput('its size or modification time changed');
    const out = await fs.open(output, 'w');
    try {
      const written = await copySamples(source, out, head, ranges.cursor(), { buffers, chunkBytes, ...(signal ? { signal } : {}) });
      if (written !== table.mdatBytes) throw changedInput(`${written} bytes of samples written, ${table.mdatBytes} planned`);
    } finally {
      await out.close();
    }
    const report: BuiltinReport = {
      frames: table.sizes.length, timescale: track.timescale,
      reordered: track.compositionOffsets !== undefined, warnings: [...table.warnings, ...(planned?.warnings ?? [])],
    };
    if (!track.sampleDeltas) report.sampleDelta = track.sampleDelta;
    return report;
  } finally {
    await source.close();
  }
}
