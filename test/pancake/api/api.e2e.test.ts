// The JSON API of a real pancake recording the test card, with two backdated copies of the test card as a day in the past: every route with good and bad input, every MP4 checked by ffprobe.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TESTCARD_PATH } from '../../../src/common/paths.js';
import { decodeErrors, makeTmp, probe, removeTmp } from '../../helpers/env.js';
import { startLivePancake, type LivePancake } from '../../helpers/live.js';
import { until } from '../../helpers/until.js';

interface Listed { name: string; kind: string; start: string; end: string; durationSeconds: number; frames: number | null; bytes: number; live: boolean; url: string }

/** 12:00 and 12:01 on 15 November 2025, local time: the test card (288 frames at 12 fps, a keyframe every 12) twice. */
const T0 = new Date(2025, 10, 15, 12, 0, 0).getTime();

let tmp: string;
let dir: string;
let pancake: LivePancake;

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, init);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

/** Downloads to a file in tmp and returns it with the response. */
async function download(url: string, name: string, headers: Record<string, string> = {}): Promise<{ file: string; res: Response }> {
  const res = await fetch(url, { headers });
  const file = path.join(tmp, name);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return { file, res };
}

/** A GET with the path exactly as written (fetch would resolve `..`). */
function rawGet(base: string, rawPath: string): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    http.get({ host: u.hostname, port: u.port, path: rawPath }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject);
  });
}

beforeAll(async () => {
  tmp = makeTmp('api-test-');
  dir = path.join(tmp, 'h264');
  fs.mkdirSync(dir);
  for (const [name, start] of [['20251115-1200.h264', T0], ['20251115-1201.h264', T0 + 60_000]] as const) {
    fs.copyFileSync(TESTCARD_PATH, path.join(dir, name));
    fs.utimesSync(path.join(dir, name), new Date(start + 24_000), new Date(start + 24_000));
  }
  // Not recordings: a symlink to a file outside, and a FIFO that would block whoever opened it.
  fs.writeFileSync(path.join(tmp, 'secret.h264'), 'not for the web');
  fs.symlinkSync(path.join(tmp, 'secret.h264'), path.join(dir, '20251116-1200.h264'));
  expect(spawnSync('mkfifo', [path.join(dir, '20251117-1200.h264')]).status).toBe(0);
  pancake = await startLivePancake(['--camera', 'test', '--record-continuous', dir]);
  await pancake.waitForLog('record: writing');
}, 60_000);

afterAll(async () => {
  await pancake?.stop('SIGKILL');
  removeTmp(tmp);
});

describe('the recordings index', () => {
  it('lists the days newest first: today (recording now) and the backdated day of the test card copies', async () => {
    const { status, body } = await getJson(`${pancake.url}/api/recordings/days`);
    expect(status).toBe(200);
    const days = body.days as { day: string; recordings: number; bytes: number; continuous: number; detection: number }[];
    const today = new Date();
    const todayText = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
    // Today first (and yesterday too, should the live file have begun before midnight), the backdated day last.
    expect(days[0]!.day).toBe(todayText);
    expect(days.map((d) => d.day)).toEqual([...days.map((d) => d.day)].sort().reverse());
    expect(days.at(-1)).toEqual({ day: '2025-11-15', recordings: 2, bytes: 2 * fs.statSync(TESTCARD_PATH).size, continuous: 2, detection: 0 });
    expect(body.timeZone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
  });

  it("lists a day's recordings oldest first, with exact frames and times once mapped, and refuses malformed days", async () => {
    await until(() => pancake.log().includes('recordings: mapped 2 recording(s)'), 'the found files to be mapped', 20_000, () => pancake.log());
    const { status, body } = await getJson(`${pancake.url}/api/recordings?day=2025-11-15`);
    expect(status).toBe(200);
    const recs = body.recordings as Listed[];
    expect(recs.map((r) => r.name)).toEqual(['20251115-1200.mp4', '20251115-1201.mp4']);
    expect(recs[0]).toMatchObject({ kind: 'continuous', frames: 288, durationSeconds: 24, live: false, url: '/api/recordings/20251115-1200.mp4' });
    expect(Date.parse(recs[0]!.start)).toBe(T0);
    expect(Date.parse(recs[1]!.end)).toBe(T0 + 84_000);
    expect(recs[0]!.start).toMatch(/^2025-11-15T12:00:00\.000[+-]\d{2}:\d{2}$/);
    expect(body.detections).toEqual([]);

    expect((await getJson(`${pancake.url}/api/recordings?day=2025-11-14`)).body.recordings).toEqual([]);
    for (const bad of ['2025-11-5', '2025-02-30', 'yesterday', '']) {
      const r = await getJson(`${pancake.url}/api/recordings?day=${bad}`);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/^day: expected YYYY-MM-DD/);
    }
    expect((await getJson(`${pancake.url}/api/recordings`)).status).toBe(400);
  });
});

describe('a recording as MP4', () => {
  it('is the whole file as a progressive MP4, and any range of it with 206', async () => {
    const { file, res } = await download(`${pancake.url}/api/recordings/20251115-1200.mp4`, 'whole.mp4');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-disposition')).toBeNull();
    const whole = fs.readFileSync(file);
    expect(Number(res.headers.get('content-length'))).toBe(whole.length);
    expect(probe(file)).toMatchObject({ frames: 288, duration: 24, width: 640, height: 480, frameRate: '12/1' });
    expect(decodeErrors(file)).toBe('');
    // moov before mdat: playable while it downloads.
    expect(whole.subarray(4, 8).toString()).toBe('ftyp');
    expect(whole.indexOf('moov')).toBeLessThan(whole.indexOf('mdat'));

    for (const [range, from, to] of [['bytes=1000-1999', 1000, 2000], ['bytes=5-', 5, whole.length], ['bytes=-300', whole.length - 300, whole.length]] as const) {
      const part = await download(`${pancake.url}/api/recordings/20251115-1200.mp4`, 'part.bin', { Range: range });
      expect(part.res.status).toBe(206);
      expect(part.res.headers.get('content-range')).toBe(`bytes ${from}-${to - 1}/${whole.length}`);
      expect(fs.readFileSync(part.file).equals(whole.subarray(from, to))).toBe(true);
    }
    const outside = await fetch(`${pancake.url}/api/recordings/20251115-1200.mp4`, { headers: { Range: `bytes=${whole.length}-` } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${whole.length}`);

    const attached = await fetch(`${pancake.url}/api/recordings/20251115-1200.mp4?download=1`, { method: 'HEAD' });
    expect(attached.status).toBe(200);
    expect(attached.headers.get('content-disposition')).toBe('attachment; filename="20251115-1200.mp4"');
    expect(Number(attached.headers.get('content-length'))).toBe(whole.length);
  });

  it('plays the file being written: its whole frames so far, and more of them later', async () => {
    const today = (await getJson(`${pancake.url}/api/recordings/days`)).body.days as { day: string }[];
    const listed = (await getJson(`${pancake.url}/api/recordings?day=${today[0]!.day}`)).body.recordings as Listed[];
    const live = listed.find((r) => r.live)!;
    expect(live).toBeDefined();
    const first = await download(`${pancake.url}${live.url}`, 'live1.mp4');
    expect(first.res.status).toBe(200);
    const frames1 = Number(first.res.headers.get('x-recording-frames'));
    expect(frames1).toBeGreaterThan(0);
    expect(probe(first.file).frames).toBe(frames1);
    expect(probe(first.file).duration).toBeCloseTo(frames1 / 12, 5);
    expect(decodeErrors(first.file)).toBe('');
    // The same player's later ranges see the same snapshot, though the file has grown meanwhile.
    await new Promise((r) => setTimeout(r, 500));
    const whole = fs.readFileSync(first.file);
    const range = await download(`${pancake.url}${live.url}`, 'live-range.bin', { Range: 'bytes=1000-' });
    expect(range.res.status).toBe(206);
    expect(range.res.headers.get('content-range')).toBe(`bytes 1000-${whole.length - 1}/${whole.length}`);
    expect(fs.readFileSync(range.file).equals(whole.subarray(1000))).toBe(true);

    // A second later the same URL serves more of it.
    let second = first;
    let frames2 = frames1;
    const deadline = performance.now() + 20_000;
    while (frames2 <= frames1 + 12) {
      if (performance.now() > deadline) throw new Error(`the live file never grew past ${frames1} frames`);
      await new Promise((r) => setTimeout(r, 250));
      second = await download(`${pancake.url}${live.url}`, 'live2.mp4');
      frames2 = Number(second.res.headers.get('x-recording-frames'));
    }
    expect(probe(second.file).frames).toBe(frames2);
    expect(decodeErrors(second.file)).toBe('');
  });

  it('is 404 for every name that is not an indexed recording, and nothing outside is read', async () => {
    for (const name of ['20251116-1200.mp4', '20251117-1200.mp4', '20251118-1200.mp4', '20251115-1200.h264', '..%2F..%2Fsecret.mp4', '%2e%2e%2Fsecret.mp4',
      `${encodeURIComponent(path.join(tmp, 'secret.mp4'))}`, '20251115-1200.mp4%00', 'x.mp4', '%ZZ']) {
      const r = await getJson(`${pancake.url}/api/recordings/${name}`);
      expect([name, r.status]).toEqual([name, 404]);
      expect(r.body.error).toBe('no such recording');
    }
    for (const raw of ['/api/recordings/../../secret.h264', '/api/recordings/%2e%2e/%2e%2e/secret.h264', `/api/recordings/${path.join(tmp, 'secret.mp4')}`]) {
      const r = await rawGet(pancake.url, raw);
      expect([raw, r.status]).toEqual([raw, 404]);
      expect(JSON.parse(r.body)).toHaveProperty('error');
    }
  });
});

describe('a clip', () => {
  it('spans the two files from the keyframe at or before its start, and ffprobe confirms its frames and duration', async () => {
    const start = new Date(T0 + 20_500).toISOString();
    const end = new Date(T0 + 65_000).toISOString();
    const { file, res } = await download(`${pancake.url}/api/clip.mp4?start=${encodeURIComponent(start)}&end=${encodeURIComponent(end)}`, 'clip.mp4');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="clip-20251115-120020.mp4"');
    expect(Date.parse(res.headers.get('x-clip-start')!)).toBe(T0 + 20_000);
    // 4 s of the first file from its keyframe at 20 s, then 5 s of the second.
    expect(res.headers.get('x-clip-frames')).toBe('108');
    const facts = probe(file);
    expect(facts.frames).toBe(108);
    expect(facts.duration).toBeCloseTo(9, 6);
    expect(decodeErrors(file)).toBe('');

    // The same clip by duration, with the offset written as a query string would turn "+" into a space.
    const local = (ms: number) => {
      const d = new Date(ms);
      const off = -d.getTimezoneOffset();
      const p = (n: number) => String(Math.abs(n)).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.500${off < 0 ? '-' : ' '}${p(Math.trunc(off / 60))}:${p(off % 60)}`;
    };
    const byDuration = await download(`${pancake.url}/api/clip.mp4?start=${local(T0 + 20_000)}&duration=44.5`, 'clip2.mp4');
    expect(byDuration.res.status).toBe(200);
    expect(probe(byDuration.file).frames).toBe(108);
  });

  it('stops making a clip whose client goes away, and serves the next one whole', async () => {
    const url = `${pancake.url}/api/clip.mp4?start=${encodeURIComponent(new Date(T0).toISOString())}&end=${encodeURIComponent(new Date(T0 + 84_000).toISOString())}`;
    const controller = new AbortController();
    const res = await fetch(url, { signal: controller.signal });
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    controller.abort();
    const { file, res: again } = await download(url, 'again.mp4');
    expect(again.status).toBe(200);
    expect(probe(file).frames).toBe(2 * 288);
    expect(pancake.child.exitCode).toBeNull();
    expect(pancake.log()).not.toMatch(/web: .*(error|stopped)/i);
  });

  it('refuses malformed ranges with 400 and an empty range with 404', async () => {
    const s = encodeURIComponent(new Date(T0).toISOString());
    for (const q of ['start=yesterday&duration=5', `start=${s}`, `start=${s}&duration=-3`, `start=${s}&duration=3601`, `start=${s}&end=${s}`,
      `start=${s}&end=2025-11-15T25:00:00Z`, `start=${s}&end=${s}&duration=4`, 'duration=5']) {
      const r = await getJson(`${pancake.url}/api/clip.mp4?${q}`);
      expect([q, r.status]).toEqual([q, 400]);
      expect(typeof r.body.error).toBe('string');
    }
    // Between the two files (the first ends at 12:00:24), and a day with nothing.
    for (const [from, to] of [[T0 + 30_000, T0 + 50_000], [T0 - 86_400_000, T0 - 86_000_000]] as const) {
      const r = await getJson(`${pancake.url}/api/clip.mp4?start=${new Date(from).toISOString()}&end=${new Date(to).toISOString()}`);
      expect(r.status).toBe(404);
      expect(r.body.error).toBe('no recording in that range');
    }
  });
});

describe('status, events and errors', () => {
  it('reports the camera, recording, picture size, disks, version and uptime', async () => {
    const { status, body } = await getJson(`${pancake.url}/api/status`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      name: null, version: '0.1.0', fps: 12, width: 640, height: 480, detection: null,
      camera: { state: 'up', reason: null },
      recording: { continuous: { enabled: true, paused: false, writing: true }, detection: { enabled: false, writing: false } },
    });
    expect(typeof body.uptimeSeconds).toBe('number');
    expect(body.utcOffset).toMatch(/^[+-]\d{2}:\d{2}$/);
    const disks = body.disks as { dir: string; kind: string; freeBytes: number; totalBytes: number }[];
    expect(disks).toHaveLength(1);
    expect(disks[0]).toMatchObject({ dir, kind: 'continuous' });
    expect(disks[0]!.freeBytes).toBeGreaterThan(0);
    expect(disks[0]!.totalBytes).toBeGreaterThanOrEqual(disks[0]!.freeBytes);
  });

  it('answers unknown routes with 404, wrong methods with 405 and a bad "since" with 400, all in JSON', async () => {
    expect((await getJson(`${pancake.url}/api/nothing`)).status).toBe(404);
    const wrong = await getJson(`${pancake.url}/api/status`, { method: 'POST' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD');
    expect((await getJson(`${pancake.url}/api/recording`)).status).toBe(405);
    expect((await getJson(`${pancake.url}/api/events?since=noon`)).status).toBe(400);
    expect((await getJson(`${pancake.url}/api/events?since=${encodeURIComponent(new Date().toISOString())}`)).body).toEqual({ events: expect.any(Array) });
  });
});

describe('files changed by others while pancake runs', () => {
  it('notices a file copied in (mapped when first asked for) and one a cleanup removed (its frame table too)', async () => {
    const name = '20251115-1205.h264';
    fs.copyFileSync(TESTCARD_PATH, path.join(dir, name));
    // A new directory entry changes the directory's mtime; on a coarse clock make sure it does.
    fs.utimesSync(dir, new Date(), new Date(Date.now() + 2000));
    const listed = (await getJson(`${pancake.url}/api/recordings?day=2025-11-15`)).body.recordings as Listed[];
    expect(listed.map((r) => r.name)).toContain('20251115-1205.mp4');
    const { file, res } = await download(`${pancake.url}/api/recordings/20251115-1205.mp4`, 'copied.mp4');
    expect(res.status).toBe(200);
    expect(probe(file).frames).toBe(288);
    const table = path.join(dir, '.pancake', 'frames', `${name}.frames`);
    expect(fs.existsSync(table)).toBe(true);

    fs.rmSync(path.join(dir, name));
    fs.utimesSync(dir, new Date(), new Date(Date.now() + 4000));
    const after = (await getJson(`${pancake.url}/api/recordings?day=2025-11-15`)).body.recordings as Listed[];
    expect(after.map((r) => r.name)).not.toContain('20251115-1205.mp4');
    expect((await getJson(`${pancake.url}/api/recordings/20251115-1205.mp4`)).status).toBe(404);
    expect(fs.existsSync(table)).toBe(false);
  });
});
