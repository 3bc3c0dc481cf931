// The built-in H.264 Annex B → MP4 converter: two streaming passes, moov before mdat, memory independent of file size.
import fs from 'node:fs/promises';
import type { Rotation, TimingRun } from '../../common/events.js';
import { AnnexBParser, type AccessUnit } from '../../common/h264/annexb.js';
import { iterateNalUnits, nalUnitType } from '../../common/h264/nal.js';
import { progressiveHead } from '../../common/mp4/movie.js';
import { keepsNal, SampleTableBuilder } from '../../common/mp4/samples.js';
import { planSampleTiming } from '../../common/mp4/timing.js';
import { videoTrack } from '../../common/mp4/video-track.js';

/** Bytes read from the input at a time, and written to the output at a time. */
const IO_BYTES = 1 << 18;

export interface BuiltinOptions {
  /** The frame rate, used when there is no `timing` (and as its average in messages). */
  fps: number;
  rotation: Rotation;
  /** The frames' real durations (an event's `timing`); each sample then lasts what its frame lasted. */
  timing?: readonly TimingRun[];
  signal?: AbortSignal;
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

/** The input changed between the passes, or the output could not be written as planned. */
export class BuiltinConvertError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuiltinConvertError';
  }
}

/**
 * Every access unit of a file, in order, a chunk's worth at a time. Read buffers are recycled
 * once the parser no longer holds them, so memory stays a few buffers however long the file is;
 * the access units of one batch must be used before asking for the next.
 */
async function* accessUnits(file: string, signal: AbortSignal | undefined): AsyncGenerator<AccessUnit[]> {
  const parser = new AnnexBParser();
  const spare: Buffer[] = [];
  const inUse: { buf: Buffer; end: number }[] = [];
  let offset = 0;
  const fh = await fs.open(file, 'r');
  try {
    for (;;) {
      signal?.throwIfAborted();
      while (inUse.length > 0 && inUse[0]!.end <= parser.heldFrom) spare.push(inUse.shift()!.buf);
      const buf = spare.pop() ?? Buffer.allocUnsafeSlow(IO_BYTES);
      const { bytesRead } = await fh.read(buf, 0, IO_BYTES, null);
      if (bytesRead === 0) break;
      offset += bytesRead;
      inUse.push({ buf, end: offset });
      yield parser.push(buf.subarray(0, bytesRead), 0, 0);
    }
  } finally {
    await fh.close();
  }
  yield parser.end();
}

/** Collects output bytes into large buffers, so the file is written in big sequential writes. */
class OutputBuffer {
  private buf: Buffer = Buffer.allocUnsafeSlow(IO_BYTES);
  private len = 0;
  private full: Buffer[] = [];
  private spare: Buffer[] = [];
  /** Bytes put so far. */
  count = 0;

  put(bytes: Uint8Array): void {
    this.count += bytes.length;
    let from = 0;
    while (from < bytes.length) {
      const n = Math.min(bytes.length - from, this.buf.length - this.len);
      this.buf.set(bytes.subarray(from, from + n), this.len);
      this.len += n;
      from += n;
      if (this.len === this.buf.length) {
        this.full.push(this.buf);
        this.buf = this.spare.pop() ?? Buffer.allocUnsafeSlow(IO_BYTES);
        this.len = 0;
      }
    }
  }

  private readonly word = Buffer.alloc(4);

  putU32(v: number): void {
    this.word.writeUInt32BE(v, 0);
    this.put(this.word);
  }

  /** Writes the full buffers; with `all`, the partial one too. */
  async drain(fh: fs.FileHandle, all = false): Promise<void> {
    for (const b of this.full) {
      await fh.write(b, 0, b.length, null);
      this.spare.push(b);
    }
    this.full = [];
    if (all && this.len > 0) {
      await fh.write(this.buf, 0, this.len, null);
      this.len = 0;
    }
  }
}

/**
 * Converts an H.264 Annex B file to MP4 at `output` (written directly; the caller renames it into
 * place). Pass 1 only parses and builds the sample table; pass 2 writes ftyp, moov, then copies
 * the samples into mdat, so the moov comes first (progressive playback) without holding any
 * sample in memory. With `timing`, each sample lasts what its frame lasted (see planSampleTiming).
 * Throws UnconvertibleStreamError for a stream with nothing to convert.
 */
export async function convertBuiltin(input: string, output: string, options: BuiltinOptions): Promise<BuiltinReport> {
  const builder = new SampleTableBuilder();
  for await (const aus of accessUnits(input, options.signal)) for (const au of aus) builder.add(au);
  const table = builder.finish();
  const planned = options.timing ? planSampleTiming(options.timing, table.roles, table.sizes.length) : undefined;
  const track = videoTrack(table, options.fps, options.rotation, planned?.timing);
  const { head } = progressiveHead(track, table.mdatBytes);

  const fh = await fs.open(output, 'w');
  try {
    const out = new OutputBuffer();
    for (const b of head) out.put(b);
    const headBytes = out.count;
    let index = 0;
    for await (const aus of accessUnits(input, options.signal)) {
      for (const au of aus) {
        if (!builder.keeps(index++)) continue;
        for (const nal of iterateNalUnits(au.data)) {
          if (!keepsNal(nalUnitType(nal[0]!))) continue;
          out.putU32(nal.length);
          out.put(nal);
        }
      }
      await out.drain(fh);
    }
    await out.drain(fh, true);
    const written = out.count - headBytes;
    if (index !== table.accessUnits || written !== table.mdatBytes) {
      throw new BuiltinConvertError(`the input changed while it was converted (${written} bytes of samples written, ${table.mdatBytes} planned)`);
    }
    // On disk before the rename makes it visible: a crash then leaves the old state, not a torn file.
    await fh.sync();
  } finally {
    await fh.close();
  }
  const report: BuiltinReport = {
    frames: table.sizes.length, timescale: track.timescale,
    reordered: track.compositionOffsets !== undefined, warnings: [...table.warnings, ...(planned?.warnings ?? [])],
  };
  if (!track.sampleDeltas) report.sampleDelta = track.sampleDelta;
  return report;
}
