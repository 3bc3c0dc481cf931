// npm run bench:clip — a 10-minute clip of 1080p30 8 Mbit/s across two recordings: pancake's /api/clip.mp4 vs ffmpeg -ss … -t … -c copy on the same files.
//
// The two recordings (10 minutes each, 20260101-1000.h264 and -1010.h264) are the benchmarks'
// 20 s camera stream repeated, made once in .bench/ and hard-linked into a fresh directory per run,
// so pancake finds them at start-up and maps them once (as it would files copied onto a Pi).
// pancake serves the clip 10:05:00–10:15:00 (18000 frames) over HTTP to a file; ffmpeg cuts the
// same range from the same bytes to a file. Each is run five times, alternating, after one
// warm-up each (so both read from the page cache); the medians are printed. pancake's RSS growth
// is its VmHWM after the request (reset just before it) minus its RSS before it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { DIST } from '../test/helpers/env.js';
import { BENCH_CACHE, CLIP_1080P, CLIP_SECONDS, ensure1080pClip } from './lib/clip.js';
import { measure, printTable } from './lib/measure.js';

const FIRST_BYTE_TARGET_S = 0.3;
const TOTAL_TARGET_RATIO = 1.0;
const RSS_TARGET_MB = 20;
const FILE_SECONDS = 600;
const RUNS = 5;
const SOURCE_DIR = path.join(BENCH_CACHE, 'clip-recordings');
const NAMES = ['20260101-1000.h264', '20260101-1010.h264'];
const FILE_START = [new Date(2026, 0, 1, 10, 0, 0).getTime(), new Date(2026, 0, 1, 10, 10, 0).getTime()];
const CLIP_FROM = FILE_START[0]! + 300_000;
const CLIP_SECONDS_WANTED = 600;

/** The two 10-minute recordings, made once from the 20 s stream (it starts with an IDR and its parameter sets, so copies join cleanly). */
function ensureRecordings(): void {
  ensure1080pClip();
  fs.mkdirSync(SOURCE_DIR, { recursive: true });
  const piece = fs.readFileSync(CLIP_1080P);
  for (const [i, name] of NAMES.entries()) {
    const file = path.join(SOURCE_DIR, name);
    if (!fs.existsSync(file) || fs.statSync(file).size !== piece.length * (FILE_SECONDS / CLIP_SECONDS)) {
      console.log(`making ${file} (${FILE_SECONDS / CLIP_SECONDS} copies of the ${CLIP_SECONDS} s stream, once) …`);
      const fd = fs.openSync(`${file}.tmp`, 'w');
      for (let k = 0; k < FILE_SECONDS / CLIP_SECONDS; k++) fs.writeSync(fd, piece);
      fs.closeSync(fd);
      fs.renameSync(`${file}.tmp`, file);
    }
    // Modified at its last frame, as a recording is: pancake tells the rate of a found file from it.
    const end = new Date(FILE_START[i]! + FILE_SECONDS * 1000);
    fs.utimesSync(file, end, end);
  }
}

function frames(file: string): number {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface PancakeRun {
  firstByte: number;
  total: number;
  rssGrowth: number;
  frames: number;
}

/** GET the clip into a file; times to the first byte and to the end. */
function fetchClip(port: number, pid: number, out: string): Promise<PancakeRun> {
  const query = `start=${encodeURIComponent(new Date(CLIP_FROM).toISOString())}&duration=${CLIP_SECONDS_WANTED}`;
  const before = rssMb(pid, 'VmRSS');
  // Reset the high-water mark: what the request adds is what it leaves at its peak.
  fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: `/api/clip.mp4?${query}` }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`clip: HTTP ${res.statusCode}`));
      let firstByte = NaN;
      const file = fs.createWriteStream(out);
      res.once('data', () => (firstByte = (performance.now() - t0) / 1000));
      res.pipe(file);
      file.on('finish', () => {
        const total = (performance.now() - t0) / 1000;
        resolve({ firstByte, total, rssGrowth: rssMb(pid, 'VmHWM') - before, frames: Number(res.headers['x-clip-frames']) });
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

async function ffmpegClip(dir: string, out: string): Promise<number> {
  const input = `concat:${NAMES.map((n) => path.join(dir, n)).join('|')}`;
  // -ss after -i: a raw .h264 has no index to seek in (before -i, ffmpeg 5 writes an empty file), so ffmpeg reads up to the start.
  const m = await measure('ffmpeg', ['-v', 'error', '-y', '-f', 'h264', '-framerate', '30', '-i', input,
    '-ss', String((CLIP_FROM - FILE_START[0]!) / 1000), '-t', String(CLIP_SECONDS_WANTED), '-c', 'copy', '-f', 'mp4', out]);
  if (m.status !== 0) throw new Error(`ffmpeg failed: ${m.stderr}`);
  return m.wall;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

ensureRecordings();
const run = fs.mkdtempSync(path.join(BENCH_CACHE, 'clip-run-'));
const dir = path.join(run, 'h264');
fs.mkdirSync(path.join(dir, '.pancake'), { recursive: true });
for (const name of NAMES) fs.linkSync(path.join(SOURCE_DIR, name), path.join(dir, name));
// Continuous recording paused before the start, so the test card pancake runs on writes nothing here.
fs.writeFileSync(path.join(dir, '.pancake', 'recording-switch.json'), '{"continuous": false}\n');

const child = (await import('node:child_process')).spawn(process.execPath,
  [path.join(DIST, 'pancake', 'main.js'), '--camera', 'test', '--record-continuous', dir, '--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
let log = '';
child.stdout.on('data', (d: Buffer) => (log += d.toString()));
child.stderr.on('data', (d: Buffer) => (log += d.toString()));
try {
  const port = await new Promise<number>((resolve, reject) => {
    const t = setInterval(() => {
      const m = /web: live view on http:\/\/127\.0\.0\.1:(\d+)\//.exec(log);
      if (m && log.includes('recordings: mapped 2 recording(s)')) {
        clearInterval(t);
        resolve(Number(m[1]));
      }
      if (child.exitCode !== null) reject(new Error(`pancake exited:\n${log}`));
    }, 50);
  });
  console.log(`pancake mapped the two recordings (${NAMES.length} × ${(fs.statSync(path.join(dir, NAMES[0]!)).size / 1e6).toFixed(0)} MB) and serves on port ${port}`);
  const ours: PancakeRun[] = [];
  const peer: number[] = [];
  const outOurs = path.join(run, 'pancake.mp4');
  const outPeer = path.join(run, 'ffmpeg.mp4');
  await fetchClip(port, child.pid!, outOurs);
  await ffmpegClip(dir, outPeer);
  for (let i = 0; i < RUNS; i++) {
    ours.push(await fetchClip(port, child.pid!, outOurs));
    peer.push(await ffmpegClip(dir, outPeer));
  }
  const oursFrames = frames(outOurs);
  const peerFrames = frames(outPeer);
  const ourTotal = median(ours.map((r) => r.total));
  const peerTotal = median(peer);
  const firstByte = median(ours.map((r) => r.firstByte));
  const rss = Math.max(...ours.map((r) => r.rssGrowth));
  console.log(`\n10-minute clip of 1080p30 ~8 Mbit/s across two files (median of ${RUNS}; output ${(fs.statSync(outOurs).size / 1e6).toFixed(0)} MB)`);
  printTable([
    ['', 'first byte s', 'total s', 'frames (ffprobe)', 'RSS growth MB'],
    ['pancake /api/clip.mp4 (fMP4, HTTP)', firstByte, ourTotal, oursFrames, rss],
    ['ffmpeg -i … -ss 300 -t 600 -c copy (mp4)', '—', peerTotal, peerFrames, '—'],
  ]);
  const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  console.log(`\ntargets: first byte ≤ ${FIRST_BYTE_TARGET_S} s: ${firstByte.toFixed(3)} s, ${verdict(firstByte <= FIRST_BYTE_TARGET_S)}; ` +
    `total ≤ ${TOTAL_TARGET_RATIO}× ffmpeg: ${(ourTotal / peerTotal).toFixed(2)}×, ${verdict(ourTotal <= TOTAL_TARGET_RATIO * peerTotal)}; ` +
    `RSS growth ≤ ${RSS_TARGET_MB} MB: ${rss.toFixed(1)} MB, ${verdict(rss <= RSS_TARGET_MB)}`);
  if (ours.some((r) => r.frames !== oursFrames)) console.log(`note: X-Clip-Frames said ${ours[0]!.frames}, ffprobe counted ${oursFrames}`);
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('close', r));
  fs.rmSync(run, { recursive: true, force: true });
}
