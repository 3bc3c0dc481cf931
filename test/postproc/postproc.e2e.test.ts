// postproc end to end: the compiled command, events on its socket as pancake sends them, real MP4s, a Bot API server, crashes.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TESTCARD_PATH } from '../../src/common/paths.js';
import { FakeTelegram } from '../helpers/fake-telegram.js';
import { makeTmp, probe, removeTmp } from '../helpers/env.js';
import { EventClient } from './event-client.js';
import { PostprocProcess } from './postproc-process.js';

const FRAMES = 30;
const TOKEN = '777:e2e-SECRET-token';

/** The first FRAMES frames of the test card (640x480), as a recording pancake would have finished. */
let clipBytes: Buffer;

beforeAll(() => {
  const dir = makeTmp('postproc-e2e-fixture-');
  try {
    const out = path.join(dir, 'clip.h264');
    const r = spawnSync('ffmpeg', ['-v', 'error', '-framerate', '12', '-i', TESTCARD_PATH, '-c', 'copy', '-frames:v', String(FRAMES), '-f', 'h264', out]);
    if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr.toString()}`);
    clipBytes = fs.readFileSync(out);
  } finally {
    removeTmp(dir);
  }
});

/** ffprobe's rotation of a file's video stream (display matrix), 0 without one. */
function rotationOf(file: string): number {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream_side_data=rotation', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  const value = r.stdout.trim();
  return value === '' ? 0 : Number(value);
}

describe('postproc end to end', () => {
  let tmp: string;
  let h264Dir: string;
  let mp4Dir: string;
  let fake: FakeTelegram;
  let name: string;
  const running: PostprocProcess[] = [];
  const clients: EventClient[] = [];

  beforeEach(async () => {
    tmp = fs.realpathSync(makeTmp('postproc-e2e-'));
    h264Dir = path.join(tmp, 'h264');
    mp4Dir = path.join(tmp, 'mp4');
    fs.mkdirSync(h264Dir);
    fs.mkdirSync(mp4Dir);
    fake = await FakeTelegram.start([TOKEN]);
    name = `postproc-e2e-${process.pid}-${Math.random().toString(36).slice(2)}`;
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const p of running.splice(0)) await p.stop('SIGKILL');
    await fake.close();
    removeTmp(tmp);
  });

  function start(extra: string[] = [], env: NodeJS.ProcessEnv = process.env): PostprocProcess {
    const p = PostprocProcess.start([name, '--convert', mp4Dir, ...extra, '--converter', 'builtin', '--notify-telegram', 'env:E2E_BOT_TOKEN', '42', '--telegram-api-root', fake.apiRoot], { ...env, E2E_BOT_TOKEN: TOKEN });
    running.push(p);
    return p;
  }

  async function connect(): Promise<EventClient> {
    const c = await EventClient.connect(name);
    clients.push(c);
    return c;
  }

  function recording(file: string): string {
    const full = path.join(h264Dir, file);
    fs.writeFileSync(full, clipBytes);
    return full;
  }

  function fileEvent(id: string, h264: string, extra: object = {}): object {
    return { id, h264, fps: 12, width: 640, height: 480, rotation: 0, start: '2026-01-01T12:00:00.000Z', end: '2026-01-01T12:00:02.417Z', ...extra };
  }

  it('handles every event kind: MP4s at the event fps and rotation, the clip and messages to Telegram', async () => {
    const p = start();
    const client = await connect();
    const continuous = recording('20260101-1200.h264');
    const clip = recording('20260101-120000.h264');
    const events = [
      fileEvent('f1', continuous),
      fileEvent('f2', clip, { detection: true, fps: 24, rotation: 90 }),
      { id: 'd1', detection: false, time: '2026-01-01T12:00:05.000Z' },
      { id: 'c1', camera: 'down', reason: 'rpicam-vid exited with code 255', time: '2026-01-01T12:01:00.000Z' },
      { id: 'c2', camera: 'up', time: '2026-01-01T12:01:05.000Z' },
      { id: 's1', storage: 'error', reason: 'ENOSPC: no space left on device', path: h264Dir, time: '2026-01-01T12:02:00.000Z' },
    ];
    for (const e of events) await client.send(e);
    for (const e of events) await client.waitForAck((e as { id: string }).id);

    const calls = await fake.waitForDelivered(5);
    const video = calls.find((c) => c.method === 'sendVideo')!;
    const mp4Clip = path.join(mp4Dir, '20260101-120000.mp4');
    expect(video.fields).toMatchObject({ chat_id: '42', caption: 'Detection changed to True' });
    expect(video.files.video!.filename).toBe('20260101-120000.mp4');
    expect(video.files.video!.data.equals(fs.readFileSync(mp4Clip))).toBe(true);
    expect(calls.filter((c) => c.method === 'sendMessage').map((c) => c.fields.text).sort()).toEqual([
      'Camera down: rpicam-vid exited with code 255', 'Camera up again', 'Detection changed to False', `Storage error: ENOSPC: no space left on device (${h264Dir})`,
    ].sort());

    await p.waitFor(`converted ${continuous}`);
    const cont = probe(path.join(mp4Dir, '20260101-1200.mp4'));
    expect([cont.frames, cont.width, cont.height, cont.duration]).toEqual([FRAMES, 640, 480, FRAMES / 12]);
    expect(rotationOf(path.join(mp4Dir, '20260101-1200.mp4'))).toBe(0);
    const det = probe(mp4Clip);
    expect([det.frames, det.duration]).toEqual([FRAMES, FRAMES / 24]);
    expect(Math.abs(rotationOf(mp4Clip))).toBe(90);
    expect(p.output).not.toContain('SECRET');
    expect(fs.readdirSync(mp4Dir).sort()).toEqual(['.postproc', '20260101-1200.mp4', '20260101-120000.mp4']);
  });

  it("uses --convert's fps over the event's, and takes the original's format (no id: no ack)", async () => {
    const p = start(['6']);
    const client = await connect();
    const a = recording('20260101-1215.h264');
    const b = recording('20260101-1230.h264');
    await client.send(fileEvent('with-id', a));
    await client.send({ h264: b });
    await client.waitForAck('with-id');
    await p.waitFor(`converted ${b}`);
    expect(probe(path.join(mp4Dir, '20260101-1215.mp4')).duration).toBe(FRAMES / 6);
    expect(probe(path.join(mp4Dir, '20260101-1230.mp4')).duration).toBe(FRAMES / 6);
    expect(client.acks).toEqual(['with-id']);
  });

  it('acknowledges only what is durable: killed -9 right after the ack, the restart does the work once', async () => {
    const first = start();
    const clip = recording('20260101-120000.h264');
    const client = await connect();
    await client.send(fileEvent('k1', clip, { detection: true }));
    await client.waitForAck('k1');
    await first.stop('SIGKILL');
    // What the ack promised is in the journal, whatever the killed process got to after it.
    const journal = fs.readFileSync(path.join(mp4Dir, '.postproc', 'journal.ndjson'), 'utf8');
    expect(journal).toContain(`{"op":"accept","id":"k1","job":{"kind":"file","h264":${JSON.stringify(clip)}`);

    const second = start();
    await fake.waitForDelivered(1);
    await second.waitFor(/finished|converted/);
    // A resend of the same id after the restart is acknowledged and does nothing.
    const again = await connect();
    await again.send(fileEvent('k1', clip, { detection: true }));
    await again.waitForAck('k1');
    await second.waitFor('id k1 was received before');
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.delivered.map((c) => c.method)).toEqual(['sendVideo']);
    expect(probe(path.join(mp4Dir, '20260101-120000.mp4')).frames).toBe(FRAMES);
    expect(fs.readdirSync(mp4Dir).sort()).toEqual(['.postproc', '20260101-120000.mp4']); // no temporary file left
  });

  it('does a repeated id once, on the same and on another connection', async () => {
    const p = start();
    const file = recording('20260101-1245.h264');
    const one = await connect();
    await one.send(fileEvent('r1', file));
    await one.send(fileEvent('r1', file));
    const two = await connect();
    await two.send(fileEvent('r1', file));
    await one.waitForAck('r1');
    await two.waitForAck('r1');
    await p.waitFor(`converted ${file}`);
    await new Promise((r) => setTimeout(r, 300));
    expect(one.acks).toEqual(['r1', 'r1']);
    expect(p.count(`converted ${file}`)).toBe(1);
    expect(p.count('id r1 was received before')).toBe(2);
  });

  it('rejects malformed and hostile messages without a crash; the next good event on the same connection works', async () => {
    const p = start();
    const good = recording('20260101-1300.h264');
    fs.symlinkSync(good, path.join(h264Dir, 'link.h264'));
    fs.mkdirSync(path.join(h264Dir, 'dir.h264'));
    fs.writeFileSync(path.join(h264Dir, 'notes.txt'), clipBytes);
    const client = await connect();
    await client.write('{"id": "broken", "h264": \n');
    await client.write('["not", "an", "object"]\n');
    await client.send({ id: 'types', h264: 42 });
    await client.send(fileEvent('relative', '20260101-1300.h264'));
    await client.send(fileEvent('symlink', path.join(h264Dir, 'link.h264')));
    await client.send(fileEvent('txt', path.join(h264Dir, 'notes.txt')));
    await client.send(fileEvent('dir', path.join(h264Dir, 'dir.h264')));
    await client.send(fileEvent('dotdot', `${h264Dir}/../h264/20260101-1300.h264`));
    await client.send(fileEvent('passwd', '/etc/passwd'));
    await client.write(Buffer.concat([Buffer.from('{"id":"huge","h264":"'), Buffer.alloc(1 << 20, 0x61), Buffer.from('.h264"}\n')]));
    await client.send(fileEvent('good', good));
    await client.waitForAck('good');
    await p.waitFor(`converted ${good}`);
    expect(client.closed).toBe(false);
    expect(client.acks).toEqual(['relative', 'symlink', 'txt', 'dir', 'dotdot', 'passwd', 'good']);
    expect(fs.readdirSync(mp4Dir).sort()).toEqual(['.postproc', '20260101-1300.mp4']);
    for (const id of ['relative', 'symlink', 'txt', 'dir', 'dotdot', 'passwd']) expect(p.output).toContain(`rejected event ${id}:`);
    expect(p.count('skipped a bad line')).toBe(3);
    expect(p.output).toContain('line longer than 65536 bytes');
  });

  it('honours a 429 retry_after from Telegram', async () => {
    fake.rateLimit('sendMessage', 1);
    const p = start();
    const client = await connect();
    await client.send({ id: 'd1', detection: true, time: '2026-01-01T12:00:00.000Z' });
    await client.waitForAck('d1');
    const [delivered] = await fake.waitForDelivered(1);
    const limited = fake.calls.find((c) => c.status === 429)!;
    expect(delivered!.fields.text).toBe('Detection changed to True');
    expect(delivered!.at - limited.at).toBeGreaterThanOrEqual(950);
    expect(p.output).toContain('Telegram asks to wait 1 s');
  });

  it('stops cleanly on SIGTERM (exit 0, no partial MP4) and finishes the work at the next start', async () => {
    const first = start();
    const clip = recording('20260101-130500.h264');
    const client = await connect();
    await client.send(fileEvent('t1', clip, { detection: false }));
    await client.waitForAck('t1');
    expect(await first.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(first.output).toContain('SIGTERM: stopping');
    expect(fs.readdirSync(mp4Dir).filter((f) => f !== '.postproc' && f !== '20260101-130500.mp4')).toEqual([]);

    const second = start();
    await fake.waitForDelivered(1);
    expect(fake.delivered.map((c) => [c.method, c.fields.caption])).toEqual([['sendVideo', 'Detection changed to False']]);
    expect(probe(path.join(mp4Dir, '20260101-130500.mp4')).frames).toBe(FRAMES);
    expect(await second.stop('SIGINT')).toEqual({ code: 0, signal: null });
  });

  it('--log writes the log to a file named by the day instead of stdout', async () => {
    const log = path.join(tmp, 'postproc.log');
    const p = start(['--log', log]);
    const client = await connect();
    await client.send({ id: 'l1', camera: 'down', reason: 'log test' });
    await client.waitForAck('l1');
    await fake.waitForDelivered(1);
    expect(await p.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const files = fs.readdirSync(tmp).filter((f) => f.startsWith('postproc.log.'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^postproc\.log\.\d{4}-\d{2}-\d{2}$/);
    const text = fs.readFileSync(path.join(tmp, files[0]!), 'utf8');
    expect(text).toContain('postproc info: listening for events on abstract unix socket');
    expect(text).toContain('Telegram sendMessage "Camera down: log test" to chat 42: sent');
    expect(text).toContain('postproc info: stopped');
    expect(text).not.toContain('SECRET');
    expect(p.output).toBe('');
  });
});
