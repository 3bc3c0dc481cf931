#!/usr/bin/env node
// One conversion from the command line, for benchmarks and by hand: `cli.js in.h264 out.mp4 --fps 30 [--rotation 90] [--timing JSON] [--converter builtin]`.
//
// Deliberately free of commander and the rest of postproc: the benchmark measures the converter's
// own memory, and a lean process shows it.
import { parseTiming, type Rotation, type TimingRun } from '../../common/events.js';
import { convertFile, type ConverterName } from './convert.js';
import { ConvertError } from './error.js';

const USAGE = 'usage: pancake-convert <input.h264> <output.mp4> --fps <fps> [--rotation 0|90|180|270] [--timing \'[[count,ms],…]\'] [--converter builtin|mp4box|ffmpeg]';

class ArgumentError extends Error {}

function parseArgs(argv: string[]): { input: string; output: string; fps: number; rotation: Rotation; timing?: TimingRun[]; converter: ConverterName } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new ArgumentError(`${a}: missing value`);
    flags.set(a, value);
  }
  for (const f of flags.keys()) if (!['--fps', '--rotation', '--timing', '--converter'].includes(f)) throw new ArgumentError(`unknown option ${f}`);
  if (positional.length !== 2) throw new ArgumentError('expected an input and an output file');
  const fps = Number(flags.get('--fps'));
  if (!flags.has('--fps') || !Number.isFinite(fps) || fps <= 0 || fps > 1000) throw new ArgumentError(`--fps: not a frame rate in (0, 1000]: ${flags.get('--fps')}`);
  const rotation = Number(flags.get('--rotation') ?? 0);
  if (![0, 90, 180, 270].includes(rotation)) throw new ArgumentError(`--rotation: must be 0, 90, 180 or 270: ${flags.get('--rotation')}`);
  const converter = flags.get('--converter') ?? 'builtin';
  if (!['builtin', 'mp4box', 'ffmpeg'].includes(converter)) throw new ArgumentError(`--converter: must be builtin, mp4box or ffmpeg: ${converter}`);
  let timing: TimingRun[] | undefined;
  if (flags.has('--timing')) {
    let value: unknown;
    try {
      value = JSON.parse(flags.get('--timing')!);
    } catch {
      throw new ArgumentError(`--timing: not JSON: ${flags.get('--timing')}`);
    }
    const checked = parseTiming(value, undefined);
    if ('error' in checked) throw new ArgumentError(`--timing: ${checked.error}`);
    timing = checked;
  }
  return { input: positional[0]!, output: positional[1]!, fps, rotation: rotation as Rotation, ...(timing ? { timing } : {}), converter: converter as ConverterName };
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof ArgumentError)) throw err;
    process.stderr.write(`pancake-convert: ${err.message}\n${USAGE}\n`);
    return 3;
  }
  const controller = new AbortController();
  const stop = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const result = await convertFile(args.converter, args.input, args.output, { fps: args.fps, rotation: args.rotation, ...(args.timing ? { timing: args.timing } : {}), signal: controller.signal });
    for (const w of result.warnings) process.stdout.write(`warning: ${w}\n`);
    process.stdout.write(`${args.output}: ${result.frames ?? '?'} frames (${args.converter})\n`);
    return 0;
  } catch (err) {
    if (err instanceof ConvertError) {
      process.stderr.write(`pancake-convert: ${err.message}\n${err.output}\n`);
      return 1;
    }
    if (controller.signal.aborted) {
      process.stderr.write('pancake-convert: interrupted\n');
      return 130;
    }
    throw err;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

process.exitCode = await main();
