// The fake rpicam-vid behaves like the real one where pancake relies on it, and fails on request.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeErrors, envWithFakeCamera, FAKE_CAMERA_DIR, makeTmp, probe, removeTmp, run } from './helpers/env.js';

const RPICAM = path.join(FAKE_CAMERA_DIR, 'rpicam-vid');
const ARGS = ['-t', '0', '-n', '--codec', 'h264', '--inline', '--intra', '24', '--flush', '--width', '640', '--height', '480', '--framerate', '24', '-o', '-'];

interface Capture {
  data: Buffer;
  /** Arrival time (ms) of every chunk that contained an IDR start (00 00 01 65). */
  chunkTimes: number[];
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  aliveAt: number;
}

/** Starts the fake camera, collects stdout for `ms`, then kills it (unless it exited first). */
function capture(cmd: string, args: string[], ms: number, env: NodeJS.ProcessEnv = envWithFakeCamera()): Promise<Capture> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env });
    const chunks: Buffer[] = [];
    const chunkTimes: number[] = [];
    let stderr = '';
    let exited = false;
    const started = performance.now();
    child.stdout.on('data', (d: Buffer) => {
      chunks.push(d);
      chunkTimes.push(performance.now() - started);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), ms);
    child.on('exit', () => (exited = true));
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), chunkTimes, status, signal, stderr, aliveAt: exited ? performance.now() - started : ms });
    });
  });
}

describe('fake rpicam-vid', () => {
  let tmp: string | undefined;
  afterEach(() => removeTmp(tmp));

  it('streams decodable H.264 at the requested frame rate and records its argv', async () => {
    tmp = makeTmp();
    const argvFile = path.join(tmp, 'argv.jsonl');
    const env = envWithFakeCamera({ FAKE_CAMERA_ARGV_FILE: argvFile });
    const cap = await capture(RPICAM, ARGS, 3000, env);
    expect(cap.signal).toBe('SIGTERM');
    const out = path.join(tmp, 'out.h264');
    fs.writeFileSync(out, cap.data);
    expect(decodeErrors(out)).toBe('');
    // Frames written per second, from the slope between the first and last write (start-up excluded).
    const frames = probe(out).frames;
    const span = (cap.chunkTimes.at(-1)! - cap.chunkTimes[0]!) / 1000;
    expect((frames - 1) / span).toBeGreaterThan(24 * 0.85);
    expect((frames - 1) / span).toBeLessThan(24 * 1.15);
    expect(fs.readFileSync(argvFile, 'utf8')).toBe(JSON.stringify(ARGS) + '\n');
  });

  it('answers to the old name libcamera-vid too', async () => {
    const cap = await capture(path.join(FAKE_CAMERA_DIR, 'libcamera-vid'), ARGS, 800);
    expect(cap.data.length).toBeGreaterThan(1000);
    expect(cap.stderr).toContain('libcamera-vid (fake)');
  });

  it.each([
    [['--bogus'], "ERROR: *** unrecognised option '--bogus' ***"],
    [['-x'], "ERROR: *** unrecognised option '-x' ***"],
    [['--width'], "ERROR: *** the required argument for option '--width' is missing ***"],
    [['--framerate', 'fast'], "ERROR: *** the argument ('fast') for option '--framerate' is invalid ***"],
    [['--rotation', '90'], 'ERROR: *** transforms requiring transpose not supported ***'],
    [['--codec', 'mjpeg'], 'ERROR: *** Unrecognised codec mjpeg ***'],
  ])('rejects %j with exit code 1', async (args, message) => {
    const r = await run(RPICAM, [...ARGS, ...args], { env: envWithFakeCamera() });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(message);
    expect(r.stdout).toBe('');
  });

  it('reports post-processing stages it does not have, and keeps streaming', async () => {
    tmp = makeTmp();
    const ppf = path.join(tmp, 'annotate.json');
    fs.writeFileSync(ppf, JSON.stringify({ annotate_cv: { text: '%F %T', fg: 255 } }));
    const without = await capture(RPICAM, [...ARGS, '--post-process-file', ppf], 800, envWithFakeCamera({ FAKE_CAMERA_STAGES: '' }));
    expect(without.stderr).toContain('No postprocessing stage found for "annotate_cv"');
    expect(without.data.length).toBeGreaterThan(1000);
    const withStage = await capture(RPICAM, [...ARGS, '--post-process-file', ppf], 500);
    expect(withStage.stderr).not.toContain('No postprocessing stage');
  });

  it('dies after FAKE_CAMERA_DIE_AFTER seconds with FAKE_CAMERA_EXIT_CODE', async () => {
    const cap = await capture(RPICAM, ARGS, 5000, envWithFakeCamera({ FAKE_CAMERA_DIE_AFTER: '1', FAKE_CAMERA_EXIT_CODE: '3' }));
    expect(cap.status).toBe(3);
    expect(cap.aliveAt).toBeLessThan(4000);
    expect(cap.stderr).toContain('ERROR: ***');
    expect(cap.data.length).toBeGreaterThan(0);
  });

  it('stalls after FAKE_CAMERA_STALL_AFTER seconds: no more frames, still running', async () => {
    const cap = await capture(RPICAM, ARGS, 3000, envWithFakeCamera({ FAKE_CAMERA_STALL_AFTER: '1' }));
    expect(cap.signal).toBe('SIGTERM'); // killed by us, so it was still running
    expect(cap.chunkTimes.length).toBeGreaterThan(0);
    expect(cap.chunkTimes.at(-1)!).toBeLessThan(2000);
  });

  it('streams another file named by FAKE_CAMERA_SOURCE', async () => {
    tmp = makeTmp();
    const src = path.join(tmp, 'small.h264');
    const r = await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10:duration=1', '-c:v', 'libx264',
      '-x264-params', 'keyint=10:bframes=0:repeat-headers=1', '-f', 'h264', src]);
    expect(r.status).toBe(0);
    const cap = await capture(RPICAM, ARGS, 1000, envWithFakeCamera({ FAKE_CAMERA_SOURCE: src }));
    const out = path.join(tmp, 'out.h264');
    fs.writeFileSync(out, cap.data);
    expect(probe(out).width).toBe(160);
  });
});
