// npm run bench:rtsp — pancake recording an RTSP camera (its Node process and its ffmpeg ingest child) versus `ffmpeg -rtsp_transport tcp -c copy -f segment`.
//
// One RTSP camera (GStreamer's rtsp-server, shared media) serves bench:record's 1920x1080 30 fps
// ~8 Mbit/s H.264 clip in real time, looped. Both recorders pull that one stream over RTSP/TCP at the
// same time: (a) pancake --camera rtsp://… --record-continuous DIR --emit SOCKET, with an event sink
// that acks as postproc does, and (b) ffmpeg segmenting into raw .h264 files (what pancake writes).
// WARMUP s after both wrote their first bytes, CPU time and written bytes are sampled for both at
// the same instants, and again BENCH_SECONDS (60) s later; peak RSS (VmHWM) is read at the end of
// that window. A third recorder is the runtime's floor: a bare Node process that spawns the same
// ffmpeg ingest as pancake (the same argv) and writes its pipe to one file in 0.5 s batches, nothing
// else; pancake's cost over it is what pancake itself adds. pancake's CPU is its whole tree: the Node process, its live ffmpeg children and any
// reaped ones (cutime). The camera's own CPU is shown apart and counted for neither. Exit 1 when a
// recorder failed to record (wrote not about bitrate × window, exited, or restarted its ffmpeg).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/common/paths.js';
import { CLIP_1080P, ensure1080pClip } from './lib/clip.js';
import { startBenchEventSink } from './lib/event-sink.js';
import { printTable } from './lib/measure.js';
import { childrenNamed, processCpuSeconds, processPeakRssMb, reapedChildrenCpuSeconds, recordedBytes } from './lib/proc.js';
import { startRtspFileCamera } from './lib/rtsp-camera.js';
import { buildRtspArgs } from '../src/pancake/camera/rtsp.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
/**
 * Seconds after both recorders wrote their first bytes before the measured window opens. ffmpeg
 * (either one) first reads a few seconds of the stream to probe it (up to analyzeduration, 5 s) and
 * then writes them in a burst: that must fall before the window, or the window sees too much video.
 */
const WARMUP = 5;
/** The longest a recorder may take to write its first bytes. */
const FIRST_BYTES_LIMIT_MS = 30_000;
const CPU_RATIO_TARGET = 1.5;
/** Not a target of the issue: what pancake adds over the bare Node reader (issue 16 proposes ≤ 1.25 for bench:record). */
const FLOOR_RATIO_SHOWN = 1.25;
const RSS_TARGET_MB = 80;
/** Written bytes in the window may differ this much from the stream's bitrate × window (a GOP is ~1/30 of 60 s). */
const BYTES_TOLERANCE = 0.1;
const STOP_LIMIT_MS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resident MB now that are anonymous (the process's own) and file-backed (mostly shared libraries, shared by every ffmpeg). */
function residentSplitMb(pid: number): string {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return `${(kb('RssAnon') / 1024).toFixed(1)} + ${(kb('RssFile') / 1024).toFixed(1)}`;
}

/** A recorder under measurement: its process, where it writes, and the bounded tail of what it printed. */
interface Recorder {
  label: string;
  child: ChildProcess;
  dir: string;
  output: () => string;
  /** Lines it printed so far (stdout and stderr): a quiet recorder prints a handful. */
  lines: () => number;
  exited: () => string | undefined;
}

function startRecorder(label: string, command: string, args: string[], dir: string): Recorder {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let lines = 0;
  let exit: string | undefined;
  const keep = (d: Buffer): void => {
    const text = d.toString();
    output = (output + text).slice(-8000);
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('error', (err) => (exit = `could not start: ${err.message}`));
  child.on('exit', (code, signal) => (exit = `exited (${code ?? signal})`));
  return { label, child, dir, output: () => output, lines: () => lines, exited: () => exit };
}

async function stop(r: Recorder): Promise<void> {
  if (r.exited() !== undefined) return;
  const gone = new Promise((resolve) => r.child.once('close', resolve));
  r.child.kill('SIGTERM');
  const timer = setTimeout(() => r.child.kill('SIGKILL'), STOP_LIMIT_MS);
  await gone;
  clearTimeout(timer);
}

/** CPU seconds so far of each part that is measured, at one instant. */
interface Sample {
  at: number;
  node: number;
  ingest: number;
  peer: number;
  floor: number;
  camera: number;
  ingestPids: number[];
  pancakeBytes: number;
  peerBytes: number;
  floorBytes: number;
}

// The floor: read the ingest's pipe and write it out, batched as pancake batches its writes. CommonJS
// because `node -e` runs it so; arguments: the output file, then ffmpeg's argv.
const BARE_READER = `
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const [out, ...args] = process.argv.slice(1);
const fd = fs.openSync(out, 'w');
let chunks = [];
const ingest = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'ignore'] });
ingest.stdout.on('data', (chunk) => chunks.push(chunk));
ingest.on('exit', (code, signal) => { console.error('ffmpeg exited (' + (code ?? signal) + ')'); process.exit(1); });
setInterval(() => { if (chunks.length) { fs.writeSync(fd, Buffer.concat(chunks)); chunks = []; } }, 500);
process.on('SIGTERM', () => { ingest.removeAllListeners('exit'); ingest.kill('SIGTERM'); process.exit(0); });
`;

/** Frames (access units) in the .h264 files of `dir`, as ffprobe's parser counts them; NaN when one is unreadable. */
function framesIn(dir: string): number {
  let frames = 0;
  for (const f of fs.readdirSync(dir).filter((name) => name.endsWith('.h264'))) {
    const r = spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', path.join(dir, f)], { encoding: 'utf8' });
    frames += r.status === 0 ? Number(r.stdout.trim()) : NaN;
  }
  return frames;
}

const build = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('bench:rtsp: the build failed (npx tsc -p tsconfig.build.json)');
  process.exit(1);
}
const bitrate = ensure1080pClip();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-rtsp-'));
const pancakeDir = path.join(work, 'pancake');
const peerDir = path.join(work, 'ffmpeg');
const floorDir = path.join(work, 'bare-node');
for (const dir of [pancakeDir, peerDir, floorDir]) fs.mkdirSync(dir);

const camera = await startRtspFileCamera(CLIP_1080P);
const sinkName = `bench-rtsp-${process.pid}`;
const sink = await startBenchEventSink(sinkName);
console.log(`camera: ${camera.url}, 1920x1080 30 fps, ${bitrate.toFixed(2)} Mbit/s H.264 (GOP 1 s, no B-frames), packetized by GStreamer without re-encoding, one shared live media`);
console.log(`all three recorders pull the one shared stream at the same time; the window opens ${WARMUP} s after both wrote their first bytes and lasts ${SECONDS} s`);

// Side by side, as bench:record: both see the same bytes at the same moments, and whatever else
// runs on this (shared) machine weighs on both alike. Both split at the same clock marks (15 min).
const pancake = startRecorder('pancake', process.execPath, [path.join(PROJECT_ROOT, 'dist', 'pancake', 'main.js'),
  '--camera', camera.url, '--resolution', '1920', '1080', '--fps', '30', '--host', '127.0.0.1', '--port', '0',
  '--record-continuous', pancakeDir, '--emit', sinkName], pancakeDir);
// Raw .h264 segments: the same bytes pancake writes (Annex B), so neither side pays for a container
// (mp4 adds an index and a moov, mpegts 188-byte packets). -nostats as pancake's own ffmpeg child.
const peer = startRecorder('ffmpeg', 'ffmpeg', ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', camera.url,
  '-c', 'copy', '-f', 'segment', '-segment_time', '900', '-segment_atclocktime', '1', '-reset_timestamps', '1', path.join(peerDir, '%03d.h264')], peerDir);
const floor = startRecorder('bare node', process.execPath, ['-e', BARE_READER, path.join(floorDir, 'all.h264'),
  ...buildRtspArgs({ url: camera.url, transport: 'tcp', timeoutSeconds: 10 })], floorDir);
const recorders = [pancake, peer, floor];

const sample = (): Sample => {
  const ingestPids = childrenNamed(pancake.child.pid!, 'ffmpeg');
  return {
    at: performance.now(),
    node: processCpuSeconds(pancake.child.pid!),
    ingest: ingestPids.reduce((sum, pid) => sum + processCpuSeconds(pid), reapedChildrenCpuSeconds(pancake.child.pid!)),
    peer: processCpuSeconds(peer.child.pid!),
    floor: [floor.child.pid!, ...childrenNamed(floor.child.pid!, 'ffmpeg')].reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
    camera: processCpuSeconds(camera.pid),
    ingestPids,
    pancakeBytes: recordedBytes(pancakeDir),
    peerBytes: recordedBytes(peerDir),
    floorBytes: recordedBytes(floorDir),
  };
};

/** Why the run failed to measure a working recording; empty when both recorded. */
const problems: string[] = [];
try {
  const started = performance.now();
  const firstBytes = new Map<Recorder, number>();
  while (firstBytes.size < recorders.length) {
    for (const r of recorders) {
      if (r.exited() !== undefined) throw new Error(`${r.label} ${r.exited()} before recording:\n${r.output()}`);
      if (!firstBytes.has(r) && recordedBytes(r.dir) > 0) firstBytes.set(r, (performance.now() - started) / 1000);
    }
    if (performance.now() - started > FIRST_BYTES_LIMIT_MS) {
      throw new Error(recorders.filter((r) => !firstBytes.has(r)).map((r) => `${r.label} wrote nothing in ${FIRST_BYTES_LIMIT_MS / 1000} s:\n${r.output()}`).join('\n'));
    }
    await sleep(100);
  }
  await sleep(WARMUP * 1000);
  const first = sample();
  await sleep(SECONDS * 1000);
  const gone = recorders.filter((r) => r.exited() !== undefined);
  if (gone.length) throw new Error(gone.map((r) => `${r.label} ${r.exited()} during the run:\n${r.output()}`).join('\n'));
  const last = sample();
  if (last.ingestPids.length === 0) throw new Error(`pancake has no ffmpeg ingest child at the end of the window:\n${pancake.output()}`);
  const rss = {
    node: processPeakRssMb(pancake.child.pid!),
    ingest: Math.max(...last.ingestPids.map(processPeakRssMb)),
    peer: processPeakRssMb(peer.child.pid!),
    floor: [floor.child.pid!, ...childrenNamed(floor.child.pid!, 'ffmpeg')].reduce((sum, pid) => sum + processPeakRssMb(pid), 0),
    camera: processPeakRssMb(camera.pid),
  };
  const resident = { node: residentSplitMb(pancake.child.pid!), ingest: residentSplitMb(last.ingestPids[0]!), peer: residentSplitMb(peer.child.pid!) };
  await Promise.all(recorders.map(stop));
  sink.close();

  const window = (last.at - first.at) / 1000;
  const perSecond = (key: 'node' | 'ingest' | 'peer' | 'floor' | 'camera'): number => (last[key] - first[key]) / window;
  const expectedMb = (bitrate * window) / 8;
  const written = {
    pancake: (last.pancakeBytes - first.pancakeBytes) / 1e6,
    peer: (last.peerBytes - first.peerBytes) / 1e6,
    floor: (last.floorBytes - first.floorBytes) / 1e6,
  };
  const recorded = (label: string, mb: number): string => {
    const ok = Math.abs(mb / expectedMb - 1) <= BYTES_TOLERANCE;
    if (!ok) problems.push(`${label} wrote ${mb.toFixed(1)} MB in the window, expected ${expectedMb.toFixed(1)} MB ± ${BYTES_TOLERANCE * 100} %`);
    return `${mb.toFixed(1)} ${ok ? 'ok' : 'FAILED'}`;
  };
  const tree = perSecond('node') + perSecond('ingest');
  const restarts = new Set([...first.ingestPids, ...last.ingestPids]).size - 1;

  console.log('');
  printTable([
    ['process', 'CPU-s per s of video', 'CPU-s before the window', 'peak RSS MB', 'RSS at end: anon + file MB', 's to first bytes', `MB written in the window (expect ${expectedMb.toFixed(1)})`, 'frames in files'],
    ['pancake tree: node + its ffmpeg ingest', tree, first.node + first.ingest, `${(rss.node + rss.ingest).toFixed(1)} (sum of both peaks)`, '', firstBytes.get(pancake)!, recorded('pancake', written.pancake), framesIn(pancakeDir)],
    ['  pancake node process', perSecond('node'), first.node, rss.node, resident.node, '', '', ''],
    ['  its ffmpeg -c copy -f h264 pipe:1', perSecond('ingest'), first.ingest, rss.ingest, resident.ingest, '', '', ''],
    ['ffmpeg -c copy -f segment (.h264)', perSecond('peer'), first.peer, rss.peer, resident.peer, firstBytes.get(peer)!, recorded('ffmpeg', written.peer), framesIn(peerDir)],
    ['bare node reader + the same ffmpeg (floor)', perSecond('floor'), first.floor, `${rss.floor.toFixed(1)} (sum of both peaks)`, '', firstBytes.get(floor)!, recorded('bare node', written.floor), framesIn(floorDir)],
    ['camera (GStreamer, not counted)', perSecond('camera'), first.camera, rss.camera, '', '', '', ''],
  ]);
  const ratio = tree / perSecond('peer');
  const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  console.log('');
  console.log(`CPU ratio pancake tree / ffmpeg: ${ratio.toFixed(2)} (target ≤ ${CPU_RATIO_TARGET}: ${verdict(ratio <= CPU_RATIO_TARGET)})`);
  const overFloor = tree / perSecond('floor');
  console.log(`CPU ratio pancake tree / bare node floor: ${overFloor.toFixed(2)} (what pancake adds over the runtime's floor; ${FLOOR_RATIO_SHOWN} is the form proposed in issue 16: ${verdict(overFloor <= FLOOR_RATIO_SHOWN)}); floor / ffmpeg: ${(perSecond('floor') / perSecond('peer')).toFixed(2)}`);
  console.log(`pancake peak RSS, node process: ${rss.node.toFixed(1)} MB (target ≤ ${RSS_TARGET_MB} MB: ${verdict(rss.node <= RSS_TARGET_MB)}); tree incl. its ffmpeg child: ${(rss.node + rss.ingest).toFixed(1)} MB`);
  console.log(`window ${window.toFixed(1)} s; pancake's ffmpeg restarts in the window: ${restarts}; events acked: ${[...sink.kinds].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none'}; lines printed: pancake ${pancake.lines()}, ffmpeg ${peer.lines()}, bare node ${floor.lines()}`);
  console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs (other work on the machine shows here)`);
  if (restarts > 0) problems.push(`pancake restarted its ffmpeg ingest ${restarts} time(s) in the window`);
} catch (err) {
  problems.push((err as Error).message);
} finally {
  await Promise.all(recorders.map(stop));
  sink.close();
  await camera.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
if (problems.length) {
  for (const problem of problems) console.error(`bench:rtsp: ${problem}`);
  process.exit(1);
}
