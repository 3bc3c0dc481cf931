// Test helper: real MJPEG cameras on 127.0.0.1: mjpg-streamer serving a folder of test-card JPEGs, and ffmpeg's own mpjpeg server.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { findOnPath } from '../../src/common/find-on-path.js';
import { PROJECT_ROOT } from '../../src/common/paths.js';
import { makeTmp, removeTmp } from './env.js';
import { freePort } from './net.js';

/** The mjpg-streamer build shared by the project's checkouts (see its README.txt). */
export const MJPG_STREAMER = path.resolve(PROJECT_ROOT, '..', 'shared', 'tools', 'mjpg-streamer', 'mjpg_streamer');
// Generous: a loaded two-core machine; every wait ends as soon as its event comes.
const START_LIMIT_MS = 20_000;
const START_ATTEMPTS = 5;

/** Whether mjpg-streamer (and ffmpeg, which makes its JPEGs) can run here; `reason` says what is missing, for skip messages. */
export function mjpgStreamerAvailable(): { ok: boolean; reason: string } {
  if (!findOnPath(MJPG_STREAMER)) return { ok: false, reason: `${MJPG_STREAMER} not found (see the project's notes on building mjpg-streamer)` };
  const r = spawnSync(MJPG_STREAMER, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return { ok: false, reason: `${MJPG_STREAMER} --version failed: ${r.error?.message ?? `${r.stdout}${r.stderr}`.trim()}` };
  return ffmpegAvailable();
}

/** Whether ffmpeg is on PATH. */
export function ffmpegAvailable(): { ok: boolean; reason: string } {
  return findOnPath('ffmpeg') ? { ok: true, reason: '' } : { ok: false, reason: 'ffmpeg not on PATH (bash scripts/deps.sh --test)' };
}

/** A running test camera. */
export interface MjpegTestServer {
  readonly port: number;
  /** `http://[user:password@]127.0.0.1:port` + `pathAndQuery`. */
  url(pathAndQuery: string, credentials?: { user: string; password: string }): string;
  /** Ends the server with `signal` (default SIGTERM) and waits until it has exited; removes its files. Idempotent. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** mjpg-streamer, and the JPEG files it serves in a loop, in the order it serves them. */
export interface MjpgStreamerServer extends MjpegTestServer {
  readonly frames: Buffer[];
}

export interface MjpgStreamerOptions {
  /** `-c user:password` (Basic authentication). */
  credentials?: { user: string; password: string };
  /** input_file.so's `-d`: seconds between JPEGs (default 0.1, about 10 fps; 0.065 is about 15 fps). */
  delaySeconds?: number;
}

/**
 * mjpg-streamer's input_file.so looping over a folder of 20 testsrc2 JPEGs, 320x240 (`-d 0.1 -e`:
 * about 10 fps, so a 2 s loop) and output_http.so on 127.0.0.1: `/?action=stream` and `/?action=snapshot`.
 */
export async function startMjpgStreamer(options: MjpgStreamerOptions = {}): Promise<MjpgStreamerServer> {
  const dir = makeTmp('pancake-mjpg-');
  try {
    const frames = makeJpegs(dir, 20, '320x240');
    const auth = options.credentials ? ` -c ${options.credentials.user}:${options.credentials.password}` : '';
    const server = await startListening(
      (port) => [MJPG_STREAMER, ['-i', `input_file.so -f ${dir} -d ${options.delaySeconds ?? 0.1} -e`, '-o', `output_http.so -p ${port} -l 127.0.0.1${auth}`]],
      () => removeTmp(dir),
    );
    return { ...server, frames };
  } catch (err) {
    removeTmp(dir);
    throw err;
  }
}

export interface FfmpegMjpegOptions {
  /** The response's Content-Type: `multipart/x-mixed-replace;boundary=ffmpeg`; null for ffmpeg's default (application/octet-stream). */
  contentType?: string | null;
  /** `320x240` */
  size?: string;
  /** 10 */
  fps?: number;
}

/**
 * ffmpeg's own MJPEG server, `-f mpjpeg -listen 1`: a live testsrc2 at `fps`, boundary `ffmpeg`,
 * lower-case part headers, HTTP/1.1 chunked. It serves one client, on any path, then exits.
 */
export function startFfmpegMjpegServer(options: FfmpegMjpegOptions = {}): Promise<MjpegTestServer> {
  const contentType = options.contentType === undefined ? 'multipart/x-mixed-replace;boundary=ffmpeg' : options.contentType;
  const source = `testsrc2=size=${options.size ?? '320x240'}:rate=${options.fps ?? 10}`;
  return startListening((port) => [
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-v', 'error', '-re', '-f', 'lavfi', '-i', source, '-c:v', 'mjpeg', '-q:v', '5', '-f', 'mpjpeg',
      ...(contentType === null ? [] : ['-content_type', contentType]), '-listen', '1', `http://127.0.0.1:${port}/`],
  ]);
}

/** Writes `count` testsrc2 JPEGs (001.jpg …) into `dir` and returns their bytes in name order. */
function makeJpegs(dir: string, count: number, size: string): Buffer[] {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=10`, '-frames:v', String(count), '-q:v', '5', path.join(dir, '%03d.jpg')], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`ffmpeg could not make the test JPEGs: ${r.error?.message ?? r.stderr}`);
  return fs.readdirSync(dir).sort().map((name) => fs.readFileSync(path.join(dir, name)));
}

/**
 * Starts a server on a free port and resolves once the port is in LISTEN state (read from
 * /proc/net/tcp, so that no probe connection uses up ffmpeg's single client). A port taken between
 * choosing and binding makes the server exit: then it is tried again on another port.
 */
async function startListening(command: (port: number) => [string, string[]], cleanup: () => void = () => {}): Promise<MjpegTestServer> {
  let failure = '';
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = await freePort();
    const [file, args] = command(port);
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-100_000);
    });
    let gone = false;
    const exited = new Promise<boolean>((resolve) =>
      child.once('exit', () => {
        gone = true;
        resolve(false);
      }),
    );
    child.on('error', (err) => (stderr += `\n${err.message}`));
    let started: boolean;
    try {
      started = await Promise.race([waitForListen(port, () => gone), exited]);
    } catch (err) {
      await halt(child, 'SIGTERM');
      cleanup();
      throw new Error(`${file}: ${(err as Error).message}; stderr: ${stderr.slice(-2000)}`);
    }
    if (started) {
      return {
        port,
        url: (pathAndQuery, credentials) =>
          `http://${credentials ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@` : ''}127.0.0.1:${port}${pathAndQuery}`,
        async stop(signal = 'SIGTERM') {
          await halt(child, signal);
          cleanup();
        },
      };
    }
    await halt(child, 'SIGTERM');
    failure = `${file} exited before listening on ${port}: ${stderr.slice(-2000)}`;
    if (!/bind|in use/i.test(stderr)) break;
  }
  cleanup();
  throw new Error(failure);
}

/** Resolves true once 127.0.0.1:`port` is listening, false once `exited()`; rejects after {@link START_LIMIT_MS}. */
async function waitForListen(port: number, exited: () => boolean): Promise<boolean> {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + START_LIMIT_MS;
  while (Date.now() < deadline) {
    if (exited()) return false;
    const listening = fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').some((line) => {
      const f = line.trim().split(/\s+/);
      return f[1] === local && f[3] === '0A';
    });
    if (listening) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${START_LIMIT_MS} ms`);
}

async function halt(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await gone;
}
