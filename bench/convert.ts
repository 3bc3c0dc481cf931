// Benchmark: a 300 s 1080p30 ~8 Mbit/s H.264 recording converted to MP4 by the built-in converter, MP4Box (when installed) and ffmpeg.
//
//   npm run bench:convert                 # 300 s clip (300 MB), cached in .bench/, 3 rounds
//   npm run bench:convert -- --seconds 800  # an 800 MB clip: memory must not grow with the file
//   npm run bench:convert -- --seconds 60 --rounds 1
//
// Targets: the builtin's wall time ≤ 1.0x MP4Box's, its peak RSS ≤ 64 MB whatever the file's
// size, and every frame there with the exact duration. MP4Box is taken from PATH, else from
// ../shared/tools/gpac/MP4Box (a static GPAC build); without it the MP4Box rows are left out.
// The builtin fsyncs its output before it returns (as every converter postproc runs does); the
// row "MP4Box + fsync" adds that step to MP4Box (coreutils `sync FILE`), for a like-for-like view.
//
// The converters take turns, round after round, and the table shows each one's median round (by
// wall time): on a shared machine, write-back of the page cache makes single runs noisy.
// Each converter runs as its own process under bench/lib/measure.ts, so wall time, CPU time and
// peak RSS are those of the converter alone. Ours runs from the compiled dist/ (built first) via
// its small CLI, so neither tsx nor esbuild is in the measurement. The clip is like a Pi camera's:
// libx264, one IDR per second, SPS/PPS before every IDR, no B-frames.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOnPath } from '../src/common/find-on-path.js';
import { measure, printTable, type Measurement } from './lib/measure.js';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const CACHE = path.join(ROOT, '.bench');
const FPS = 30;
const SHARED_MP4BOX = path.join(ROOT, '..', 'shared', 'tools', 'gpac', 'MP4Box');
/** The targets (issue 16). */
const MAX_WALL_VS_MP4BOX = 1.0;
const MAX_RSS_MB = 64;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** The input clip, made once and cached: 1920x1080, 30 fps, ~8 Mbit/s, keyint 30, repeat-headers, no B-frames. */
function clip(seconds: number): string {
  const file = path.join(CACHE, `convert-1080p30-${seconds}s.h264`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(CACHE, { recursive: true });
  const partial = `${file}.partial`;
  console.log(`making ${path.relative(ROOT, file)} (once; about a third of real time on two cores) …`);
  const r = spawnSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=${FPS}:duration=${seconds}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '8M', '-maxrate', '8M', '-bufsize', '8M', '-pix_fmt', 'yuv420p',
    '-x264-params', `keyint=${FPS}:min-keyint=${FPS}:scenecut=0:bframes=0:repeat-headers=1`,
    '-f', 'h264', partial,
  ], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('ffmpeg could not make the clip');
  fs.renameSync(partial, file);
  return file;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function build(): void {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  if (!fs.existsSync(path.join(ROOT, 'dist/postproc/convert/cli.js'))) throw new Error(`build failed: ${r.stdout}${r.stderr}`);
}

/** Frames (packets, counted by demuxing; every video packet is one frame) and duration, per ffprobe. */
function probeOutput(file: string): { frames: number; duration: number } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets:format=duration', '-of', 'json', file], { encoding: 'utf8' });
  if (r.status !== 0) return { frames: NaN, duration: NaN };
  const j = JSON.parse(r.stdout) as { streams: { nb_read_packets: string }[]; format: { duration: string } };
  return { frames: Number(j.streams[0]?.nb_read_packets), duration: Number(j.format.duration) };
}

/** Reads a file once, in chunks, so every converter starts with it in the page cache. */
function warm(file: string): void {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  try {
    while (fs.readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    fs.closeSync(fd);
  }
}

interface Row {
  name: string;
  m: Measurement;
  frames: number;
  duration: number;
}

async function main(): Promise<void> {
  const seconds = arg('--seconds', 300);
  const input = clip(seconds);
  build();
  const expectedFrames = seconds * FPS;
  const inputFrames = probeOutput(input).frames;
  const out = fs.mkdtempSync(path.join(CACHE, 'out-'));
  warm(input);

  const runs: { name: string; cmd: string; args: string[]; output: string; env?: Record<string, string> }[] = [
    { name: 'builtin', cmd: process.execPath, args: [path.join(ROOT, 'dist/postproc/convert/cli.js'), input, path.join(out, 'builtin.mp4'), '--fps', String(FPS)], output: path.join(out, 'builtin.mp4') },
  ];
  const mp4box = findOnPath('MP4Box') ?? (isExecutable(SHARED_MP4BOX) ? SHARED_MP4BOX : undefined);
  if (mp4box) {
    const mp4boxArgs = ['-quiet', '-tmp', out, '-add', `${input}:fps=${FPS}`, '-new', path.join(out, 'mp4box.mp4')];
    runs.push({ name: 'MP4Box', cmd: mp4box, args: mp4boxArgs, output: path.join(out, 'mp4box.mp4') });
    // sh -c with the arguments as positional parameters: no file name is ever parsed by the shell.
    runs.push({ name: 'MP4Box + fsync', cmd: '/bin/sh', args: ['-c', '"$@" && sync "$OUT"', 'sh', mp4box, ...mp4boxArgs.slice(0, -1), path.join(out, 'mp4box-sync.mp4')], output: path.join(out, 'mp4box-sync.mp4'), env: { OUT: path.join(out, 'mp4box-sync.mp4') } });
  }
  runs.push({ name: 'ffmpeg -c copy', cmd: 'ffmpeg', args: ['-hide_banner', '-loglevel', 'error', '-y', '-framerate', String(FPS), '-i', input, '-c', 'copy', path.join(out, 'ffmpeg.mp4')], output: path.join(out, 'ffmpeg.mp4') });

  const rounds = arg('--rounds', 3);
  const results = new Map<string, Row[]>(runs.map((r) => [r.name, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      for (const run of runs) {
        const m = await measure(run.cmd, run.args, run.env ? { env: { ...process.env, ...run.env } } : {});
        if (m.status !== 0) throw new Error(`${run.name} failed (${m.status}): ${m.stderr.slice(-2000)}`);
        results.get(run.name)!.push({ name: run.name, m, ...probeOutput(run.output) });
        fs.rmSync(run.output, { force: true });
      }
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
  const rows = [...results.values()].map((all) => [...all].sort((a, b) => a.m.wall - b.m.wall)[Math.floor(all.length / 2)]!);
  const peakRss = (name: string) => Math.max(...results.get(name)!.map((r) => r.m.maxRssMb));

  const mb = fs.statSync(input).size / 1e6;
  console.log(`\ninput: ${path.relative(ROOT, input)}, ${mb.toFixed(0)} MB, ${inputFrames} frames (${seconds} s at ${FPS} fps, ${((mb * 8) / seconds).toFixed(1)} Mbit/s)\n`);
  console.log(`median of ${rounds} round(s); "max RSS" is the largest peak over all rounds\n`);
  printTable([
    ['converter', 'wall s', 'CPU s', 'peak RSS MB', 'max RSS MB', 'frames', 'duration s', 'exact'],
    ...rows.map((r) => [r.name, r.m.wall, r.m.cpu, r.m.maxRssMb, peakRss(r.name), r.frames, r.duration.toFixed(6),
      r.frames === expectedFrames && Math.abs(r.duration - seconds) < 1e-6 ? 'yes' : 'NO']),
  ]);
  const builtin = rows.find((r) => r.name === 'builtin')!;
  const ratio = (name: string) => {
    const other = rows.find((r) => r.name === name);
    if (!other) return undefined;
    const wall = builtin.m.wall / other.m.wall;
    console.log(`builtin / ${name}: wall ${wall.toFixed(2)}x, CPU ${(builtin.m.cpu / other.m.cpu).toFixed(2)}x, peak RSS ${(builtin.m.maxRssMb / other.m.maxRssMb).toFixed(2)}x`);
    return wall;
  };
  console.log('');
  const vsMp4box = ratio('MP4Box');
  ratio('MP4Box + fsync');
  ratio('ffmpeg -c copy');
  const exact = builtin.frames === expectedFrames && Math.abs(builtin.duration - seconds) < 1e-6;
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log(`target: builtin peak RSS ≤ ${MAX_RSS_MB} MB (max over all rounds ${peakRss('builtin').toFixed(1)} MB): ${verdict(peakRss('builtin') <= MAX_RSS_MB)}`);
  console.log(`target: builtin frames and duration exact: ${verdict(exact)}`);
  if (vsMp4box === undefined) console.log(`MP4Box not found (on PATH or at ${path.relative(ROOT, SHARED_MP4BOX)}): the wall-time target (≤ ${MAX_WALL_VS_MP4BOX}x MP4Box) cannot be checked`);
  else console.log(`target: builtin wall ≤ ${MAX_WALL_VS_MP4BOX}x MP4Box's (medians): ${verdict(vsMp4box <= MAX_WALL_VS_MP4BOX)}`);
}

await main();
