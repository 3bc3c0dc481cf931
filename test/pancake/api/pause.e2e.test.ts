// PUT /api/recording pauses and resumes continuous recording; the pause survives a restart; a foreign Origin and bad bodies are refused; /api/events shows the camera's outages.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../src/common/paths.js';
import { decodeErrors, makeTmp, probe } from '../../helpers/env.js';
import { startLivePancake, type LivePancake } from '../../helpers/live.js';
import { usePancakeTest } from '../../helpers/pancake-process.js';

const CONTROLLED = path.join(PROJECT_ROOT, 'test', 'fixtures', 'customize', 'controlled.ts');
const h264Files = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.h264')).sort();

async function put(p: LivePancake, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${p.url}/api/recording`, { method: 'PUT', body, headers: { 'Content-Type': 'application/json', ...headers } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function continuous(p: LivePancake): Promise<unknown> {
  const status = (await (await fetch(`${p.url}/api/status`)).json()) as { recording: { continuous: unknown } };
  return status.recording.continuous;
}

/** The number of times `text` is in the log. */
const count = (p: LivePancake, text: string): number => p.log().split(text).length - 1;

describe('pausing continuous recording', () => {
  const t = usePancakeTest<LivePancake>();

  it('stops making files on PUT false, stays paused after a restart, and records again on PUT true', async () => {
    t.tmp = makeTmp('api-pause-test-');
    const dir = path.join(t.tmp, 'h264');
    fs.mkdirSync(dir);
    t.pancake = await startLivePancake(['--camera', 'test', '--record-continuous', dir]);
    await t.pancake.waitForLog('record: writing');

    // Refused: another site's page, and bodies that are not the switch.
    expect((await put(t.pancake, '{"continuous": false}', { Origin: 'http://evil.example' })).status).toBe(403);
    for (const bad of ['', 'false', '{"continuous": "no"}', '{"continuous": false, "detection": true}', '[false]', 'x'.repeat(5000)]) {
      const r = await put(t.pancake, bad);
      expect([bad.slice(0, 20), r.status]).toEqual([bad.slice(0, 20), bad.length > 1000 ? 413 : 400]);
    }
    expect(await continuous(t.pancake)).toEqual({ enabled: true, paused: false, writing: true });

    // Paused from our own page (same Origin): the file is finished, no new one starts.
    const paused = await put(t.pancake, '{"continuous": false}', { Origin: t.pancake.url });
    expect(paused).toEqual({ status: 200, body: { continuous: { enabled: true, paused: true, writing: false } } });
    await t.pancake.waitForLog('record: finished');
    const filesWhenPaused = h264Files(dir);
    expect(filesWhenPaused).toHaveLength(1);
    // Frames keep coming (the live view goes on) for a while; none is recorded.
    const before = count(t.pancake, 'record: writing');
    await new Promise((r) => setTimeout(r, 2500));
    expect(count(t.pancake, 'record: writing')).toBe(before);
    expect(h264Files(dir)).toEqual(filesWhenPaused);

    // A restart keeps the pause.
    await t.pancake.stop('SIGTERM');
    t.pancake = await startLivePancake(['--camera', 'test', '--record-continuous', dir]);
    await t.pancake.waitForLog('record: continuous recording is paused');
    expect(await continuous(t.pancake)).toEqual({ enabled: true, paused: true, writing: false });
    const status = (await (await fetch(`${t.pancake.url}/api/status`)).json()) as { camera: { state: string } };
    expect(status.camera.state).not.toBe('down');
    await new Promise((r) => setTimeout(r, 2500));
    expect(t.pancake.log()).not.toContain('record: writing');
    expect(h264Files(dir)).toEqual(filesWhenPaused);

    // Resumed by a script (no Origin): the next keyframe starts a new file.
    expect((await put(t.pancake, '{"continuous": true}')).body).toEqual({ continuous: { enabled: true, paused: false, writing: false } });
    await t.pancake.waitForLog('record: writing');
    expect(h264Files(dir).length).toBe(filesWhenPaused.length + 1);
    expect(await continuous(t.pancake)).toEqual({ enabled: true, paused: false, writing: true });
  }, 60_000);

  it('is refused with 409 when there is no --record-continuous', async () => {
    t.tmp = makeTmp('api-pause-test-');
    t.pancake = await startLivePancake(['--camera', 'test']);
    const r = await put(t.pancake, '{"continuous": false}');
    expect(r.status).toBe(409);
    expect(await continuous(t.pancake)).toEqual({ enabled: false, paused: false, writing: false });
  });
});

describe('the event history', () => {
  const t = usePancakeTest<LivePancake>();

  it('shows camera outages with their times and reasons, filtered by since, and keeps them across a restart', async () => {
    t.tmp = makeTmp('api-events-test-');
    const dir = path.join(t.tmp, 'h264');
    fs.mkdirSync(dir);
    const args = ['--record-continuous', dir];
    t.pancake = await startLivePancake(args, { FAKE_CAMERA_DIE_AFTER: '1' });
    type Ev = { time: string; type: string; state: string; reason: string | null };
    const events = async (since?: string): Promise<Ev[]> =>
      ((await (await fetch(`${t.pancake!.url}/api/events${since ? `?since=${encodeURIComponent(since)}` : ''}`)).json()) as { events: Ev[] }).events;
    await t.pancake.waitForLog(/camera: [^\n]*restarting[\s\S]*camera: [^\n]*restarting/, 20_000);
    let all: Ev[] = [];
    const deadline = performance.now() + 20_000;
    while (!all.some((e) => e.type === 'camera' && e.state === 'up')) {
      if (performance.now() > deadline) throw new Error(`no camera up in ${JSON.stringify(all)}`);
      await new Promise((r) => setTimeout(r, 200));
      all = await events();
    }
    const down = all.find((e) => e.type === 'camera' && e.state === 'down')!;
    expect(down.reason).toMatch(/fake camera died on request/);
    expect(down.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/);
    const times = all.map((e) => Date.parse(e.time));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // since: only what came at or after it.
    const later = await events(all.at(-1)!.time);
    expect(later.length).toBeGreaterThanOrEqual(1);
    expect(later.every((e) => Date.parse(e.time) >= Date.parse(all.at(-1)!.time))).toBe(true);

    await t.pancake.stop('SIGTERM');
    t.pancake = await startLivePancake(args);
    const again = await events();
    expect(again.slice(0, all.length)).toEqual(all);
  }, 60_000);
});

describe('detection through the API', () => {
  const t = usePancakeTest<LivePancake>();

  it('lists detection clips and periods, shows the edges in the events, and serves a clip as MP4', async () => {
    t.tmp = makeTmp('api-detection-test-');
    const dir = path.join(t.tmp, 'h264');
    fs.mkdirSync(dir);
    const control = path.join(t.tmp, 'control');
    t.pancake = await startLivePancake(['--detect', 'no-image', '--record-detection', 'edge', dir, '--customize', CONTROLLED], { DETECT_CONTROL: control });
    await t.pancake.waitForLog('camera: frames are flowing');
    await new Promise((r) => setTimeout(r, 3500)); // pre-roll
    fs.writeFileSync(control, 'true');
    await t.pancake.waitForLog('record: finished');
    fs.writeFileSync(control, 'false');
    const deadline = performance.now() + 20_000;
    type Day = { recordings: { name: string; kind: string; url: string; frames: number; live: boolean }[]; detections: { start: string; end: string | null }[] };
    let day: Day;
    for (;;) {
      const days = ((await (await fetch(`${t.pancake.url}/api/recordings/days`)).json()) as { days: { day: string; detection: number }[] }).days;
      day = (await (await fetch(`${t.pancake.url}/api/recordings?day=${days[0]?.day ?? '2000-01-01'}`)).json()) as Day;
      if (day.recordings.filter((r) => !r.live).length >= 2 && day.detections[0]?.end) break;
      if (performance.now() > deadline) throw new Error(`no two clips and a whole period: ${JSON.stringify(day)}\n${t.pancake.log()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(day.recordings.every((r) => r.kind === 'detection' && /^\d{8}-\d{6}\.mp4$/.test(r.name))).toBe(true);
    expect(day.detections).toHaveLength(1);
    expect(Date.parse(day.detections[0]!.end!)).toBeGreaterThan(Date.parse(day.detections[0]!.start));
    const clip = day.recordings[0]!;
    const res = await fetch(`${t.pancake.url}${clip.url}`);
    const file = path.join(t.tmp, 'clip.mp4');
    fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    expect(probe(file).frames).toBe(clip.frames);
    expect(decodeErrors(file)).toBe('');
    const events = ((await (await fetch(`${t.pancake.url}/api/events`)).json()) as { events: { type: string; state: string }[] }).events;
    expect(events.filter((e) => e.type === 'detection').map((e) => e.state)).toEqual(['on', 'off']);
    const status = (await (await fetch(`${t.pancake.url}/api/status`)).json()) as { detection: boolean; recording: { detection: { enabled: boolean } } };
    expect(status).toMatchObject({ detection: false, recording: { detection: { enabled: true } } });
  }, 60_000);
});
