// npm run bench:record — pancake's continuous recording against `ffmpeg -c copy -f segment` and a bare Node read-and-write loop, and what a viewer and the detection pre-roll add.
//
// A 1920x1080 30 fps ~8 Mbit/s H.264 stream (generated once with ffmpeg into .bench/) is played in
// real time by the fake rpicam-vid, one fake camera per recorder, for 5 s of warm-up plus 60 s
// (BENCH_SECONDS). Two phases, each with its recorders side by side so whatever else the machine is
// doing weighs on them alike:
//   1. the targets: (a) pancake --record-continuous --emit, (b) the camera piped into ffmpeg
//      segmenting with -c copy, (c) the runtime's floor: a bare Node process that spawns the camera
//      and writes its pipe to a file in 0.5 s batches (as pancake batches), nothing else; (d) the
//      cheapest Node reader found (onread into one reused buffer), to show what the runtime's
//      stream path itself costs.
//   2. what features add, each against a plain pancake measured in the same phase: one H.264 live
//      viewer (a websocket client that acknowledges every frame, as the page does), and detection
//      recording (--record-detection edge, detect() without image, so the pre-roll buffer and the
//      detect worker run but nothing is decoded).
// Each recorder's own CPU time (steady state, after the warm-up; start-up shown apart) and peak RSS
// are read from /proc; the cameras are not counted (pancake's camera is its child, not counted).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { PROJECT_ROOT } from '../src/common/paths.js';
import { startBenchEventSink } from './lib/event-sink.js';
import { printTable } from './lib/measure.js';
import { CAMERA_ARGS_1080P as cameraArgs, CLIP_1080P as CLIP, ensure1080pClip, FAKE_CAMERA } from './lib/clip.js';
import { processCpuSeconds, processPeakRssMb } from './lib/proc.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
/** Steady state: CPU from WARMUP s after start to WARMUP + SECONDS; start-up is reported on its own. */
const WARMUP = 5;
const RATIO_FFMPEG_TARGET = 1.5;
const RATIO_FLOOR_TARGET = 1.25;
const RSS_TARGET_MB = 80;
const START_LIMIT_MS = 30_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const CAMERA_ENV = { ...process.env, PATH: `${path.dirname(FAKE_CAMERA)}:${process.env.PATH}`, FAKE_CAMERA_SOURCE: CLIP };

// The floor, as bench:rtsp's: CommonJS because `node -e` runs it so; arguments: the output file, then the camera's command.
const BARE_READER = `
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const [out, camera, ...args] = process.argv.slice(1);
const fd = fs.openSync(out, 'w');
let chunks = [];
const source = spawn(camera, args, { stdio: ['ignore', 'pipe', 'ignore'] });
source.stdout.on('data', (chunk) => chunks.push(chunk));
source.on('exit', (code, signal) => { console.error('camera exited (' + (code ?? signal) + ')'); process.exit(1); });
setInterval(() => { if (chunks.length) { fs.writeSync(fd, Buffer.concat(chunks)); chunks = []; } }, 500);
process.on('SIGTERM', () => { source.removeAllListeners('exit'); source.kill('SIGTERM'); process.exit(0); });
`;

// The cheapest Node reader found: net.Socket's onread reads into one reused buffer (no Buffer per read, none of
// the Readable stream's bookkeeping), copied into a reused batch buffer written every 0.5 s. The camera writes to
// a connected unix socket instead of a pipe, because Node opens no pipe of its own for onread.
const ONREAD_READER = `
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const [out, camera, ...args] = process.argv.slice(1);
const fd = fs.openSync(out, 'w');
const batch = Buffer.allocUnsafe(4 << 20);
let used = 0;
const name = '\\0bench-record-onread-' + process.pid;
const server = net.createServer((peer) => {
  server.close();
  const source = spawn(camera, args, { stdio: ['ignore', peer, 'ignore'] });
  peer.destroy();
  source.on('exit', (code, signal) => { console.error('camera exited (' + (code ?? signal) + ')'); process.exit(1); });
  process.on('SIGTERM', () => { source.removeAllListeners('exit'); source.kill('SIGTERM'); process.exit(0); });
});
server.listen(name, () => net.connect({ path: name, onread: { buffer: Buffer.allocUnsafe(1 << 20), callback: (n, buf) => {
  if (used + n > batch.length) { fs.writeSync(fd, batch, 0, used); used = 0; }
  buf.copy(batch, used, 0, n);
  used += n;
} } }));
setInterval(() => { if (used) { fs.writeSync(fd, batch, 0, used); used = 0; } }, 500);
`;

/** One recorder under measurement: the process whose CPU counts, and how to stop what it needs. */
interface Recorder {
  label: string;
  /** The process measured. */
  pid: number;
  dir: string;
  stop: () => Promise<void>;
}

interface Result {
  label: string;
  cpuPerSecond: number;
  startup: number;
  rss: number;
  files: number;
  note: string;
}

function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  return gone;
}

/** Starts pancake with `extra` flags; resolves once its live view listens (the port is in its log). */
async function startPancake(label: string, dir: string, extra: string[]): Promise<Recorder & { port: number; child: ChildProcess }> {
  const sinkName = `bench-record-${process.pid}-${label.replace(/\W+/g, '-')}`;
  const sink = await startBenchEventSink(sinkName);
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'pancake', 'main.js'), '--resolution', '1920', '1080', '--fps', '30',
    '--host', '127.0.0.1', '--port', '0', '--record-continuous', dir, '--segment-minutes', '1', '--emit', sinkName, ...extra],
  { env: CAMERA_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (d: Buffer): void => void (log = (log + d.toString()).slice(-8000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: no live view within ${START_LIMIT_MS / 1000} s:\n${log}`)), START_LIMIT_MS);
    const look = (): void => {
      const m = /web: live view on http:\/\/127\.0\.0\.1:(\d+)\//.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${code ?? signal}):\n${log}`));
    });
  });
  return {
    label, pid: child.pid!, dir, port, child,
    stop: async () => {
      await killAndWait(child);
      sink.close();
    },
  };
}

function startFfmpeg(dir: string): Recorder {
  const camera = spawn(FAKE_CAMERA, cameraArgs, { env: CAMERA_ENV, stdio: ['ignore', 'pipe', 'ignore'] });
  const ffmpeg = spawn('ffmpeg', ['-v', 'error', '-f', 'h264', '-framerate', '30', '-i', 'pipe:0', '-c', 'copy', '-f', 'segment',
    '-segment_time', '60', '-reset_timestamps', '1', path.join(dir, '%03d.h264')], { stdio: [camera.stdout!, 'ignore', 'inherit'] });
  return {
    label: 'ffmpeg -c copy -f segment', pid: ffmpeg.pid!, dir,
    stop: async () => {
      await killAndWait(ffmpeg);
      await killAndWait(camera);
    },
  };
}

function startFloor(dir: string): Recorder {
  const child = spawn(process.execPath, ['-e', BARE_READER, path.join(dir, 'all.h264'), FAKE_CAMERA, ...cameraArgs], { env: CAMERA_ENV, stdio: ['ignore', 'ignore', 'inherit'] });
  return { label: 'bare Node read + batched write (floor)', pid: child.pid!, dir, stop: () => killAndWait(child) };
}

function startOnreadFloor(dir: string): Recorder {
  const child = spawn(process.execPath, ['-e', ONREAD_READER, path.join(dir, 'all.h264'), FAKE_CAMERA, ...cameraArgs], { env: CAMERA_ENV, stdio: ['ignore', 'ignore', 'inherit'] });
  return { label: 'bare Node, onread into one buffer + batched write', pid: child.pid!, dir, stop: () => killAndWait(child) };
}

/** A live-view client that acknowledges every frame as soon as it arrives (the page acks once drawn). */
function watch(port: number): { frames: () => number; close: () => void } {
  let frames = 0;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/websocket?mode=h264`);
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary || data.length < 8) return;
    frames++;
    ws.send(JSON.stringify({ ack: data.readUInt32BE(4) }));
  });
  ws.on('error', (err) => console.error(`bench:record: viewer: ${err.message}`));
  return { frames: () => frames, close: () => ws.close() };
}

/** Measures the recorders side by side: warm-up, then the steady-state window. */
async function measureSideBySide(recorders: Recorder[], notes: Map<Recorder, () => string> = new Map()): Promise<Result[]> {
  await sleep(WARMUP * 1000);
  const startup = recorders.map((r) => processCpuSeconds(r.pid));
  await sleep(SECONDS * 1000);
  const results = recorders.map((r, i) => ({
    label: r.label,
    cpuPerSecond: (processCpuSeconds(r.pid) - startup[i]!) / SECONDS,
    startup: startup[i]!,
    rss: processPeakRssMb(r.pid),
    files: 0,
    note: notes.get(r)?.() ?? '',
  }));
  await Promise.all(recorders.map((r) => r.stop()));
  recorders.forEach((r, i) => (results[i]!.files = fs.readdirSync(r.dir).filter((f) => f.endsWith('.h264')).length));
  return results;
}

const bitrate = ensure1080pClip();
const build = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('bench:record: the build failed (npx tsc -p tsconfig.build.json)');
  process.exit(1);
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-record-'));
const dir = (name: string): string => {
  const d = path.join(work, name);
  fs.mkdirSync(d);
  return d;
};
// detect() that never detects: detection recording keeps its pre-roll and calls the worker once a second, nothing more.
const customize = path.join(work, 'never.ts');
fs.writeFileSync(customize, 'export function detect(): boolean {\n  return false;\n}\n');

console.log(`stream: 1920x1080 30 fps, ${bitrate.toFixed(1)} Mbit/s, ${SECONDS} s real time per phase, each recorder fed by its own fake camera`);
let phase1: Result[] = [];
let phase2: Result[] = [];
try {
  // Phase 1: the targets.
  const pancake = await startPancake('pancake --record-continuous --emit', dir('pancake'), []);
  phase1 = await measureSideBySide([pancake, startFfmpeg(dir('ffmpeg')), startFloor(dir('floor')), startOnreadFloor(dir('onread'))]);

  // Phase 2: what a viewer and the detection pre-roll add.
  const plain = await startPancake('pancake (as above)', dir('plain'), []);
  const viewed = await startPancake('pancake + 1 H.264 viewer', dir('viewed'), []);
  const detecting = await startPancake('pancake + detection pre-roll', dir('detecting'), [
    '--record-detection', 'edge', dir('clips'), '--detect', 'no-image', '--detect-interval', '1', '--customize', customize]);
  const viewer = watch(viewed.port);
  phase2 = await measureSideBySide([plain, viewed, detecting], new Map([[viewed as Recorder, () => `${(viewer.frames() / (SECONDS + WARMUP)).toFixed(1)} fps received`]]));
  viewer.close();
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

const [ours, peer, floor, onread] = phase1 as [Result, Result, Result, Result];
const [plain, viewed, detecting] = phase2 as [Result, Result, Result];
const row = (r: Result, adds = ''): (string | number)[] => [r.label, r.cpuPerSecond, adds, r.startup, r.rss, r.files, r.note];
const header = ['recorder', 'CPU-s per s of video', 'adds over plain pancake', `CPU-s in the first ${WARMUP} s`, 'peak RSS MB', 'files', ''];
console.log('\nphase 1: the targets, side by side');
printTable([header, row(ours), row(peer), row(floor), row(onread)]);
console.log('\nphase 2: what features add, side by side');
printTable([header, row(plain), row(viewed, (viewed.cpuPerSecond - plain.cpuPerSecond).toFixed(4)), row(detecting, (detecting.cpuPerSecond - plain.cpuPerSecond).toFixed(4))]);
const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
const overFfmpeg = ours.cpuPerSecond / peer.cpuPerSecond;
const overFloor = ours.cpuPerSecond / floor.cpuPerSecond;
console.log('');
console.log(`CPU ratio pancake / ffmpeg: ${overFfmpeg.toFixed(2)} (target ≤ ${RATIO_FFMPEG_TARGET}: ${verdict(overFfmpeg <= RATIO_FFMPEG_TARGET)})`);
console.log(`CPU ratio pancake / bare Node floor: ${overFloor.toFixed(2)} (target ≤ ${RATIO_FLOOR_TARGET}: ${verdict(overFloor <= RATIO_FLOOR_TARGET)}); floor / ffmpeg: ${(floor.cpuPerSecond / peer.cpuPerSecond).toFixed(2)}`);
console.log(`the cheapest Node reader (onread) / ffmpeg: ${(onread.cpuPerSecond / peer.cpuPerSecond).toFixed(2)}; pancake / it: ${(ours.cpuPerSecond / onread.cpuPerSecond).toFixed(2)}`);
console.log(`pancake peak RSS ${ours.rss.toFixed(1)} MB (target ≤ ${RSS_TARGET_MB} MB: ${verdict(ours.rss <= RSS_TARGET_MB)})`);
console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs (other work on the machine shows here)`);
