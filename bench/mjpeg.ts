// npm run bench:mjpeg — pancake recording an MJPEG camera (its Node process and its ffmpeg encoder child) versus `ffmpeg -f mjpeg -i URL -c:v libx264 -preset veryfast -f segment`, and what one JPEG live viewer adds.
//
// One camera, mjpg-streamer (../shared/tools/mjpg-streamer, see its README.txt), serves 100
// testsrc2 JPEGs of 640x480 looped at 10 fps (input_file.so -d 0.1). Both recorders read it at the
// same time over HTTP: (a) pancake --camera http://…/?action=stream --fps 10 --record-continuous DIR
// --emit SOCKET with an event sink that acks, and (b) ffmpeg encoding the same stream to raw .h264
// segments (what pancake writes). WARMUP s after both wrote their first bytes, CPU time is sampled
// for both at the same instants and again BENCH_SECONDS (60) s later. pancake's CPU is its whole
// tree: the Node process, its live ffmpeg children and reaped ones (cutime). Then one JPEG live
// viewer (a websocket in mode=jpeg that acks every picture, as the page does) connects and, after
// VIEWER_WARMUP s, watches for VIEWER_SECONDS (20) s, VIEWER_ROUNDS (3) times with a window of as
// long without it before and after each: its cost is pancake's Node CPU per second with it minus
// the mean of the two windows around it, averaged over the rounds (the pictures are the camera's
// JPEGs, so nothing is decoded). The camera's CPU is shown apart.
// Exit 1 when a recorder failed (exited, wrote nothing in the window, or the viewer got no pictures).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { PROJECT_ROOT } from '../src/common/paths.js';
import { startBenchEventSink } from './lib/event-sink.js';
import { printTable } from './lib/measure.js';
import { childrenNamed, processCpuSeconds, processPeakRssMb, reapedChildrenCpuSeconds, recordedBytes } from './lib/proc.js';
import { freePort } from '../test/helpers/net.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const VIEWER_SECONDS = Number(process.env.VIEWER_SECONDS ?? 20);
/** Windows with the viewer, each between two without it. */
const VIEWER_ROUNDS = Number(process.env.VIEWER_ROUNDS ?? 3);
const WARMUP = 5;
/** The viewer's first seconds (its connection, the first use of the websocket paths) are left out of its cost. */
const VIEWER_WARMUP = 3;
const FIRST_BYTES_LIMIT_MS = 30_000;
const CPU_RATIO_TARGET = 1.2;
const VIEWER_TARGET = 0.005;
const STOP_LIMIT_MS = 10_000;
const MJPG_STREAMER = path.resolve(PROJECT_ROOT, '..', 'shared', 'tools', 'mjpg-streamer', 'mjpg_streamer');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Recorder {
  label: string;
  child: ChildProcess;
  dir: string;
  output: () => string;
  exited: () => string | undefined;
}

function startRecorder(label: string, command: string, args: string[], dir: string): Recorder {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exit: string | undefined;
  const keep = (d: Buffer): void => {
    output = (output + d.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('error', (err) => (exit = `could not start: ${err.message}`));
  child.on('exit', (code, signal) => (exit = `exited (${code ?? signal})`));
  return { label, child, dir, output: () => output, exited: () => exit };
}

async function stop(r: { child: ChildProcess; exited: () => string | undefined }): Promise<void> {
  if (r.exited() !== undefined) return;
  const gone = new Promise((resolve) => r.child.once('close', resolve));
  r.child.kill('SIGTERM');
  const timer = setTimeout(() => r.child.kill('SIGKILL'), STOP_LIMIT_MS);
  await gone;
  clearTimeout(timer);
}

/** Resolves once something accepts connections on 127.0.0.1:`port` (mjpg-streamer serves many clients). */
async function waitForPort(port: number, limitMs: number): Promise<void> {
  const until = Date.now() + limitMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${limitMs} ms`);
    await sleep(100);
  }
}

/** A JPEG live viewer that acks every picture; counts pictures and bytes. */
function startJpegViewer(base: string): { pictures: () => number; close: () => void } {
  let pictures = 0;
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/websocket?mode=jpeg`);
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    pictures++;
    ws.send(JSON.stringify({ ack: (data as Buffer).readUInt32BE(4) }));
  });
  ws.on('error', () => {});
  return { pictures: () => pictures, close: () => ws.terminate() };
}

if (!fs.existsSync(MJPG_STREAMER)) {
  console.error(`bench:mjpeg: ${MJPG_STREAMER} not found (see the project's notes on building mjpg-streamer)`);
  process.exit(1);
}
const build = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('bench:mjpeg: the build failed (npx tsc -p tsconfig.build.json)');
  process.exit(1);
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-mjpeg-'));
const jpegDir = path.join(work, 'jpegs');
const pancakeDir = path.join(work, 'pancake');
const peerDir = path.join(work, 'ffmpeg');
for (const dir of [jpegDir, pancakeDir, peerDir]) fs.mkdirSync(dir);
// ffmpeg -f lavfi -i testsrc2=size=640x480:rate=10 -frames:v 100 -q:v 5 jpegs/%03d.jpg
const made = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=10', '-frames:v', '100', '-q:v', '5', path.join(jpegDir, '%03d.jpg')], { encoding: 'utf8' });
if (made.status !== 0) {
  console.error(`bench:mjpeg: ffmpeg could not make the JPEGs: ${made.stderr}`);
  process.exit(1);
}
const jpegBytes = fs.readdirSync(jpegDir).reduce((sum, f) => sum + fs.statSync(path.join(jpegDir, f)).size, 0);

const port = await freePort();
const camera = spawn(MJPG_STREAMER, ['-i', `input_file.so -f ${jpegDir} -d 0.1 -e`, '-o', `output_http.so -p ${port} -l 127.0.0.1`], { stdio: 'ignore' });
let cameraExit: string | undefined;
camera.on('exit', (code, signal) => (cameraExit = `exited (${code ?? signal})`));
const url = `http://127.0.0.1:${port}/?action=stream`;
const sinkName = `bench-mjpeg-${process.pid}`;
const sink = await startBenchEventSink(sinkName);
const recorders: Recorder[] = [];
const problems: string[] = [];
try {
  await waitForPort(port, 20_000);
  console.log(`camera: mjpg-streamer ${url}, 640x480 JPEGs (${Math.round(jpegBytes / 100 / 1024)} KB each) at about 10 fps`);
  const pancake = startRecorder('pancake', process.execPath, [path.join(PROJECT_ROOT, 'dist', 'pancake', 'main.js'),
    '--camera', url, '--fps', '10', '--host', '127.0.0.1', '--port', '0', '--record-continuous', pancakeDir, '--emit', sinkName], pancakeDir);
  const peer = startRecorder('ffmpeg', 'ffmpeg', ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-f', 'mjpeg', '-i', url,
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-f', 'segment', '-segment_time', '900', '-segment_atclocktime', '1', '-reset_timestamps', '1', path.join(peerDir, '%03d.h264')], peerDir);
  recorders.push(pancake, peer);

  const started = performance.now();
  const firstBytes = new Map<Recorder, number>();
  while (firstBytes.size < recorders.length) {
    for (const r of recorders) {
      if (r.exited() !== undefined) throw new Error(`${r.label} ${r.exited()} before recording:\n${r.output()}`);
      if (!firstBytes.has(r) && recordedBytes(r.dir) > 0) firstBytes.set(r, (performance.now() - started) / 1000);
    }
    if (performance.now() - started > FIRST_BYTES_LIMIT_MS) throw new Error(`a recorder wrote nothing in ${FIRST_BYTES_LIMIT_MS / 1000} s:\n${recorders.map((r) => r.output()).join('\n')}`);
    await sleep(100);
  }
  const base = /web: live view on (http:\/\/127\.0\.0\.1:\d+)\//.exec(pancake.output())?.[1];
  if (!base) throw new Error(`no live view address in pancake's log:\n${pancake.output()}`);
  await sleep(WARMUP * 1000);

  const sample = () => {
    const encoders = childrenNamed(pancake.child.pid!, 'ffmpeg');
    return {
      at: performance.now(),
      node: processCpuSeconds(pancake.child.pid!),
      encoder: encoders.reduce((sum, pid) => sum + processCpuSeconds(pid), reapedChildrenCpuSeconds(pancake.child.pid!)),
      encoders,
      peer: processCpuSeconds(peer.child.pid!),
      camera: processCpuSeconds(camera.pid!),
      pancakeBytes: recordedBytes(pancakeDir),
      peerBytes: recordedBytes(peerDir),
    };
  };
  const first = sample();
  await sleep(SECONDS * 1000);
  const second = sample();
  // The viewer's cost is small next to the drift of pancake's own CPU between windows far apart
  // (GC, the machine's other work), so each window with the viewer is compared with the windows
  // without it just before and after, VIEWER_ROUNDS times: off, on, off, on, …, off.
  type Sample = ReturnType<typeof sample>;
  const offWindows: [Sample, Sample][] = [];
  const onWindows: { from: Sample; to: Sample; pictures: number }[] = [];
  const offWindow = async (): Promise<void> => {
    const from = sample();
    await sleep(VIEWER_SECONDS * 1000);
    offWindows.push([from, sample()]);
  };
  for (let round = 0; round < VIEWER_ROUNDS; round++) {
    await offWindow();
    const viewer = startJpegViewer(base);
    await sleep(VIEWER_WARMUP * 1000);
    const from = sample();
    await sleep(VIEWER_SECONDS * 1000);
    onWindows.push({ from, to: sample(), pictures: viewer.pictures() });
    viewer.close();
    await sleep(VIEWER_WARMUP * 1000);
  }
  await offWindow();
  const gone = recorders.filter((r) => r.exited() !== undefined);
  if (gone.length) throw new Error(gone.map((r) => `${r.label} ${r.exited()} during the run:\n${r.output()}`).join('\n'));
  if (cameraExit) throw new Error(`the camera ${cameraExit}`);
  const rss = { node: processPeakRssMb(pancake.child.pid!), encoder: Math.max(...second.encoders.map(processPeakRssMb)), peer: processPeakRssMb(peer.child.pid!) };
  await Promise.all(recorders.map(stop));

  const window = (second.at - first.at) / 1000;
  const rate = (a: typeof first, b: typeof first, key: 'node' | 'encoder' | 'peer' | 'camera'): number => (b[key] - a[key]) / ((b.at - a.at) / 1000);
  const offRates = offWindows.map(([a, b]) => rate(a, b, 'node'));
  const onRates = onWindows.map((w) => rate(w.from, w.to, 'node'));
  const roundCosts = onRates.map((on, i) => on - (offRates[i]! + offRates[i + 1]!) / 2);
  const viewerCost = roundCosts.reduce((sum, c) => sum + c, 0) / roundCosts.length;
  const pictures = onWindows.reduce((sum, w) => sum + w.pictures, 0);
  const viewerWindow = onWindows.reduce((sum, w) => sum + (w.to.at - w.from.at) / 1000, 0);
  const mean = (xs: number[]): number => xs.reduce((sum, x) => sum + x, 0) / xs.length;
  const tree = rate(first, second, 'node') + rate(first, second, 'encoder');
  const peerRate = rate(first, second, 'peer');
  const mb = (a: number, b: number): string => ((b - a) / 1e6).toFixed(2);
  if (second.pancakeBytes <= first.pancakeBytes) problems.push('pancake wrote nothing in the window');
  if (second.peerBytes <= first.peerBytes) problems.push('ffmpeg wrote nothing in the window');
  if (onWindows.some((w) => w.pictures === 0)) problems.push('the JPEG viewer got no pictures in a window');

  console.log('');
  printTable([
    ['process', 'CPU-s per s', 'peak RSS MB', 's to first bytes', 'MB written in the window'],
    ['pancake tree: node + its ffmpeg encoder', tree, (rss.node + rss.encoder).toFixed(1), firstBytes.get(pancake)!, mb(first.pancakeBytes, second.pancakeBytes)],
    ['  pancake node process', rate(first, second, 'node'), rss.node, '', ''],
    ['  its ffmpeg mpjpeg → libx264 veryfast zerolatency', rate(first, second, 'encoder'), rss.encoder, '', ''],
    ['ffmpeg -f mjpeg -i URL -c:v libx264 -preset veryfast -f segment', peerRate, rss.peer, firstBytes.get(peer)!, mb(first.peerBytes, second.peerBytes)],
    [`pancake node process, ${VIEWER_ROUNDS + 1} windows without a viewer (mean)`, mean(offRates), '', '', ''],
    [`pancake node process, ${VIEWER_ROUNDS} windows with one JPEG viewer (mean)`, mean(onRates), '', '', ''],
    ['camera (mjpg-streamer, not counted)', rate(first, second, 'camera'), '', '', ''],
  ]);
  const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  const ratio = tree / peerRate;
  console.log('');
  console.log(`CPU ratio pancake tree / ffmpeg: ${ratio.toFixed(2)} (target ≤ ${CPU_RATIO_TARGET}: ${verdict(ratio <= CPU_RATIO_TARGET)})`);
  console.log(`one JPEG viewer adds ${viewerCost.toFixed(4)} CPU-s per s to pancake's node process (target ≤ ${VIEWER_TARGET}: ${verdict(viewerCost <= VIEWER_TARGET)}); rounds: ${roundCosts.map((c) => c.toFixed(4)).join(', ')}; it got ${pictures} pictures in ${viewerWindow.toFixed(1)} s`);
  console.log(`windows: ${window.toFixed(1)} s recording; ${VIEWER_ROUNDS} × ${VIEWER_SECONDS} s with the viewer, each between two of ${VIEWER_SECONDS} s without; events acked: ${[...sink.kinds].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none'}`);
  console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs (other work on the machine shows here)`);
} catch (err) {
  problems.push((err as Error).message);
} finally {
  await Promise.all(recorders.map(stop));
  sink.close();
  await stop({ child: camera, exited: () => cameraExit });
  fs.rmSync(work, { recursive: true, force: true });
}
if (problems.length) {
  for (const problem of problems) console.error(`bench:mjpeg: ${problem}`);
  process.exit(1);
}
