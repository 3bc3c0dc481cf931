// Health alerts end to end: the compiled postproc, pancake's real event link, the fake Bot API and a real webhook receiver; each alert once, cleared once.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/common/clock.js';
import { createLogger } from '../../src/common/log.js';
import { TESTCARD_PATH } from '../../src/common/paths.js';
import { EventLink } from '../../src/pancake/events/link.js';
import { Outbox } from '../../src/pancake/events/outbox.js';
import type { Alert } from '../../src/postproc/alerts/health.js';
import { makeTmp, removeTmp } from '../helpers/env.js';
import { FakeTelegram } from '../helpers/fake-telegram.js';
import { startSshd, type SshServer } from '../helpers/sshd.js';
import { EventClient } from './event-client.js';
import { PostprocProcess } from './postproc-process.js';
import { until } from '../helpers/until.js';

const logger = createLogger({ program: 'test', level: 'error' });
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A webhook receiver (ntfy, Home Assistant, …): records each POST's JSON body. */
async function startWebhookReceiver() {
  const bodies: Alert[] = [];
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Alert);
      paths.push(req.url ?? '');
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    bodies, paths,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/SECRET-TOKEN`,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

describe('postproc health alerts end to end', () => {
  let tmp: string;
  let fake: FakeTelegram;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let postproc: PostprocProcess | undefined;
  let link: EventLink | undefined;
  let client: EventClient | undefined;
  let sshd: SshServer | undefined;
  let n = 0;
  let name: string;
  let unmount: (() => void) | undefined;

  beforeEach(async () => {
    tmp = fs.realpathSync(makeTmp('postproc-alerts-e2e-'));
    for (const d of ['h264', 'mp4', 'home', 'outbox']) fs.mkdirSync(path.join(tmp, d));
    fake = await FakeTelegram.start();
    hook = await startWebhookReceiver();
    name = `postproc-alerts-e2e-${process.pid}-${n++}`;
  });

  afterEach(async () => {
    link?.close();
    client?.close();
    await postproc?.stop('SIGKILL');
    await sshd?.stop();
    await fake.close();
    await hook.close();
    unmount?.();
    unmount = undefined;
    removeTmp(tmp);
    link = client = postproc = sshd = undefined;
  });

  function start(args: string[]): PostprocProcess {
    postproc = PostprocProcess.start([
      name, '--convert', path.join(tmp, 'mp4'), '--converter', 'builtin',
      '--notify-telegram', '1:T', '42', '--telegram-api-root', fake.apiRoot, '--notify-webhook', 'env:TEST_WEBHOOK',
      // Off unless a test turns them on: the other conditions must not interfere.
      '--alert-pancake-silent', '0', '--alert-no-recording', '0', '--alert-disk-free', '0', '--alert-upload-late', '0',
      ...args,
    ], { ...process.env, HOME: path.join(tmp, 'home'), SSH_AUTH_SOCK: '', TEST_WEBHOOK: hook.url });
    return postproc;
  }

  /** pancake's real event link (as EventSender builds it), beating every 300 ms. */
  function startPancakeLink(): EventLink {
    const outbox = new Outbox(path.join(tmp, 'outbox'), logger);
    link = new EventLink({ socketName: name, outbox, clock: systemClock, logger, cameraName: 'front', heartbeatMs: 300 });
    link.start();
    return link;
  }

  function recording(file: string): string {
    const out = path.join(tmp, 'h264', file);
    const r = spawnSync('ffmpeg', ['-v', 'error', '-framerate', '12', '-i', TESTCARD_PATH, '-c', 'copy', '-frames:v', '12', '-f', 'h264', out]);
    expect(r.status).toBe(0);
    return out;
  }

  const telegramTexts = (): string[] => fake.delivered.filter((c) => c.method === 'sendMessage').map((c) => c.fields.text!);
  const hooked = (kind: string): string[] => hook.bodies.filter((b) => b.kind === kind).map((b) => `${b.camera ?? '-'} ${b.state}: ${b.text}`);

  it('pancake stopped: "not connected" once after --alert-pancake-silent, "connected again" once when it is back; heartbeats keep an idle pancake alive', async () => {
    const p = start(['--alert-pancake-silent', '0.05']); // 3 s
    await p.waitFor('listening for events');
    startPancakeLink();
    // Idle but alive: no event at all for twice the limit, only heartbeats.
    await pause(6000);
    expect(hook.bodies).toEqual([]);
    expect(p.output).not.toContain('sent no valid event');
    link!.close(); // pancake stops
    await until(() => hook.bodies.length >= 1, 'the silent alert');
    await pause(3000); // said once, however long it lasts
    startPancakeLink();
    await until(() => hook.bodies.length >= 2, 'the all-clear');
    await pause(2000);
    expect(hooked('pancake-silent')).toEqual([
      'front raised: front: pancake not connected: nothing heard for 3 s',
      'front cleared: front: pancake connected again',
    ]);
    expect(hook.bodies.every((b) => typeof b.time === 'string' && Object.keys(b).sort().join() === 'camera,kind,state,text,time')).toBe(true);
    expect(hook.paths).toEqual(['/hook/SECRET-TOKEN', '/hook/SECRET-TOKEN']);
    await until(() => telegramTexts().length >= 2, 'both on Telegram');
    expect(telegramTexts()).toEqual(['front: pancake not connected: nothing heard for 3 s', 'front: pancake connected again']);
    // The webhook's secret path is never logged.
    expect(p.output).toContain('webhooks to http://127.0.0.1:');
    expect(p.output).not.toContain('SECRET-TOKEN');
  }, 60_000);

  it('recording stopped: pancake alive but no recording for --alert-no-recording: said once, and "recording resumed" once', async () => {
    const p = start(['--alert-no-recording', '0.1']); // 6 s
    await p.waitFor('listening for events');
    const l = startPancakeLink();
    const outbox = (l as unknown as { options: { outbox: Outbox } }).options.outbox;
    const announce = (file: string): void => {
      // With the camera's name, as EventSender adds it to every event.
      outbox.add({ name: 'front', h264: recording(file), fps: 12, width: 640, height: 480, rotation: 0, start: new Date(Date.now() - 1000).toISOString(), end: new Date().toISOString() });
      l.flush();
    };
    for (const file of ['20260101-1200.h264', '20260101-1201.h264', '20260101-1202.h264']) {
      announce(file);
      await pause(2000);
    }
    expect(hook.bodies).toEqual([]);
    // pancake still beats, but records nothing.
    await until(() => hook.bodies.length >= 1, 'the no-recording alert');
    await pause(3000);
    announce('20260101-1210.h264');
    await until(() => hook.bodies.length >= 2, 'the all-clear');
    await pause(1500);
    expect(hooked('no-recording')).toEqual([
      'front raised: front: recording stopped: no finished recording for 6 s',
      'front cleared: front: recording resumed',
    ]);
    await until(() => telegramTexts().length >= 2, 'both on Telegram');
    expect(telegramTexts()).toEqual(['front: recording stopped: no finished recording for 6 s', 'front: recording resumed']);
    await until(() => fs.existsSync(path.join(tmp, 'mp4', 'front', '20260101-1210.mp4')), 'the last recording converted');
  }, 60_000);

  it('a flapping camera: the first 3 outages one by one, then one "camera unstable" message instead of one per outage', async () => {
    const p = start([]);
    await p.waitFor('listening for events');
    client = await EventClient.connect(name);
    for (let i = 1; i <= 6; i++) {
      await client.send({ id: `d${i}`, camera: 'down', reason: `outage ${i}`, time: new Date().toISOString(), name: 'front' });
      await client.send({ id: `u${i}`, camera: 'up', time: new Date().toISOString(), name: 'front' });
      await client.waitForAck(`u${i}`);
    }
    // pancake resends what it thinks unacknowledged: the same ids count once.
    await client.send({ id: 'd1', camera: 'down', reason: 'outage 1', time: new Date().toISOString(), name: 'front' });
    await client.waitForAck('d1');
    await until(() => telegramTexts().length >= 7 && hook.bodies.length >= 7, 'the messages');
    await pause(2000);
    expect(telegramTexts()).toEqual([
      'front: Camera down: outage 1', 'front: Camera up again', 'front: Camera down: outage 2', 'front: Camera up again',
      'front: Camera down: outage 3', 'front: Camera up again', 'front: camera unstable: 4 outages in 10 min',
    ]);
    expect(hook.bodies.map((b) => `${b.kind} ${b.state}`)).toEqual([
      'camera raised', 'camera cleared', 'camera raised', 'camera cleared', 'camera raised', 'camera cleared', 'camera-unstable raised',
    ]);
  }, 60_000);

  it('disk: free space for mp4_dir below --alert-disk-free is said once, and "disk ok again" once when space is freed', async () => {
    const mp4 = path.join(tmp, 'mp4');
    const before = fs.statfsSync(mp4);
    const free = before.bavail * before.bsize;
    const fill = 256 * 1024 * 1024;
    if (free < 4 * fill) {
      console.warn(`skipped: only ${free} bytes free in ${mp4}, too little to fill ${fill} of it`);
      return;
    }
    // The threshold sits in the middle of what the test fills: the file pushes the free space under it, for real.
    const threshold = free - fill / 2;
    // A short silence limit makes postproc check every 1.2 s (a fifth of it); that alert is not looked at here.
    const p = start(['--alert-disk-free', String(threshold), '--alert-pancake-silent', '0.1']);
    await p.waitFor('listening for events');
    await pause(1500);
    expect(hooked('disk')).toEqual([]);
    const big = path.join(mp4, 'filler.bin');
    const fd = fs.openSync(big, 'w');
    const chunk = Buffer.alloc(8 * 1024 * 1024, 1);
    for (let written = 0; written < fill; written += chunk.length) fs.writeSync(fd, chunk);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    await until(() => hooked('disk').length >= 1, 'the disk alert', 30_000);
    fs.rmSync(big);
    await until(() => hooked('disk').length >= 2, 'the all-clear', 30_000);
    await pause(1500);
    const disk = hooked('disk');
    expect(disk).toHaveLength(2);
    expect(disk[0]).toMatch(new RegExp(`^- raised: disk almost full: [\\d.]+ [kMG]B free for ${mp4.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(alert below [\\d.]+ [kMGT]B\\)$`));
    expect(disk[1]).toMatch(/^- cleared: disk ok again: [\d.]+ [kMGT]B free for /);
    await until(() => telegramTexts().length >= 2, 'both on Telegram');
    expect(telegramTexts().filter((t) => t.startsWith('disk '))).toHaveLength(2);
  }, 90_000);

  it('disk: a small tmpfs as the recordings folder (--accept-dir) filled up is said once, and "disk ok again" once (root only)', async () => {
    const h264 = path.join(tmp, 'h264');
    if (process.getuid?.() !== 0) {
      console.warn('skipped: mounting a tmpfs needs root (the test above fills a real folder without it)');
      return;
    }
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', h264], { encoding: 'utf8' });
    if (mount.status !== 0) {
      console.warn(`skipped: mount -t tmpfs not permitted here: ${mount.stderr.trim()}`);
      return;
    }
    unmount = () => void spawnSync('umount', [h264]);
    const p = start(['--accept-dir', h264, '--alert-disk-free', '32M', '--alert-pancake-silent', '0.1']);
    await p.waitFor('listening for events');
    await pause(1500);
    expect(hooked('disk')).toEqual([]);
    const big = path.join(h264, 'filler.h264');
    fs.writeFileSync(big, Buffer.alloc(48 * 1024 * 1024, 1));
    await until(() => hooked('disk').length >= 1, 'the disk alert');
    fs.rmSync(big);
    await until(() => hooked('disk').length >= 2, 'the all-clear');
    await pause(1500);
    expect(hooked('disk')).toEqual([
      `- raised: disk almost full: 16 MB free for ${h264} (alert below 32 MB)`,
      `- cleared: disk ok again: 64 MB free for ${h264}`,
    ]);
    expect(telegramTexts().filter((t) => t.startsWith('disk '))).toEqual([
      `disk almost full: 16 MB free for ${h264} (alert below 32 MB)`, `disk ok again: 64 MB free for ${h264}`,
    ]);
  }, 60_000);

  it('backup behind: with the SFTP server stopped, a file pending longer than --alert-upload-late names the destination and count; caught up once it is back', async () => {
    sshd = await startSshd();
    fs.symlinkSync(sshd.sshDir, path.join(tmp, 'home', '.ssh'));
    await sshd.down();
    const p = start(['--upload-after-convert', '1', '--upload-scp', `${sshd.user}@127.0.0.1`, String(sshd.port), 'bak', '--alert-upload-late', '0.001']); // 3.6 s
    await p.waitFor('listening for events');
    client = await EventClient.connect(name);
    await client.send({ id: 'f1', h264: recording('20260101-1200.h264'), fps: 12 });
    await client.waitForAck('f1');
    await until(() => hooked('upload-late').length >= 1, 'the backup-behind alert');
    await pause(2000);
    await sshd.up();
    // The upload is retried on its backoff (10 s, then 20 s).
    await until(() => hooked('upload-late').length >= 2, 'the all-clear', 45_000);
    await pause(1500);
    const dest = `scp ${sshd.user}@127.0.0.1:${sshd.port} bak`;
    const late = hooked('upload-late');
    expect(late).toHaveLength(2);
    expect(late[0]).toMatch(new RegExp(`^- raised: backup behind: 1 file\\(s\\) pending for ${dest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, the oldest for \\d+ s$`));
    expect(late[1]).toBe(`- cleared: backup caught up: ${dest}`);
    expect(fs.existsSync(path.join(sshd.root, 'bak', '2026', '01', '01', '20260101-1200.mp4'))).toBe(true);
    expect(telegramTexts().filter((t) => t.startsWith('backup '))).toHaveLength(2);
  }, 90_000);
});
