// pancake with an MJPEG camera end to end: the compiled pancake against mjpg-streamer on 127.0.0.1 (20 test-card JPEGs looped at about 10 fps).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { CameraEvent, FileEvent, PancakeEvent } from '../../src/common/events.js';
import { PROJECT_ROOT } from '../../src/common/paths.js';
import { HEADER_BYTES } from '../../src/pancake/web/protocol.js';
import { startsWithSpsPpsIdr } from '../helpers/annexb-facts.js';
import { decodeErrors, frameTypes, makeTmp, probe, removeTmp, runDist } from '../helpers/env.js';
import { startEventSink, withoutCameraEventsBefore, type EventSink } from '../helpers/event-sink.js';
import { MJPG_STREAMER, mjpgStreamerAvailable, startMjpgStreamer, type MjpgStreamerServer } from '../helpers/mjpeg-server.js';
import { startPancake, type PancakeProcess } from '../helpers/pancake-process.js';

const available = mjpgStreamerAvailable();
if (!available.ok) console.warn(`MJPEG end-to-end tests skipped: ${available.reason}`);
const liveDescribe = describe.skipIf(!available.ok);

const CONTROLLED = path.join(PROJECT_ROOT, 'test', 'fixtures', 'customize', 'controlled.ts');
/** Generous limits: every wait ends on an event or a log line; these only bound a broken run. */
const WAIT_MS = 40_000;
/** pancake records at --fps 10 (given: a loaded machine could measure mjpg-streamer's 10 fps as 9; mjpeg-postproc.e2e.test.ts covers the measured rate). */
const FRAME_MS = 100;

const isFile = (e: PancakeEvent): e is FileEvent => 'h264' in e;
const isCamera = (state: 'up' | 'down') => (e: PancakeEvent): e is CameraEvent => 'camera' in e && e.camera === state;
const kind = (e: PancakeEvent): string => (isFile(e) ? 'h264' : 'camera' in e ? `camera:${e.camera}` : 'other');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The live view's base URL, from pancake's log. */
async function liveUrl(p: PancakeProcess): Promise<string> {
  await p.waitForLog(/web: live view on http:\/\/127\.0\.0\.1:\d+\//, WAIT_MS);
  return /web: live view on (http:\/\/127\.0\.0\.1:\d+)\//.exec(p.log())![1]!;
}

/** The first `count` pictures of the JPEG live view (acknowledged as the page does), without their headers. */
function jpegViewFrames(base: string, count: number): Promise<Buffer[]> {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/websocket?mode=jpeg`);
  const frames: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`only ${frames.length} JPEG view frames within ${WAIT_MS} ms`));
    }, WAIT_MS);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const buf = data as Buffer;
      frames.push(buf.subarray(HEADER_BYTES));
      ws.send(JSON.stringify({ ack: buf.readUInt32BE(4) }));
      if (frames.length === count) {
        clearTimeout(timer);
        ws.close();
        resolve(frames);
      }
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Whether `jpeg` is byte for byte one of the camera's files. */
const served = (cam: { frames: Buffer[] }, jpeg: Buffer): boolean => cam.frames.some((f) => f.equals(jpeg));

/** Every recorded file: decodable from its first byte, as many frames as announced, one IDR a second. */
function expectCleanFile(event: FileEvent): void {
  expect(startsWithSpsPpsIdr(event.h264), `${event.h264} starts with SPS+PPS+IDR`).toBe(true);
  expect(decodeErrors(event.h264)).toBe('');
  expect(probe(event.h264).frames).toBe(event.frames);
  const types = frameTypes(event.h264);
  expect(types.filter((t) => t.key).length).toBe(Math.ceil(types.length / 10));
}

/** The frames cover the file's wall-clock span at 10 fps: the file plays at real speed. */
function expectRealSpeed(event: FileEvent): void {
  const spanMs = Date.parse(event.end) - Date.parse(event.start);
  expect(spanMs).toBeGreaterThan(1500);
  const expected = spanMs / FRAME_MS + 1;
  // The encoder's first pictures come out together (its start-up), and a loaded machine delays ticks
  // that the feed then catches up: a few frames either way, never a different speed.
  expect(Math.abs(event.frames! - expected)).toBeLessThanOrEqual(Math.max(5, expected * 0.1));
}

/** mjpg-streamer serving `frames` again on `port` (the camera back after a restart). */
function restartMjpgStreamer(port: number, frames: Buffer[], dir: string): ChildProcess {
  fs.mkdirSync(dir, { recursive: true });
  frames.forEach((f, i) => fs.writeFileSync(path.join(dir, `${String(i + 1).padStart(3, '0')}.jpg`), f));
  return spawn(MJPG_STREAMER, ['-i', `input_file.so -f ${dir} -d 0.1 -e`, '-o', `output_http.so -p ${port} -l 127.0.0.1`], { stdio: 'ignore' });
}

liveDescribe('an MJPEG camera (mjpg-streamer) recorded, shown and restarted', () => {
  let cam: MjpgStreamerServer;
  let again: ChildProcess | undefined;
  let tmp: string;
  let p: PancakeProcess;
  let sink: EventSink;
  let view: Buffer[] = [];
  let snapshot: { status: number; type: string | null; body: Buffer };
  let exit: Awaited<ReturnType<PancakeProcess['stop']>>;
  let stoppedAt = 0;
  const sinceStop = (): PancakeEvent[] => withoutCameraEventsBefore(sink.events, stoppedAt); // the outage this test makes

  beforeAll(async () => {
    cam = await startMjpgStreamer();
    tmp = makeTmp('pancake-mjpeg-e2e-');
    const dir = path.join(tmp, 'h264');
    fs.mkdirSync(dir);
    const socket = `pancake-mjpeg-${path.basename(tmp)}`;
    sink = await startEventSink(socket);
    p = startPancake(['--camera', cam.url('/?action=stream'), '--fps', '10', '--camera-timeout', '3', '--record-continuous', dir, '--emit', socket]);
    const base = await liveUrl(p);
    await p.waitForLog('record: writing', WAIT_MS);
    view = await jpegViewFrames(base, 5);
    const res = await fetch(`${base}/snapshot.jpg`);
    snapshot = { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
    await sleep(3000);

    // The camera goes away: down at once (the stream closed), reconnects refused until it is back.
    stoppedAt = Date.now();
    await cam.stop();
    await sink.waitFor(() => sinceStop().some(isCamera('down')), WAIT_MS);
    await sink.waitFor(isFile, WAIT_MS);
    await p.waitForLog(/connection refused by 127\.0\.0\.1:\d+[^\n]*restarting in/, WAIT_MS);
    again = restartMjpgStreamer(cam.port, cam.frames, path.join(tmp, 'jpegs'));
    await sink.waitFor(() => sinceStop().some(isCamera('up')), WAIT_MS);
    await p.waitForLog(/record: writing[^]*record: writing/, WAIT_MS); // the second file
    await sleep(3000);
    exit = await p.stop('SIGTERM');
    await sink.waitFor(() => sink.events.filter(isFile).length === 2, WAIT_MS);
  }, 240_000);

  afterAll(async () => {
    await p?.stop('SIGKILL');
    await sink?.close();
    await cam?.stop();
    if (again && again.exitCode === null && again.signalCode === null) {
      const gone = new Promise((r) => again!.once('exit', r));
      again.kill('SIGTERM');
      await gone;
    }
    removeTmp(tmp);
  });

  it('records files that decode cleanly, one IDR a second, at real speed', () => {
    const files = sink.events.filter(isFile);
    expect(files).toHaveLength(2);
    for (const file of files) {
      expectCleanFile(file);
      expectRealSpeed(file);
      expect(probe(file.h264)).toMatchObject({ codec: 'h264', width: 320, height: 240 });
    }
  });

  it("gives the JPEG live view and /snapshot.jpg the camera's own bytes", () => {
    expect(view).toHaveLength(5);
    for (const jpeg of view) expect(served(cam, jpeg)).toBe(true);
    expect(snapshot.status).toBe(200);
    expect(snapshot.type).toBe('image/jpeg');
    expect(served(cam, snapshot.body)).toBe(true);
    // No decoder ran for the pictures.
    expect(p.log()).toContain("live: the camera's own JPEGs for the JPEG view");
    expect(p.log()).not.toContain('decoder: ffmpeg started');
  });

  it('reports the camera down when it goes away and up when it is back, and keeps running', () => {
    expect(sinceStop().map(kind), `events ${JSON.stringify(sink.events)}\nlog:\n${p.log()}`).toEqual(['camera:down', 'h264', 'camera:up', 'h264']);
    const down = sinceStop().find(isCamera('down'))!;
    expect(down.reason).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?action=stream: the camera closed the stream/);
    expect(exit.code).toBe(0);
  });
});

describe('MJPEG camera failures', () => {
  let tmp: string | undefined;
  let p: PancakeProcess | undefined;
  let sink: EventSink | undefined;
  let cam: MjpgStreamerServer | undefined;
  afterEach(async () => {
    await p?.stop('SIGKILL');
    await sink?.close();
    await cam?.stop();
    removeTmp(tmp);
    p = sink = cam = tmp = undefined;
  });

  it('a URL that is not http(s) or is broken: exit 3 naming --camera', async () => {
    for (const [url, message] of [
      ['htp://cam/x', 'pancake: --camera: unknown source: htp://cam/x (auto, test, file:PATH, rtsp://…, rtsps://…, http://… or https://…)'],
      ['http://admin:hunter2@[::1/x', 'pancake: --camera: unclosed [ in the host: http://admin:***@[::1/x'],
    ]) {
      const r = await runDist('pancake/main.js', ['--camera', url!]);
      expect(r.stderr.trim()).toBe(message);
      expect(r.status).toBe(3);
      expect(r.stderr).not.toContain('hunter2');
    }
  });

  it.skipIf(!available.ok)('a wrong password: down with the reason, the password nowhere in the output', async () => {
    cam = await startMjpgStreamer({ credentials: { user: 'viewer', password: 'Right-Pass-1' } });
    tmp = makeTmp('pancake-mjpeg-e2e-');
    const socket = `pancake-mjpeg-${path.basename(tmp)}`;
    sink = await startEventSink(socket);
    p = startPancake(['--camera', cam.url('/?action=stream', { user: 'viewer', password: 'Wrong-Pass-9' }), '--emit', socket]);
    const down = (await sink.waitFor(isCamera('down'), WAIT_MS)) as CameraEvent;
    expect(down.reason).toMatch(/^http:\/\/viewer:\*\*\*@127\.0\.0\.1:\d+\/\?action=stream: the camera refused user "viewer" or the password: wrong user or password \(401/);
    await p.waitForLog(/restarting in/, WAIT_MS);
    expect(p.child.exitCode).toBeNull();
    expect(p.log()).not.toContain('Wrong-Pass-9');
    expect(JSON.stringify(sink.events)).not.toContain('Wrong-Pass-9');
  }, 120_000);

  it.skipIf(!available.ok)('--detect image: detect(frame) gets RGB at --detect-resize, decoded from the JPEGs (no ffmpeg decoder)', async () => {
    cam = await startMjpgStreamer();
    tmp = makeTmp('pancake-mjpeg-e2e-');
    const log = path.join(tmp, 'frames.ndjson');
    p = startPancake(['--camera', cam.url('/?action=stream'), '--detect', 'image', '--detect-resize', '64', '48', '--detect-interval', '0.5', '--customize', CONTROLLED],
      { DETECT_FRAMES_LOG: log, DETECT_CONTROL: path.join(tmp, 'control') });
    const until = Date.now() + WAIT_MS;
    const lines = (): { width: number; height: number; bytes: number }[] =>
      fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { width: number; height: number; bytes: number }) : [];
    while (lines().length < 3) {
      if (Date.now() > until) throw new Error(`detect(frame) got ${lines().length} frames:\n${p.log()}`);
      await sleep(100);
    }
    for (const frame of lines()) expect(frame).toMatchObject({ width: 64, height: 48, bytes: 64 * 48 * 3 });
    expect(p.log()).not.toContain('decoder: ffmpeg started');
  }, 120_000);
});
