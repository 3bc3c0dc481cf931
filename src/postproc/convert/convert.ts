// Converting a recording from .h264 to .mp4 with MP4Box, ffmpeg or the built-in muxer; the output appears only when complete.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { parseTiming, type Rotation, type TimingRun } from '../../common/events.js';
import { BuiltinConvertError, convertBuiltin } from './builtin.js';
import { ConvertError } from './error.js';
import { patchTrackRotation } from './patch-rotation.js';
import { UnconvertibleStreamError } from '../../common/mp4/samples.js';
import { averageFps, frameRate } from '../../common/mp4/timing.js';

/** The converters `--converter` names (besides auto). */
export type ConverterName = 'mp4box' | 'builtin' | 'ffmpeg';

/** The executable each external converter runs. */
export const EXECUTABLE = { mp4box: 'MP4Box', ffmpeg: 'ffmpeg' } as const;

export interface ConvertOptions {
  /** Frames per second of the recording (fractions allowed: 7.5, 29.97). */
  fps: number;
  /**
   * Display rotation to record in the MP4, clockwise, as the track matrix. The camera already did
   * 180 when pancake asked it to; pass 0 then, and 90/270 for display rotation.
   */
  rotation: Rotation;
  /**
   * The frames' real durations, as runs `[count, durationMs]` in file order (an event's `timing`).
   * The builtin converter gives each sample its own duration; MP4Box and ffmpeg get the average
   * frame rate (frames × 1000 / total ms) instead of `fps`.
   */
  timing?: readonly TimingRun[];
  /** Aborting stops the conversion (killing the tool) and removes the partial output. */
  signal?: AbortSignal;
  /** Environment (PATH) for MP4Box and ffmpeg; defaults to this process's. */
  env?: NodeJS.ProcessEnv;
  /**
   * Puts the finished MP4 (complete and on disk, under a temporary name in the output's directory)
   * at `output`; the only step of any converter that touches `output`. Default: rename over it.
   * postproc's placement decides there whether `output` may be replaced (mp4-sources.ts). When it throws,
   * the temporary file is removed and its error is thrown as it is.
   */
  place?: (tmp: string) => Promise<void>;
}

/** What a successful conversion reports. */
export interface ConvertResult {
  converter: ConverterName;
  /** Frames in the MP4 (known for the built-in converter). */
  frames?: number;
  /** Things worth logging: frames skipped before the first IDR, an incomplete last frame dropped. */
  warnings: string[];
}

/** The frame rate MP4Box and ffmpeg are given: the timing's average when there is one (and it is a rate), else `fps`. */
export function toolFps(options: Pick<ConvertOptions, 'fps' | 'timing'>): number {
  if (!options.timing) return options.fps;
  const average = averageFps(options.timing);
  return Number.isFinite(average) && average > 0 && average <= 1000 ? average : options.fps;
}

let temporaryCount = 0;

/** A hidden name in the output's directory, so the rename is atomic and nobody takes it for a finished file. */
function temporaryPath(output: string): string {
  const unique = `${process.pid}-${Date.now().toString(36)}-${(temporaryCount++).toString(36)}`;
  return path.join(path.dirname(output), `.${path.basename(output)}.${unique}.tmp.mp4`);
}

/** Errors of the file system (ENOENT, ENOSPC, EACCES …) carry an errno code. */
function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && 'syscall' in err;
}

async function syncFile(file: string): Promise<void> {
  const fh = await fsp.open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Converts `input` (.h264, Annex B) to `output` (.mp4). The MP4 is written under a temporary name
 * in the output's directory, flushed to disk and renamed into place (or handed to `place`); on any
 * failure or abort the temporary file is removed, so `output` either does not exist or is complete.
 * Failures throw ConvertError; an abort throws the signal's reason.
 */
export async function convertFile(converter: ConverterName, input: string, output: string, options: ConvertOptions): Promise<ConvertResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  try {
    frameRate(options.fps);
  } catch {
    throw new ConvertError(`invalid frame rate: ${options.fps}`, `fps must be a number in (0, 1000]: ${options.fps}`);
  }
  if (options.timing !== undefined) {
    const checked = parseTiming(options.timing, undefined);
    if ('error' in checked) throw new ConvertError(`invalid frame timing: ${checked.error}`, `timing: ${checked.error}`);
  }
  try {
    if (!(await fsp.stat(input)).isFile()) throw new ConvertError(`not a regular file: ${input}`, `input: ${input}`);
  } catch (err) {
    if (err instanceof ConvertError) throw err;
    throw new ConvertError(`cannot read ${input}: ${(err as Error).message}`, `input: ${(err as Error).message}`);
  }

  const tmp = temporaryPath(output);
  let toolDir: string | undefined;
  try {
    const result: ConvertResult = { converter, warnings: [] };
    if (converter === 'builtin') {
      const report = await convertBuiltin(input, tmp, options);
      result.frames = report.frames;
      result.warnings = report.warnings;
    } else {
      // Loaded only when needed: child_process adds memory the built-in converter has no use for.
      const { commandLine, ffmpegArgv, formatFps, mp4boxArgv, runTool } = await import('./tools.js');
      const fps = toolFps(options);
      if (options.timing && new Set(options.timing.map(([, d]) => d)).size > 1) {
        result.warnings.push(`${EXECUTABLE[converter]} gives every frame the same duration: the variable frame timing became its average, ` +
          `${formatFps(fps)} fps (the builtin converter keeps each frame's own duration)`);
      }
      let args: string[];
      if (converter === 'mp4box') {
        toolDir = await fsp.mkdtemp(path.join(path.dirname(output), '.mp4box-'));
        args = mp4boxArgv(input, tmp, fps, toolDir);
      } else {
        args = ffmpegArgv(input, tmp, fps);
      }
      await runTool(EXECUTABLE[converter], args, { signal, env: options.env });
      signal?.throwIfAborted();
      if (options.rotation !== 0 && !(await patchTrackRotation(tmp, options.rotation))) {
        throw new ConvertError(`${EXECUTABLE[converter]} wrote no video track`, `${commandLine(EXECUTABLE[converter], args)}\nno video track header in the output`);
      }
      await syncFile(tmp);
    }
    signal?.throwIfAborted();
    // Every converter ends here: the one place where `output` is written.
    await (options.place ?? ((finished: string) => fsp.rename(finished, output)))(tmp);
    return result;
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    if (signal?.aborted) throw signal.reason;
    if (err instanceof ConvertError) throw err;
    if (err instanceof UnconvertibleStreamError || err instanceof BuiltinConvertError || isSystemError(err)) {
      throw new ConvertError(`builtin converter: ${err.message}`, `builtin ${input} -> ${output}\n${err.message}`);
    }
    throw err;
  } finally {
    if (toolDir) await fsp.rm(toolDir, { recursive: true, force: true });
  }
}
