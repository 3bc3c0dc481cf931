// pancake's command line: the original's flags (names, defaults, help texts) plus the new ones, validated into a config.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { exitOverride, parseInteger, parseNumber, requireDirectory, UsageError } from '../common/cli.js';
import type { Rotation } from '../common/events.js';
import { cameraNameError } from '../common/camera-name.js';
import { resolveSecret } from '../common/secret.js';
import { maskUrl } from './camera/camera-url.js';
import { parseHttpCameraUrl, type HttpCameraUrl } from './camera/mjpeg/url.js';
import { parseCameraUrl, type CameraUrl, type RtspTransport } from './camera/rtsp.js';
import { PROJECT_ROOT, VERSION } from '../common/paths.js';
import { VALID_SEGMENT_MINUTES } from './record/naming.js';

/** Where frames come from. */
export type CameraChoice =
  | { kind: 'auto' }
  | { kind: 'test' }
  | { kind: 'file'; path: string }
  /** A network camera; `url.url` holds the password (never log it), `url.masked` hides it. */
  | { kind: 'rtsp'; url: CameraUrl; transport: RtspTransport }
  /** An MJPEG camera over HTTP(S): a multipart stream, or (`poll`) a snapshot URL fetched at --fps. `url.password` is never logged. */
  | { kind: 'mjpeg'; url: HttpCameraUrl; poll: boolean };

/** --fps for an MJPEG camera when none is given and its rate cannot be measured, and for --camera-poll (see the README's "Network cameras (MJPEG over HTTP)"). */
export const MJPEG_DEFAULT_FPS = 10;

/** --detect: what detect() is given, how often, and from which file. */
export interface DetectConfig {
  mode: 'no-image' | 'image';
  /** The size of detect(frame)'s pictures: --detect-resize, else --resolution. */
  width: number;
  height: number;
  /** --detect-interval when given; the default, 1/fps, depends on the camera's actual fps. */
  intervalSeconds?: number;
  /** The hook file: --customize, else customize.ts in the project root (absolute). */
  customize: string;
}

/** Everything pancake was asked to do, validated. */
export interface PancakeConfig {
  camera: CameraChoice;
  /** --camera-timeout: a camera that sends no frame for this long is restarted (ms). */
  cameraTimeoutMs: number;
  /** --name: the camera's name in events, the page title and the log. */
  name?: string;
  encoder: 'auto' | 'hardware' | 'software';
  width: number;
  height: number;
  fps: number;
  /**
   * An MJPEG stream without --fps: `fps` is only the fallback ({@link MJPEG_DEFAULT_FPS}); the
   * camera's rate is measured from its first JPEGs and recorded at (see mjpeg/rate-probe.ts).
   */
  measureFps: boolean;
  vflip: boolean;
  hflip: boolean;
  rotation: Rotation;
  annotateTextSize: number;
  /** The size of the one encoded stream: --record-resize, else --resolution. */
  streamWidth: number;
  streamHeight: number;
  recordContinuous?: string;
  segmentMinutes: number;
  /** --record-detection: clips around edges, or files covering whole detections. */
  recordDetection?: { mode: 'edge' | 'all'; dir: string };
  detect?: DetectConfig;
  emit?: string;
  stateDir: string;
  log?: string;
  /** The live view: --port (0 picks a free one) and --host (all interfaces when absent). */
  port: number;
  host?: string;
  maxStreamFps: number;
  /** --login: the password hash file, read at start-up. */
  login?: string;
  /** --api-token: with --login, `Authorization: Bearer TOKEN` opens the API to scripts (the token itself, never logged). */
  apiToken?: string;
  tls?: { cert: string; key: string };
}

/** Original flags whose features arrive in later versions: accepted by name so the help is complete, refused when used. */
const NOT_YET: string[] = [];

export function buildCommand(): Command {
  return exitOverride(new Command('pancake'))
    .description('Raspberry Pi CCTV: a live view in the browser, continuous and detection recording in H.264, and events to postproc.')
    .version(VERSION)
    .option('--camera <source>', 'auto (rpicam-vid, else libcamera-vid), test (built-in test card), file:PATH (an H.264 file looped at --fps), or an IP camera: rtsp://[user[:password]@]host[:port]/path (also rtsps://), or MJPEG over HTTP: http://[user[:password]@]host[:port]/path (also https://; mjpg-streamer: /?action=stream); env:NAME or file:PATH holding the URL', 'auto')
    .option('--camera-password <env:NAME|file:PATH>', 'the network camera\'s password, kept off the command line (the URL then names only the user)')
    .addOption(new Option('--rtsp-transport <tcp|udp>', 'how an RTSP camera sends its video (default: tcp)').choices(['tcp', 'udp']))
    .option('--camera-poll', 'the http(s) URL serves single JPEGs (mjpg-streamer: /?action=snapshot): fetch one --fps times a second', false)
    .addOption(new Option('--encoder <kind>', 'H.264 encoder: hardware (Pi Zero 2 W to Pi 4), software (libav/libx264, the Pi 5 has no encoder block); auto picks by board. For an MJPEG camera: software (libx264, the default) or hardware (ffmpeg\'s h264_v4l2m2m)').choices(['auto', 'hardware', 'software']).default('auto'))
    .option('--camera-timeout <seconds>', 'restart a camera that sends no frame for this long (default: 10 for network cameras, 5 otherwise)')
    .option('--name <name>', 'this camera\'s name (letters, digits, - and _): in every event, the page title and the log; postproc files its recordings under it')
    .option('--port <8000>', 'webserver port hosting the camera live view', '8000')
    .option('--host <address>', 'address the webserver listens on (default: all interfaces; 127.0.0.1 for this machine only)')
    .option('--resolution <320 240...>', 'resolution of camera live view', ['320', '240'])
    .option('--fps <12>', `camera framerate; an MJPEG camera is recorded at exactly this rate, its JPEGs repeated or dropped (default for it: its own rate, measured from its first 2 s of JPEGs and rounded; ${MJPEG_DEFAULT_FPS} for --camera-poll or when it cannot be measured)`, '12')
    .option('--vflip', 'flip the picture vertically', false)
    .option('--hflip', 'flip the picture horizontally', false)
    .addOption(new Option('--rotation <degrees>', '180 is done by the camera; 90 and 270 are display rotation carried in events').choices(['0', '90', '180', '270']).default('0'))
    .option('--annotate-text-size <24>', 'height in pixels of the date and time burned into the picture', '24')
    .option('--max-stream-fps <10>', 'max streaming framerate of the JPEG live view (the H.264 view shows every frame)', '10')
    .option('--record-continuous <h264_dir>', 'record video into h264_dir, 15 minutes apiece (see --segment-minutes)')
    .option('--segment-minutes <15>', `length of continuous recordings; splits at marks of the hour (${VALID_SEGMENT_MINUTES.join(', ')})`, '15')
    .option('--record-detection <{edge,all} h264_dir...>', 'on detection, record video into h264_dir: edge = a 6-7 s clip around each change (at least 3 s before it), all = while detection lasts')
    .option('--record-resize <w h...>', 'size of the recorded stream (the camera encodes one stream; the live view and detection scale from it)')
    .addOption(new Option('--detect <{no-image,image}>', 'detect() or detect(frame)? (from customize.ts, see --customize)').choices(['no-image', 'image']))
    .option('--detect-resize <w h...>', 'resize image for detection (default: --resolution)')
    .option('--detect-interval <seconds>', 'time between detect() calls, fractions allowed (default: 1/fps)')
    .option('--customize <path>', 'the TypeScript (or JavaScript) file exporting detect() (default: customize.ts in the project root)')
    .option('--emit <socket_address>', 'unix domain socket (abstract namespace) to post-processor')
    .option('--login <password_hash_file>', 'password-protect streaming webpage (make the file with pancake-set-password)')
    .option('--api-token <env:NAME|file:PATH>', 'with --login: scripts may use the JSON API with "Authorization: Bearer TOKEN" instead of a session; the token is read from the environment variable or the file\'s first line')
    .option('--tls-cert <file>', 'serve HTTPS/WSS with this PEM certificate (with --tls-key)')
    .option('--tls-key <file>', 'the PEM private key for --tls-cert')
    .option('--state-dir <dir>', 'event outbox and open-recording journal (default: <h264_dir>/.pancake, else ~/.local/state/pancake)')
    .option('--log <path>', 'log to daily files path.YYYY-MM-DD kept 33 days, instead of stdout')
    .addHelpText('after', `
Examples:
  pancake --camera test --record-continuous h264
  pancake --vflip --hflip --resolution 1280 720 --fps 30 --record-continuous h264 --emit ppp
  CAMERA_PASSWORD=… pancake --name front --camera rtsp://viewer@192.168.1.31:554/stream1 --camera-password env:CAMERA_PASSWORD --record-continuous h264 --emit ppp
  pancake --name garage --camera 'http://192.168.1.40:8080/?action=stream' --fps 10 --record-continuous h264 --emit ppp

Exit codes: 0 stopped by SIGINT/SIGTERM, 2 no camera tool (or ffmpeg, or its encoder) found, 3 bad command line.`);
}

function pair(value: unknown, flag: string, names: [string, string], min: number, max: number): [number, number] {
  const v = value as string[];
  if (!Array.isArray(v) || v.length !== 2) throw new UsageError(`${flag}: expected two numbers ${names[0]} ${names[1]}, got: ${[v].flat().join(' ')}`);
  return [parseInteger(v[0]!, `${flag} ${names[0]}`, { min, max }), parseInteger(v[1]!, `${flag} ${names[1]}`, { min, max })];
}

function tlsFiles(cert: string | undefined, key: string | undefined): PancakeConfig['tls'] {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined) throw new UsageError('--tls-key is set. Please also set --tls-cert.');
  if (key === undefined) throw new UsageError('--tls-cert is set. Please also set --tls-key.');
  for (const [flag, file] of [['--tls-cert', cert], ['--tls-key', key]] as const) {
    if (!fs.existsSync(file)) throw new UsageError(`${flag}: no such file: ${file}`);
  }
  return { cert: path.resolve(cert), key: path.resolve(key) };
}

/** --record-detection {edge,all} h264_dir, with the original's message for a wrong mode. */
function detectionRecording(value: unknown): PancakeConfig['recordDetection'] {
  const v = [value].flat() as string[];
  if (v.length !== 2) throw new UsageError(`--record-detection: expected a mode and a directory ({edge,all} h264_dir), got: ${v.join(' ')}`);
  const [mode, dir] = v as [string, string];
  if (mode !== 'edge' && mode !== 'all') throw new UsageError(`--record-detection: invalid mode: ${mode}. Choices: edge, all`);
  return { mode, dir: requireDirectory(dir, '--record-detection') };
}

const URL_SCHEME = /^(rtsps?|https?):\/\//i;
const HTTP_SCHEME = /^https?:\/\//i;
/** The camera forms, for messages. */
const CAMERA_FORMS = 'auto, test, file:PATH, rtsp://…, rtsps://…, http://… or https://…';

/**
 * --camera: auto, test, file:PATH (an H.264 file, or a file whose first line is a camera URL),
 * env:NAME (a variable holding the URL), or rtsp(s)://… or http(s)://… itself.
 */
function cameraChoice(value: string, passwordArg: string | undefined, transport: RtspTransport | undefined, poll: boolean, env: NodeJS.ProcessEnv): CameraChoice {
  let text = value;
  if (value.startsWith('env:')) {
    const name = value.slice(4);
    text = env[name] ?? '';
    if (!name || text === '') throw new UsageError(`--camera: environment variable ${name || '(empty name)'} is not set`);
    if (!URL_SCHEME.test(text)) throw new UsageError(`--camera: environment variable ${name} does not hold a camera URL (rtsp://, rtsps://, http:// or https://)`);
  } else if (value.startsWith('file:')) {
    const file = value.slice(5);
    if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) throw new UsageError(`--camera: no such file: ${file}`);
    const head = readHead(file);
    if (!URL_SCHEME.test(head)) {
      if (passwordArg !== undefined || transport !== undefined) throw new UsageError(`--${passwordArg !== undefined ? 'camera-password' : 'rtsp-transport'} is set. Please also set --camera ${passwordArg !== undefined ? 'rtsp://… or http://…' : 'rtsp://…'}`);
      if (poll) throw new UsageError('--camera-poll is set. Please also set --camera http://…');
      return { kind: 'file', path: path.resolve(file) };
    }
    text = head.split(/\r?\n/, 1)[0]!.trim();
  }
  if (HTTP_SCHEME.test(text)) {
    if (transport !== undefined) throw new UsageError('--rtsp-transport is set, but --camera is an http(s):// camera (MJPEG over HTTP); leave it out');
    return { kind: 'mjpeg', url: parseHttpCameraUrl(text, { password: passwordArg }), poll };
  }
  if (poll) throw new UsageError('--camera-poll is set. Please also set --camera http://…');
  if (URL_SCHEME.test(text)) {
    let password: string | undefined;
    if (passwordArg !== undefined) {
      if (!passwordArg.startsWith('env:') && !passwordArg.startsWith('file:')) {
        throw new UsageError('--camera-password: give env:NAME or file:PATH, so the password is not on the command line');
      }
      password = resolveSecret(passwordArg, '--camera-password');
    }
    return { kind: 'rtsp', url: parseCameraUrl(text, { password }), transport: transport ?? 'tcp' };
  }
  if (passwordArg !== undefined) throw new UsageError('--camera-password is set. Please also set --camera rtsp://… or http://…');
  if (transport !== undefined) throw new UsageError('--rtsp-transport is set. Please also set --camera rtsp://…');
  if (value === 'auto' || value === 'test') return { kind: value };
  throw new UsageError(`--camera: unknown source: ${maskUrl(value)} (${CAMERA_FORMS})`);
}

/** The first bytes of a file, as text: enough to tell a URL file from a video. */
function readHead(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    return buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)).toString('latin1');
  } finally {
    fs.closeSync(fd);
  }
}

/** --api-token env:NAME|file:PATH: the token, at least 16 characters so that it cannot be guessed. */
function apiToken(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!value.startsWith('env:') && !value.startsWith('file:')) throw new UsageError('--api-token: give env:NAME or file:PATH, so the token is not on the command line');
  const token = resolveSecret(value, '--api-token').trim();
  if (token.length < 16) throw new UsageError('--api-token: the token is shorter than 16 characters (make one with: openssl rand -hex 24)');
  return token;
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
  if (o.customize && !o.detect) throw new UsageError('--customize is set. Please also set --detect.');
  if (o.apiToken !== undefined && o.login === undefined) throw new UsageError('--api-token is set. Please also set --login (without it the API is open to everyone who can reach the port).');
  for (const flag of NOT_YET) {
    const key = flag.slice(2).replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    if (o[key] !== undefined) throw new UsageError(`${flag}: not available in this version yet`);
  }

  const camera = cameraChoice(String(o.camera), o.cameraPassword as string | undefined, o.rtspTransport as RtspTransport | undefined, Boolean(o.cameraPoll), env);

  let name: string | undefined;
  if (o.name !== undefined) {
    name = String(o.name);
    const problem = cameraNameError(name);
    if (problem) throw new UsageError(`--name: ${problem}`);
  }
  const network = camera.kind === 'rtsp' || camera.kind === 'mjpeg';
  const cameraTimeoutMs = o.cameraTimeout === undefined
    ? (network ? 10_000 : 5000)
    : Math.round(parseNumber(String(o.cameraTimeout), '--camera-timeout', { exclusiveMin: 0 }) * 1000);

  const [width, height] = pair(o.resolution, '--resolution', ['width', 'height'], 16, 4096);
  // An MJPEG camera has no rate of its own to ask for: a stream's is measured, else MJPEG_DEFAULT_FPS.
  const mjpegDefault = camera.kind === 'mjpeg' && command.getOptionValueSource('fps') === 'default';
  const fps = mjpegDefault ? MJPEG_DEFAULT_FPS : parseInteger(String(o.fps), '--fps', { min: 1, max: 120 });
  const measureFps = mjpegDefault && !camera.poll;
  const annotateTextSize = parseInteger(String(o.annotateTextSize), '--annotate-text-size', { min: 6, max: 160 });
  const [streamWidth, streamHeight] = o.recordResize ? pair(o.recordResize, '--record-resize', ['w', 'h'], 16, 4096) : [width, height];
  const segmentMinutes = parseInteger(String(o.segmentMinutes), '--segment-minutes', { min: 1, max: 60 });
  if (!VALID_SEGMENT_MINUTES.includes(segmentMinutes)) {
    throw new UsageError(`--segment-minutes: must divide 60 (${VALID_SEGMENT_MINUTES.join(', ')}): ${segmentMinutes}`);
  }
  const recordContinuous = o.recordContinuous === undefined ? undefined : requireDirectory(String(o.recordContinuous), '--record-continuous');
  const recordDetection = o.recordDetection === undefined ? undefined : detectionRecording(o.recordDetection);
  let detect: DetectConfig | undefined;
  if (o.detect !== undefined) {
    const [dw, dh] = o.detectResize ? pair(o.detectResize, '--detect-resize', ['w', 'h'], 1, 4096) : [width, height];
    detect = {
      mode: o.detect as DetectConfig['mode'], width: dw, height: dh,
      intervalSeconds: o.detectInterval === undefined ? undefined : parseNumber(String(o.detectInterval), '--detect-interval', { exclusiveMin: 0 }),
      customize: path.resolve(o.customize === undefined ? path.join(PROJECT_ROOT, 'customize.ts') : String(o.customize)),
    };
  }

  let emit: string | undefined;
  if (o.emit !== undefined) {
    emit = String(o.emit);
    if (emit === '' || emit.includes('\0') || Buffer.byteLength(emit) > 106) throw new UsageError(`--emit: not a usable socket name: ${JSON.stringify(emit)}`);
  }

  const stateHome = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  const recordings = recordContinuous ?? recordDetection?.dir;
  const stateDir = path.resolve(
    o.stateDir !== undefined ? String(o.stateDir) : recordings ? path.join(recordings, '.pancake') : path.join(stateHome, 'pancake'),
  );

  return {
    camera, cameraTimeoutMs, name,
    encoder: o.encoder as PancakeConfig['encoder'],
    width, height, fps, measureFps,
    vflip: Boolean(o.vflip), hflip: Boolean(o.hflip),
    rotation: Number(o.rotation) as Rotation,
    annotateTextSize, streamWidth, streamHeight,
    recordContinuous, segmentMinutes, emit, stateDir, recordDetection, detect,
    log: o.log === undefined ? undefined : String(o.log),
    port: parseInteger(String(o.port), '--port', { min: 0, max: 65535 }),
    host: o.host === undefined ? undefined : String(o.host),
    maxStreamFps: parseInteger(String(o.maxStreamFps), '--max-stream-fps', { min: 1, max: 60 }),
    login: o.login === undefined ? undefined : String(o.login),
    apiToken: apiToken(o.apiToken as string | undefined),
    tls: tlsFiles(o.tlsCert as string | undefined, o.tlsKey as string | undefined),
  };
}
