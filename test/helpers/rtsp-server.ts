// Test helper: a real RTSP camera on 127.0.0.1 (GStreamer's rtsp-server via test/helpers/rtsp_server.py), live and shared.
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { PROJECT_ROOT } from '../../src/common/paths.js';

// Debian's python3-gi and GStreamer bindings belong to /usr/bin/python3 (not a pyenv python first on PATH).
const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(PROJECT_ROOT, 'test', 'helpers', 'rtsp_server.py');
// Generous: the first start of GStreamer builds its plugin registry.
const START_LIMIT_MS = 30_000;
const REPLY_LIMIT_MS = 10_000;

/** What the test camera serves. Every field has the default shown. */
export interface RtspServerOptions {
  /** 320 × 240 */
  width?: number;
  height?: number;
  /** 15; also the most `setRate` can ask for. */
  fps?: number;
  /** kbit/s, 300. */
  bitrate?: number;
  /** Seconds between keyframes (forced by stream time, so they stay put when the rate drops): 4. */
  gopSeconds?: number;
  /** videotestsrc's picture: `ball` (a moving ball), or e.g. `smpte` (colour bars, still unless `horizontalSpeed`). */
  pattern?: string;
  /** Pixels the picture scrolls left per frame (videotestsrc horizontal-speed): 0. Motion that shows frame order. */
  horizontalSpeed?: number;
  /** B-frames (x264 veryfast, 2 B-frames, Main profile); off: ultrafast + zerolatency, no B-frames. */
  bframes?: boolean;
  /** An AAC track (voaacenc, 48 kHz mono, RTP mpeg4-generic) beside the video. */
  audio?: boolean;
  /** h264 (x264enc), h265 (x265enc) or mjpeg (jpegenc). */
  codec?: 'h264' | 'h265' | 'mjpeg';
  /** `in-band`: SPS/PPS before every IDR (rtph264pay config-interval=-1); `sdp`: only in the SDP (config-interval=0), as many IP cameras. */
  parameterSets?: 'in-band' | 'sdp';
  /** RTSP authentication: none, basic or digest, with `user` and `password`. */
  auth?: 'none' | 'basic' | 'digest';
  user?: string;
  password?: string;
  /** Mount path, '/stream'. */
  path?: string;
  /** 0: a free port. */
  port?: number;
}

/** A running test camera. */
export interface RtspTestServer {
  readonly host: '127.0.0.1';
  /** The port it listens on (kept across down/up). */
  readonly port: number;
  readonly path: string;
  readonly user: string;
  readonly password: string;
  /** `rtsp://127.0.0.1:port/path`, with `user[:password]@` when given. */
  url(credentials?: { user?: string; password?: string }): string;
  /** Drops frames so that at most `fps` (≤ the configured fps) leave per second; resolves once applied. */
  setRate(fps: number): Promise<void>;
  /** The next frame is an IDR; resolves once applied. */
  keyframe(): Promise<void>;
  /** RTSP client connections accepted so far (over all runs). */
  clients(): number;
  /** Resolves when the number of accepted connections reaches `n`. */
  waitForClients(n: number): Promise<void>;
  /** What the server wrote to stderr. */
  log(): string;
  /** SIGSTOP: connections stay open but nothing is sent (a hung camera). */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** Stops the server (clients see the connection close): the camera is "down". */
  down(): Promise<void>;
  /** Starts it again on the same port. */
  up(): Promise<void>;
  /** Stops it. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Whether /usr/bin/python3 can run the server: GstRtspServer importable and the GStreamer elements
 * it uses present. `reason` says what is missing (for `it.skipIf` messages).
 */
export function rtspServerAvailable(): { ok: boolean; reason: string } {
  const check = String.raw`
import gi
gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import Gst, GstRtspServer
Gst.init(None)
need = 'videotestsrc x264enc rtph264pay x265enc rtph265pay jpegenc rtpjpegpay audiotestsrc voaacenc rtpmp4gpay'.split()
print(' '.join(e for e in need if not Gst.ElementFactory.find(e)))
`;
  const r = spawnSync(PYTHON, ['-c', check], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return { ok: false, reason: `${PYTHON}: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, reason: `${PYTHON} cannot import GstRtspServer (bash scripts/deps.sh --test): ${r.stderr.trim().split('\n').pop() ?? ''}` };
  const missing = r.stdout.trim();
  return missing ? { ok: false, reason: `GStreamer elements missing (bash scripts/deps.sh --test): ${missing}` } : { ok: true, reason: '' };
}

/** Starts the test camera and resolves once it listens; call `stop()` in afterEach. */
export async function startRtspServer(options: RtspServerOptions = {}): Promise<RtspTestServer> {
  const cfg = {
    port: options.port ?? 0,
    path: options.path ?? '/stream',
    width: options.width ?? 320,
    height: options.height ?? 240,
    fps: options.fps ?? 15,
    bitrate: options.bitrate ?? 300,
    gop: options.gopSeconds ?? 4,
    bframes: options.bframes ?? false,
    pattern: options.pattern ?? 'ball',
    hspeed: options.horizontalSpeed ?? 0,
    audio: options.audio ?? false,
    codec: options.codec ?? 'h264',
    paramsets: options.parameterSets ?? 'in-band',
    auth: options.auth ?? 'none',
    user: options.user ?? 'camera',
    password: options.password ?? (options.auth && options.auth !== 'none' ? 'pw-' + Math.random().toString(36).slice(2) : ''),
  };
  let proc: ChildProcessByStdio<Writable, Readable, Readable> | undefined;
  let stderr = '';
  let clients = 0;
  // Lines on stdout that something waits for ("RATE 7"), with their waiters.
  const waiters: { test: (line: string) => boolean; resolve: () => void; reject: (e: Error) => void }[] = [];

  const waitForLine = (test: (line: string) => boolean, what: string, limitMs: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = waiters.indexOf(waiter);
        if (i >= 0) waiters.splice(i, 1);
        reject(new Error(`rtsp test server: no ${what} within ${limitMs} ms; stderr: ${stderr.slice(-2000)}`));
      }, limitMs);
      const waiter = {
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      waiters.push(waiter);
    });

  const start = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const child = spawn(PYTHON, [SCRIPT, JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'] });
      proc = child;
      child.stdin.on('error', () => {}); // EPIPE once it has exited: reported by 'exit'
      let out = '';
      let ready = false;
      child.stderr.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-200_000);
      });
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        let nl: number;
        while ((nl = out.indexOf('\n')) >= 0) {
          const line = out.slice(0, nl).trim();
          out = out.slice(nl + 1);
          const m = /^READY (\d+)$/.exec(line);
          if (m && !ready) {
            ready = true;
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
          if (line === 'CLIENT') clients++;
          for (const w of [...waiters]) {
            if (w.test(line)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve();
            }
          }
        }
      });
      const timer = setTimeout(() => reject(new Error(`rtsp test server not ready within ${START_LIMIT_MS} ms: ${stderr.slice(-2000)}`)), START_LIMIT_MS);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        const err = new Error(`rtsp test server exited (${code ?? signal}): ${stderr.slice(-2000)}`);
        for (const w of waiters.splice(0)) w.reject(err);
        if (!ready) reject(err);
      });
    });

  const halt = async (): Promise<void> => {
    const child = proc;
    proc = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT'); // a paused (SIGSTOPped) server acts on SIGTERM only once continued
    child.kill('SIGTERM');
    await gone;
  };

  const command = async (line: string, reply: (l: string) => boolean, what: string): Promise<void> => {
    if (!proc) throw new Error('rtsp test server is down');
    const replied = waitForLine(reply, what, REPLY_LIMIT_MS);
    proc.stdin.write(line + '\n');
    await replied;
  };

  try {
    cfg.port = await start();
  } catch (err) {
    await halt();
    throw err;
  }
  return {
    host: '127.0.0.1',
    port: cfg.port,
    path: cfg.path,
    user: cfg.user,
    password: cfg.password,
    url(credentials) {
      const user = credentials?.user;
      const password = credentials?.password;
      const auth = user === undefined ? '' : `${encodeURIComponent(user)}${password === undefined ? '' : `:${encodeURIComponent(password)}`}@`;
      return `rtsp://${auth}127.0.0.1:${cfg.port}${cfg.path}`;
    },
    setRate: (fps) => command(`rate ${fps}`, (l) => l.startsWith('RATE '), `reply to "rate ${fps}"`),
    keyframe: () => command('keyframe', (l) => l === 'KEYFRAME', 'reply to "keyframe"'),
    clients: () => clients,
    waitForClients: (n) => (clients >= n ? Promise.resolve() : waitForLine(() => clients >= n, `${n} clients`, START_LIMIT_MS)),
    log: () => stderr,
    pause: () => proc?.kill('SIGSTOP'),
    resume: () => proc?.kill('SIGCONT'),
    down: halt,
    async up() {
      await halt();
      await start();
    },
    stop: halt,
  };
}
