// postproc end to end with uploads: events → MP4 → SFTP and FTP destinations in YYYY/MM/DD; a refused host key is messaged.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TESTCARD_PATH } from '../../src/common/paths.js';
import { FakeTelegram } from '../helpers/fake-telegram.js';
import { makeTmp, removeTmp } from '../helpers/env.js';
import { startFtpd, type FtpServer } from '../helpers/ftpd.js';
import { startSshd, type SshServer } from '../helpers/sshd.js';
import { EventClient } from './event-client.js';
import { PostprocProcess } from './postproc-process.js';
import { until } from '../helpers/until.js';

describe('postproc end to end with uploads', () => {
  let tmp: string;
  let home: string;
  let sshd: SshServer | undefined;
  let ftpd: FtpServer | undefined;
  let fake: FakeTelegram;
  let postproc: PostprocProcess | undefined;
  let client: EventClient | undefined;
  const name = `postproc-upload-e2e-${process.pid}`;

  beforeEach(async () => {
    tmp = fs.realpathSync(makeTmp('postproc-upload-e2e-'));
    fs.mkdirSync(path.join(tmp, 'h264'));
    fs.mkdirSync(path.join(tmp, 'mp4'));
    // postproc finds the SSH key and known_hosts in ~/.ssh, as it would on a Pi.
    home = path.join(tmp, 'home');
    fs.mkdirSync(home);
    fake = await FakeTelegram.start();
  });

  afterEach(async () => {
    client?.close();
    await postproc?.stop('SIGKILL');
    await sshd?.stop();
    await ftpd?.stop();
    await fake.close();
    removeTmp(tmp);
    client = postproc = sshd = ftpd = undefined;
  });

  function recording(file: string, frames: number): string {
    const out = path.join(tmp, 'h264', file);
    const r = spawnSync('ffmpeg', ['-v', 'error', '-framerate', '12', '-i', TESTCARD_PATH, '-c', 'copy', '-frames:v', String(frames), '-f', 'h264', out]);
    expect(r.status).toBe(0);
    return out;
  }

  function start(args: string[]): PostprocProcess {
    postproc = PostprocProcess.start([
      name, '--convert', path.join(tmp, 'mp4'), '--converter', 'builtin', ...args,
      '--notify-telegram', '1:T', '42', '--telegram-api-root', fake.apiRoot,
    ], { ...process.env, HOME: home, SSH_AUTH_SOCK: '', FTP_PASSWORD: ftpd?.password ?? '' });
    return postproc;
  }

  it('uploads each MP4 to an SFTP and an FTP destination into remote_dir/YYYY/MM/DD after each conversion', async () => {
    sshd = await startSshd();
    ftpd = await startFtpd();
    fs.symlinkSync(sshd.sshDir, path.join(home, '.ssh'));
    const p = start([
      '--upload-after-convert', '1',
      '--upload-scp', `${sshd.user}@127.0.0.1`, String(sshd.port), 'bak/cam1',
      '--upload-ftp', '127.0.0.1', String(ftpd.port), ftpd.user, 'env:FTP_PASSWORD', 'bakery/cam1',
    ]);
    client = await EventClient.connect(name);
    const a = recording('20260101-2345.h264', 12);
    const b = recording('20260102-000010.h264', 24);
    await client.send({ id: 'u1', h264: a, fps: 12, width: 640, height: 480, rotation: 0 });
    await client.send({ id: 'u2', h264: b, fps: 12, width: 640, height: 480, rotation: 0, detection: true });
    await client.waitForAck('u2');

    const expected = [
      ['2026/01/01', '20260101-2345.mp4'],
      ['2026/01/02', '20260102-000010.mp4'],
    ];
    const remote = (root: string, dir: string, day: string, file: string): string => path.join(root, dir, day, file);
    await until(() => expected.every(([day, file]) =>
      fs.existsSync(remote(sshd!.root, 'bak/cam1', day!, file!)) && fs.existsSync(remote(ftpd!.root, 'bakery/cam1', day!, file!))), 'both files at both destinations');
    for (const [day, file] of expected) {
      const local = fs.readFileSync(path.join(tmp, 'mp4', file!));
      expect(fs.readFileSync(remote(sshd.root, 'bak/cam1', day!, file!)).equals(local)).toBe(true);
      expect(fs.readFileSync(remote(ftpd.root, 'bakery/cam1', day!, file!)).equals(local)).toBe(true);
    }
    // Nothing but the files themselves (no temporary names left behind).
    expect(fs.readdirSync(path.join(sshd.root, 'bak/cam1/2026/01/02'))).toEqual(['20260102-000010.mp4']);
    expect(fs.readdirSync(path.join(ftpd.root, 'bakery/cam1/2026/01/02'))).toEqual(['20260102-000010.mp4']);
    expect(p.output).not.toContain(ftpd.password);
    await fake.waitForDelivered(1);
    expect(fake.delivered.map((c) => [c.method, c.fields.caption])).toEqual([['sendVideo', 'Detection changed to True']]);
  });

  it('uploads a recording renamed after a restart (…-2.h264) into its day folder like any other', async () => {
    sshd = await startSshd();
    fs.symlinkSync(sshd.sshDir, path.join(home, '.ssh'));
    start(['--upload-after-convert', '1', '--upload-scp', `${sshd.user}@127.0.0.1`, String(sshd.port), 'bak/cam1']);
    client = await EventClient.connect(name);
    // pancake names a continuous recording like this when it restarts within the minute of 20260103-0815.h264.
    const h264 = path.join(tmp, 'h264', '20260103-0815-2.h264');
    fs.copyFileSync(TESTCARD_PATH, h264);
    await client.send({ id: 'r2', h264, fps: 12, width: 640, height: 480, rotation: 0 });
    await client.waitForAck('r2');

    const mp4 = path.join(tmp, 'mp4', '20260103-0815-2.mp4');
    const remote = path.join(sshd.root, 'bak/cam1/2026/01/03/20260103-0815-2.mp4');
    await until(() => fs.existsSync(remote) || /cannot upload/.test(postproc!.output), 'the upload (or its refusal)');
    expect(postproc!.output).not.toMatch(/cannot upload/);
    expect(fs.readFileSync(remote).equals(fs.readFileSync(mp4))).toBe(true);
    expect(fs.readdirSync(path.join(sshd.root, 'bak/cam1/2026/01/03'))).toEqual(['20260103-0815-2.mp4']);
  });

  it('messages a refused (unknown) SSH host key over Telegram and uploads nothing there', async () => {
    sshd = await startSshd({ knownHosts: 'none' });
    fs.symlinkSync(sshd.sshDir, path.join(home, '.ssh'));
    start(['--upload-after-convert', '1', '--upload-scp', `${sshd.user}@127.0.0.1`, String(sshd.port), 'bak']);
    client = await EventClient.connect(name);
    await client.send({ id: 'h1', h264: recording('20260101-1200.h264', 12), fps: 12 });
    await client.waitForAck('h1');
    const [call] = await fake.waitForDelivered(1, 20_000);
    expect(call!.method).toBe('sendMessage');
    expect(call!.fields.text).toMatch(new RegExp(`^Upload to scp ${sshd.user}@127\\.0\\.0\\.1:${sshd.port} bak refused: `));
    expect(fs.existsSync(path.join(sshd.root, 'bak'))).toBe(false);
  });
});
