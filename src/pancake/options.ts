// pancake's command line: the original's flags (names, defaults, help texts) plus the new ones, validated into a config.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { exitOverride, parseInteger, requireDirectory, UsageError } from '../common/cli.js';
import type { Rotation } from '../common/events.js';
import { VERSION } from '../common/paths.js';
import { VALID_SEGMENT_MINUTES } from './record/naming.js';

/** Where frames come from. Network cameras (rtsp://, http:// MJPEG, v4l2) will be further kinds. */
export type CameraChoice = { kind: 'auto' } | { kind: 'test' } | { kind: 'file'; path: string };

/** Everything pancake was asked to do, validated. */
export interface PancakeConfig {
  camera: CameraChoice;
  encoder: 'auto' | 'hardware' | 'software';
  width: number;
  height: number;
  fps: number;
  vflip: boolean;
  hflip: boolean;
  rotation: Rotation;
  annotateTextSize: number;
  /** The size of the one encoded stream: --record-resize, else --resolution. */
  streamWidth: number;
  streamHeight: number;
  recordContinuous?: string;
  segmentMinutes: number;
  emit?: string;
  stateDir: string;
  log?: string;
}

/** Original flags whose features arrive in later versions: accepted by name so the help is complete, refused when used. */
const NOT_YET = ['--port', '--max-stream-fps', '--record-detection', '--detect', '--detect-resize', '--detect-interval', '--login'];

export function buildCommand(): Command {
  return exitOverride(new Command('pancake'))
    .description('Raspberry Pi CCTV: one camera stream, recorded continuously into H.264 files, with events to postproc.')
    .version(VERSION)
    .option('--camera <source>', 'auto (rpicam-vid, else libcamera-vid), test (built-in test card), or file:PATH (an H.264 file looped at --fps)', 'auto')
    .addOption(new Option('--encoder <kind>', 'H.264 encoder: hardware (Pi Zero 2 W to Pi 4), software (libav/libx264, the Pi 5 has no encoder block); auto picks by board').choices(['auto', 'hardware', 'software']).default('auto'))
    .option('--port <8000>', 'webserver port hosting the camera live view (not in this version yet)')
    .option('--resolution <320 240...>', 'resolution of camera live view', ['320', '240'])
    .option('--fps <12>', 'camera framerate', '12')
    .option('--vflip', 'flip the picture vertically', false)
    .option('--hflip', 'flip the picture horizontally', false)
    .addOption(new Option('--rotation <degrees>', '180 is done by the camera; 90 and 270 are display rotation carried in events').choices(['0', '90', '180', '270']).default('0'))
    .option('--annotate-text-size <24>', 'height in pixels of the date and time burned into the picture', '24')
    .option('--max-stream-fps <10>', 'max streaming framerate (not in this version yet)')
    .option('--record-continuous <h264_dir>', 'record video into h264_dir, 15 minutes apiece (see --segment-minutes)')
    .option('--segment-minutes <15>', `length of continuous recordings; splits at marks of the hour (${VALID_SEGMENT_MINUTES.join(', ')})`, '15')
    .option('--record-detection <{edge,all} h264_dir...>', 'on detection, record video into h264_dir (not in this version yet)')
    .option('--record-resize <w h...>', 'size of the recorded stream (the camera encodes one stream; the live view and detection scale from it)')
    .option('--detect <{no-image,image}>', 'detect() or detect(frame)? (not in this version yet)')
    .option('--detect-resize <w h...>', 'resize image for detection (not in this version yet)')
    .option('--detect-interval <seconds>', 'time between detect() calls (not in this version yet)')
    .option('--emit <socket_address>', 'unix domain socket (abstract namespace) to post-processor')
    .option('--login <password_hash_file>', 'password-protect streaming webpage (not in this version yet)')
    .option('--state-dir <dir>', 'event outbox and open-recording journal (default: <h264_dir>/.pancake, else ~/.local/state/pancake)')
    .option('--log <path>', 'log to daily files path.YYYY-MM-DD kept 33 days, instead of stdout')
    .addHelpText('after', `
Examples:
  pancake --camera test --record-continuous h264
  pancake --vflip --hflip --resolution 1280 720 --fps 30 --record-continuous h264 --emit ppp

Exit codes: 0 stopped by SIGINT/SIGTERM, 2 no camera tool found, 3 bad command line.`);
}

function pair(value: unknown, flag: string, names: [string, string], min: number, max: number): [number, number] {
  const v = value as string[];
  if (!Array.isArray(v) || v.length !== 2) throw new UsageError(`${flag}: expected two numbers ${names[0]} ${names[1]}, got: ${[v].flat().join(' ')}`);
  return [parseInteger(v[0]!, `${flag} ${names[0]}`, { min, max }), parseInteger(v[1]!, `${flag} ${names[1]}`, { min, max })];
}

/** Parses and validates argv (without node and script); throws UsageError (exit 3) naming the flag. */
export function parsePancakeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): PancakeConfig {
  const command = buildCommand();
  command.parse(argv, { from: 'user' });
  const o = command.opts<Record<string, unknown>>();

  // The original's cross-flag checks, with its messages and exit code 3.
  if (o.recordResize && !(o.recordContinuous || o.recordDetection)) {
    throw new UsageError('--record-resize is set. Please also set --record-continuous or --record-detection.');
  }
  if (o.recordDetection && !o.detect) throw new UsageError('--record-detection is set. Please also set --detect to generate detections.');
  if (o.detectResize && !o.detect) throw new UsageError('--detect-resize is set. Please also set --detect.');
  if (o.detectInterval && !o.detect) throw new UsageError('--detect-interval is set. Please also set --detect.');
  for (const flag of NOT_YET) {
    const key = flag.slice(2).replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    if (o[key] !== undefined) throw new UsageError(`${flag}: not available in this version yet`);
  }

  const cameraArg = String(o.camera);
  let camera: CameraChoice;
  if (cameraArg === 'auto' || cameraArg === 'test') camera = { kind: cameraArg };
  else if (cameraArg.startsWith('file:')) {
    const file = cameraArg.slice(5);
    if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) throw new UsageError(`--camera: no such file: ${file}`);
    camera = { kind: 'file', path: path.resolve(file) };
  } else throw new UsageError(`--camera: unknown source: ${cameraArg} (auto, test or file:PATH)`);

  const [width, height] = pair(o.resolution, '--resolution', ['width', 'height'], 16, 4096);
  const fps = parseInteger(String(o.fps), '--fps', { min: 1, max: 120 });
  const annotateTextSize = parseInteger(String(o.annotateTextSize), '--annotate-text-size', { min: 6, max: 160 });
  const [streamWidth, streamHeight] = o.recordResize ? pair(o.recordResize, '--record-resize', ['w', 'h'], 16, 4096) : [width, height];
  const segmentMinutes = parseInteger(String(o.segmentMinutes), '--segment-minutes', { min: 1, max: 60 });
  if (!VALID_SEGMENT_MINUTES.includes(segmentMinutes)) {
    throw new UsageError(`--segment-minutes: must divide 60 (${VALID_SEGMENT_MINUTES.join(', ')}): ${segmentMinutes}`);
  }
  const recordContinuous = o.recordContinuous === undefined ? undefined : requireDirectory(String(o.recordContinuous), '--record-continuous');

  let emit: string | undefined;
  if (o.emit !== undefined) {
    emit = String(o.emit);
    if (emit === '' || emit.includes('\0') || Buffer.byteLength(emit) > 106) throw new UsageError(`--emit: not a usable socket name: ${JSON.stringify(emit)}`);
  }

  const stateHome = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  const stateDir = path.resolve(
    o.stateDir !== undefined ? String(o.stateDir) : recordContinuous ? path.join(recordContinuous, '.pancake') : path.join(stateHome, 'pancake'),
  );

  return {
    camera,
    encoder: o.encoder as PancakeConfig['encoder'],
    width, height, fps,
    vflip: Boolean(o.vflip), hflip: Boolean(o.hflip),
    rotation: Number(o.rotation) as Rotation,
    annotateTextSize, streamWidth, streamHeight,
    recordContinuous, segmentMinutes, emit, stateDir,
    log: o.log === undefined ? undefined : String(o.log),
  };
}
