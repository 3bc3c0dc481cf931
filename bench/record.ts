// npm run bench:record — pancake's continuous recording versus `ffmpeg -c copy -f segment` on the same live stream.
//
// A 1920x1080 30 fps ~8 Mbit/s H.264 stream (generated once with ffmpeg into .bench/) is played in
// real time by the fake rpicam-vid for 5 s of warm-up plus 60 s (BENCH_SECONDS) into (a) pancake with --record-continuous
// and --emit, and (b) a second fake camera piped into ffmpeg segmenting with -c copy, at the same time. Each recorder's own
// CPU time (steady state, after the warm-up; start-up shown apart) and peak RSS are read from /proc;
// the camera is not counted.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/common/paths.js';
import { startBenchEventSink } from './lib/event-sink.js';
import { printTable } from './lib/measure.js';
import { CAMERA_ARGS_1080P as cameraArgs, CLIP_1080P as CLIP, ensure1080pClip, FAKE_CAMERA } from './lib/clip.js';
import { processCpuSeconds, processPeakRssMb } from './lib/proc.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Steady state: CPU from WARMUP s after start to WARMUP + SECONDS; start-up is reported on its own. */
const WARMUP = 5;

async function stopAfter(child: ChildProcess, pid: number): Promise<{ cpu: number; startup: number; rss: number }> {
  await sleep(WARMUP * 1000);
  const startup = processCpuSeconds(pid);
  await sleep(SECONDS * 1000);
  const cpu = processCpuSeconds(pid) - startup;
  const rss = processPeakRssMb(pid);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('close', r));
  return { cpu, startup, rss };
}

async function runPancake(dir: string): Promise<{ cpu: number; startup: number; rss: number; files: number }> {
  const name = `bench-record-${process.pid}`;
  const sink = await startBenchEventSink(name);
  const env = { ...process.env, PATH: `${path.dirname(FAKE_CAMERA)}:${process.env.PATH}`, FAKE_CAMERA_SOURCE: CLIP };
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'pancake', 'main.js'), '--resolution', '1920', '1080', '--fps', '30',
    '--record-continuous', dir, '--segment-minutes', '1', '--emit', name], { env, stdio: 'ignore' });
  const result = await stopAfter(child, child.pid!);
  sink.close();
  return { ...result, files: fs.readdirSync(dir).filter((f) => f.endsWith('.h264')).length };
}

async function runFfmpeg(dir: string): Promise<{ cpu: number; startup: number; rss: number; files: number }> {
  const camera = spawn(FAKE_CAMERA, cameraArgs, { env: { ...process.env, FAKE_CAMERA_SOURCE: CLIP }, stdio: ['ignore', 'pipe', 'ignore'] });
  const ffmpeg = spawn('ffmpeg', ['-v', 'error', '-f', 'h264', '-framerate', '30', '-i', 'pipe:0', '-c', 'copy', '-f', 'segment',
    '-segment_time', '60', '-reset_timestamps', '1', path.join(dir, '%03d.h264')], { stdio: [camera.stdout, 'ignore', 'inherit'] });
  const result = await stopAfter(ffmpeg, ffmpeg.pid!);
  camera.kill('SIGTERM');
  return { ...result, files: fs.readdirSync(dir).length };
}

const bitrate = ensure1080pClip();
spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-record-'));
fs.mkdirSync(path.join(work, 'pancake'));
fs.mkdirSync(path.join(work, 'ffmpeg'));
console.log(`stream: 1920x1080 30 fps, ${bitrate.toFixed(1)} Mbit/s, ${SECONDS} s real time, both recorders side by side, each fed by its own fake camera`);
// Both run at the same time, so whatever else the machine is doing weighs on both alike.
const [ours, peer] = await Promise.all([runPancake(path.join(work, 'pancake')), runFfmpeg(path.join(work, 'ffmpeg'))]);
fs.rmSync(work, { recursive: true, force: true });

printTable([
  ['recorder', 'CPU-s per s of video', `CPU-s in the first ${WARMUP} s (start-up)`, 'peak RSS MB', 'files'],
  ['pancake --record-continuous --emit', ours.cpu / SECONDS, ours.startup, ours.rss, ours.files],
  ['ffmpeg -c copy -f segment', peer.cpu / SECONDS, peer.startup, peer.rss, peer.files],
]);
console.log(`CPU ratio pancake/ffmpeg: ${(ours.cpu / peer.cpu).toFixed(2)} (target ≤ 1.0); pancake peak RSS ${ours.rss.toFixed(1)} MB (target ≤ 80 MB)`);
