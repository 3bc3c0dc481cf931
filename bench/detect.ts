// npm run bench:detect — what pancake --detect image costs (itself plus its ffmpeg decoder) next to ffmpeg decoding every frame.
//
// The 1920x1080 30 fps ~8 Mbit/s clip of bench:record (.bench/, generated once) is played in real
// time by fake cameras for 5 s of warm-up plus 60 s (BENCH_SECONDS), at the same time into:
//   (a) pancake --detect image --detect-resize 224 224 --detect-interval 1     (keyframes only)
//   (b) pancake --detect image --detect-resize 224 224 --detect-interval 0.033 (every frame)
//   (c) ffmpeg decoding every frame to 224x224 RGB (what (b) asks of its decoder), and
//   (d) the same with -skip_frame nokey, for reference.
// detect() is the shipped customize.ts (frame-difference motion). A pancake's CPU is its own
// (main thread, detect worker) plus its ffmpeg children, read from /proc; the cameras are not counted.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/common/paths.js';
import { printTable } from './lib/measure.js';
import { CAMERA_ARGS_1080P as cameraArgs, CLIP_1080P as CLIP, ensure1080pClip, FAKE_CAMERA } from './lib/clip.js';
import { childrenNamed, processCpuSeconds } from './lib/proc.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const WARMUP = 5;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CPU seconds of `pid` and its ffmpeg children, per child pid so that a restarted child is not lost. */
function treeCpu(pid: number): Map<number, number> {
  const cpu = new Map([[pid, processCpuSeconds(pid)]]);
  for (const child of childrenNamed(pid, 'ffmpeg')) cpu.set(child, processCpuSeconds(child));
  return cpu;
}

function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, seconds] of after) sum += seconds - (before.get(pid) ?? 0);
  return sum;
}

interface Result {
  cpu: number;
  decoderCpu: number;
  decoders: number;
}

async function measure(child: ChildProcess, onStop: () => void = () => {}): Promise<Result> {
  const pid = child.pid!;
  await sleep(WARMUP * 1000);
  const before = treeCpu(pid);
  await sleep(SECONDS * 1000);
  const after = treeCpu(pid);
  const decoders = [...after.keys()].filter((p) => p !== pid);
  const decoderCpu = decoders.reduce((sum, p) => sum + (after.get(p)! - (before.get(p) ?? 0)), 0);
  child.kill('SIGTERM');
  onStop();
  await new Promise((r) => child.once('close', r));
  return { cpu: cpuBetween(before, after), decoderCpu, decoders: decoders.length };
}

function runPancake(interval: string): Promise<Result> {
  const env = { ...process.env, PATH: `${path.dirname(FAKE_CAMERA)}:${process.env.PATH}`, FAKE_CAMERA_SOURCE: CLIP };
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'pancake', 'main.js'), '--resolution', '1920', '1080', '--fps', '30',
    '--detect', 'image', '--detect-resize', '224', '224', '--detect-interval', interval, '--port', '0'], { env, stdio: 'ignore' });
  return measure(child);
}

function runFfmpeg(extra: string[]): Promise<Result> {
  const camera = spawn(FAKE_CAMERA, cameraArgs, { env: { ...process.env, FAKE_CAMERA_SOURCE: CLIP }, stdio: ['ignore', 'pipe', 'ignore'] });
  const ffmpeg = spawn('ffmpeg', ['-v', 'error', ...extra, '-f', 'h264', '-i', 'pipe:0', '-vf', 'scale=224:224:flags=bilinear', '-pix_fmt', 'rgb24',
    '-fps_mode', 'passthrough', '-f', 'rawvideo', '-y', '/dev/null'], { stdio: [camera.stdout, 'ignore', 'inherit'] });
  return measure(ffmpeg, () => camera.kill('SIGTERM'));
}

const bitrate = ensure1080pClip();
spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
console.log(`stream: 1920x1080 30 fps, ${bitrate.toFixed(1)} Mbit/s, ${SECONDS} s after ${WARMUP} s of warm-up, all four side by side`);
// Side by side, so whatever else the machine is doing weighs on all alike.
const [everySecond, everyFrame, ffmpegAll, ffmpegKey] = await Promise.all([
  runPancake('1'), runPancake('0.033'), runFfmpeg([]), runFfmpeg(['-skip_frame', 'nokey']),
]);

printTable([
  ['decoding for detect(frame) at 224x224', 'CPU-s per s of video', 'of which ffmpeg', 'ffmpeg children'],
  ['pancake --detect image --detect-interval 1', everySecond.cpu / SECONDS, everySecond.decoderCpu / SECONDS, String(everySecond.decoders)],
  ['pancake --detect image --detect-interval 0.033', everyFrame.cpu / SECONDS, everyFrame.decoderCpu / SECONDS, String(everyFrame.decoders)],
  ['ffmpeg decoding every frame', ffmpegAll.cpu / SECONDS, ffmpegAll.cpu / SECONDS, '(itself)'],
  ['ffmpeg -skip_frame nokey (reference)', ffmpegKey.cpu / SECONDS, ffmpegKey.cpu / SECONDS, '(itself)'],
]);
console.log(`ratio pancake (interval 1) / ffmpeg every frame: ${(everySecond.cpu / ffmpegAll.cpu).toFixed(2)}`);
console.log(`ratio pancake (interval 0.033) / ffmpeg every frame: ${(everyFrame.cpu / ffmpegAll.cpu).toFixed(2)}`);
console.log(`ratio pancake interval 1 / interval 0.033: ${(everySecond.cpu / everyFrame.cpu).toFixed(2)}`);
