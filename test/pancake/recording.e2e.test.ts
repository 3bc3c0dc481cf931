// pancake end to end with the fake rpicam-vid: recording, events, outbox, supervision, shutdown.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileEvent, PancakeEvent } from '../../src/common/events.js';
import { decodeErrors, makeTmp, probe } from '../helpers/env.js';
import { startEventSink } from '../helpers/event-sink.js';
import { startPancake, usePancakeTest } from '../helpers/pancake-process.js';

const isFile = (e: PancakeEvent): e is FileEvent => 'h264' in e;

describe('pancake with the fake camera', () => {
  const t = usePancakeTest();

  function setup(): { dir: string; name: string; argvFile: string } {
    t.tmp = makeTmp();
    const dir = path.join(t.tmp, 'h264');
    fs.mkdirSync(dir);
    return { dir, name: `pancake-test-${path.basename(t.tmp)}`, argvFile: path.join(t.tmp, 'argv.jsonl') };
  }

  it('records continuously, announces the finished file on SIGTERM and exits 0 within 5 s', async () => {
    const { dir, name, argvFile } = setup();
    t.sink = await startEventSink(name);
    // Hourly files: one file, unless the test runs across an hour's start (15-minute files would split 4 times as often).
    t.pancake = startPancake(['--record-continuous', dir, '--segment-minutes', '60', '--emit', name, '--resolution', '640', '480', '--vflip'], { FAKE_CAMERA_ARGV_FILE: argvFile });
    await t.pancake.waitForLog('record: writing');
    await new Promise((r) => setTimeout(r, 2500));
    const stopped = await t.pancake.stop('SIGTERM');
    expect(stopped.code).toBe(0);
    expect(stopped.ms).toBeLessThan(5000);

    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.h264'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{8}-\d{4}\.h264$/);
    const file = path.join(dir, files[0]!);
    const event = (await t.sink.waitFor(isFile)) as FileEvent;
    expect(event).toMatchObject({ h264: file, fps: 12, width: 640, height: 480, rotation: 0 });
    expect(typeof event.id).toBe('string');
    const durationS = (Date.parse(event.end) - Date.parse(event.start)) / 1000;
    expect(durationS).toBeGreaterThan(1.5);
    expect(decodeErrors(file)).toBe('');
    const frames = probe(file).frames;
    expect(Math.abs(frames - (durationS * 12 + 1))).toBeLessThanOrEqual(2);
    expect(fs.readFileSync(file).subarray(0, 5)).toEqual(Buffer.from([0, 0, 0, 1, 0x67]));

    const argv = JSON.parse(fs.readFileSync(argvFile, 'utf8').split('\n')[0]!) as string[];
    expect(argv).toEqual(['-t', '0', '-n', '--codec', 'h264', '--inline', '--intra', '12', '--flush', '--width', '640', '--height', '480',
      '--framerate', '12', '--vflip', '--post-process-file', path.join(dir, '.pancake', 'annotate.json'), '-o', '-']);
    // Every event was acknowledged, so the outbox is empty.
    expect(fs.readdirSync(path.join(dir, '.pancake', 'outbox'))).toEqual([]);
  });

  it('restarts a camera that dies, finishing the file and reporting down once and up again', async () => {
    const { dir, name, argvFile } = setup();
    t.sink = await startEventSink(name);
    t.pancake = startPancake(['--record-continuous', dir, '--emit', name], { FAKE_CAMERA_ARGV_FILE: argvFile, FAKE_CAMERA_DIE_AFTER: '1.5' });
    const down = await t.sink.waitFor((e) => 'camera' in e && e.camera === 'down');
    expect((down as { reason: string }).reason).toMatch(/rpicam-vid .* ended with exit code 1; stderr: .*fake camera died on request/);
    await t.sink.waitFor((e) => 'camera' in e && e.camera === 'up');
    await t.pancake.stop();
    const kinds = t.sink.events.map((e) => ('camera' in e ? `camera:${e.camera}` : isFile(e) ? 'file' : 'other'));
    // "down" is reported at once; the file of the first run is finished and announced right after.
    expect(kinds.slice(0, 3)).toEqual(['camera:down', 'file', 'camera:up']);
    expect(fs.readFileSync(argvFile, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(2);
    for (const e of t.sink.events.filter(isFile)) expect(decodeErrors(e.h264)).toBe('');
    expect(t.pancake.log()).toMatch(/camera: .*restarting in 1 s/);
  });

  it('kills and restarts a camera that stalls for 5 s', async () => {
    const { dir, name } = setup();
    t.sink = await startEventSink(name);
    t.pancake = startPancake(['--record-continuous', dir, '--emit', name], { FAKE_CAMERA_STALL_AFTER: '1' });
    const down = await t.sink.waitFor((e) => 'camera' in e && e.camera === 'down', 12_000);
    expect((down as { reason: string }).reason).toMatch(/sent no frame for 5(\.\d)? s/);
    await t.sink.waitFor((e) => 'camera' in e && e.camera === 'up', 8000);
  }, 30_000);

  it('keeps events in the outbox while postproc is away and delivers every one, in order, once it is back', async () => {
    const { dir, name } = setup();
    // No postproc yet: the camera dies every 1 s, so each cycle finishes a file and reports down/up.
    t.pancake = startPancake(['--record-continuous', dir, '--emit', name], { FAKE_CAMERA_DIE_AFTER: '1' });
    await t.pancake.waitForLog(/event: \{[^\n]*"h264"[^\n]*\n[\s\S]*event: \{[^\n]*"h264"/);
    t.sink = await startEventSink(name);
    await t.sink.waitFor(isFile, 10_000);
    // postproc restarts: the socket goes away and comes back.
    await t.sink.close();
    const before = t.sink.events;
    await new Promise((r) => setTimeout(r, 2500));
    t.sink = await startEventSink(name);
    await t.sink.waitFor(isFile, 15_000);
    await t.pancake.stop();
    await new Promise((r) => setTimeout(r, 300));
    const all = [...before, ...t.sink.events];
    const ids = new Set(all.map((e) => e.id));
    const announced = new Set(all.filter(isFile).map((e) => e.h264));
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.h264')).map((f) => path.join(dir, f));
    // Nothing lost: every file on disk was announced (the last one at shutdown may still sit in the outbox).
    const outboxLeft = fs.readdirSync(path.join(dir, '.pancake', 'outbox')).map((f) => JSON.parse(fs.readFileSync(path.join(dir, '.pancake', 'outbox', f), 'utf8')) as PancakeEvent);
    for (const e of outboxLeft) if (isFile(e)) announced.add(e.h264);
    expect([...announced].sort()).toEqual(files.sort());
    // Resends reuse ids; nothing arrived twice within one connection's acknowledged stream.
    expect(ids.size).toBeGreaterThanOrEqual(announced.size);
    // Order: start times of file events never go backwards.
    const starts = all.filter(isFile).map((e) => Date.parse(e.start));
    const unique = [...new Map(all.filter(isFile).map((e) => [e.id, Date.parse(e.start)])).values()];
    expect(unique).toEqual([...unique].sort((a, b) => a - b));
    expect(starts.length).toBeGreaterThanOrEqual(2);
  }, 40_000);

  it('announces the file a kill -9 left open, on the next start', async () => {
    const { dir, name } = setup();
    t.pancake = startPancake(['--record-continuous', dir, '--emit', name]);
    await t.pancake.waitForLog('record: writing');
    await new Promise((r) => setTimeout(r, 1500));
    await t.pancake.stop('SIGKILL');
    const [left] = fs.readdirSync(dir).filter((f) => f.endsWith('.h264'));
    expect(left).toBeDefined();
    t.sink = await startEventSink(name);
    t.pancake = startPancake(['--record-continuous', dir, '--emit', name]);
    const event = (await t.sink.waitFor((e) => isFile(e) && e.h264 === path.join(dir, left!))) as FileEvent;
    expect(event.fps).toBe(12);
    expect(decodeErrors(event.h264)).toBe('');
    expect(t.pancake.log()).toContain('was left open by a previous run');
  });
});
