// Shared test helpers: temporary directories, the fake camera on PATH, running commands.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/common/paths.js';

export const FAKE_CAMERA_DIR = path.join(PROJECT_ROOT, 'test', 'fake-camera');
export const DIST = path.join(PROJECT_ROOT, 'dist');

/** A fresh temporary directory; remove it with {@link removeTmp} in afterEach. */
export function makeTmp(prefix = 'pancake-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeTmp(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/** An environment whose PATH starts with the fake rpicam-vid / libcamera-vid. */
export function envWithFakeCamera(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${FAKE_CAMERA_DIR}:${process.env.PATH ?? ''}`, ...extra };
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (argv array, never a shell string). */
export function run(cmd: string, args: string[], options: SpawnOptions & { input?: string | Buffer } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (status, signal) =>
      resolve({ status, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
    child.stdin!.on('error', () => {});
    child.stdin!.end(options.input);
  });
}

/** Runs a compiled program from dist/ (npm run build first; the test command does). */
export function runDist(relative: string, args: string[], options: SpawnOptions & { input?: string } = {}): Promise<RunResult> {
  return run(process.execPath, [path.join(DIST, relative), ...args], options);
}

/** ffprobe facts about a video file's first stream, counting frames by decoding. */
export function probe(file: string): { codec: string; profile: string; width: number; height: number; frameRate: string; frames: number; duration: number } {
  const r = spawnSync(
    'ffprobe',
    ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries',
      'stream=codec_name,profile,width,height,r_frame_rate,nb_read_frames:format=duration', '-of', 'json', file],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`ffprobe failed on ${file}: ${r.stderr}`);
  const json = JSON.parse(r.stdout) as { streams: Record<string, string | number>[]; format: { duration?: string } };
  const s = json.streams[0]!;
  return {
    codec: String(s.codec_name), profile: String(s.profile), width: Number(s.width), height: Number(s.height),
    frameRate: String(s.r_frame_rate), frames: Number(s.nb_read_frames), duration: Number(json.format.duration ?? NaN),
  };
}

/** Decodes a file with `ffmpeg -v error` and returns what it printed (empty means no decoding error). */
export function decodeErrors(file: string, inputArgs: string[] = []): string {
  // The input's own time base for the (null) output: a variable-rate MP4 whose frames come closer
  // than 1/r_frame_rate is valid, but rounded to ffmpeg's default 1/r_frame_rate its timestamps
  // collide ("non monotonically increasing dts to muxer"), which says nothing about decoding.
  const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', ...inputArgs, '-i', file, '-enc_time_base', '-1', '-f', 'null', '-'], { encoding: 'utf8' });
  return (r.stderr + (r.status === 0 ? '' : `\nexit ${r.status}`)).trim();
}

/** The picture type (I/P/B) and key flag of every frame, in decoding order. */
export function frameTypes(file: string): { pict: string; key: boolean }[] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'frame=pict_type,key_frame', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim().split('\n').map((line) => {
    const [key, pict] = line.split(',');
    return { key: key === '1', pict: pict ?? '' };
  });
}

/** SIGTERM a test server and wait until it has exited (nothing to do if it already has). */
export async function terminate(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  await gone;
}
