// postproc end to end with an S3 destination: events → MP4 → object; wrong keys messaged over Telegram, retried until fixed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TESTCARD_PATH } from '../../../src/common/paths.js';
import { FakeTelegram } from '../../helpers/fake-telegram.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';
import { startS3Server, type S3TestServer } from '../../helpers/s3-server.js';
import { EventClient } from '../event-client.js';
import { PostprocProcess } from '../postproc-process.js';
import { waitFor } from './files.js';

describe('postproc end to end with S3', () => {
  let tmp: string;
  let s3: S3TestServer | undefined;
  let fake: FakeTelegram;
  let postproc: PostprocProcess | undefined;
  let client: EventClient | undefined;
  const name = `postproc-s3-e2e-${process.pid}`;

  beforeEach(async () => {
    tmp = fs.realpathSync(makeTmp('postproc-s3-e2e-'));
    fs.mkdirSync(path.join(tmp, 'h264'));
    fs.mkdirSync(path.join(tmp, 'mp4'));
    fs.mkdirSync(path.join(tmp, 'home'));
    fake = await FakeTelegram.start();
  });
  afterEach(async () => {
    client?.close();
    await postproc?.stop('SIGKILL');
    await s3?.stop();
    await fake.close();
    removeTmp(tmp);
    client = postproc = s3 = undefined;
  });

  function recording(file: string, frames: number): string {
    const out = path.join(tmp, 'h264', file);
    const r = spawnSync('ffmpeg', ['-v', 'error', '-framerate', '12', '-i', TESTCARD_PATH, '-c', 'copy', '-frames:v', String(frames), '-f', 'h264', out]);
    expect(r.status).toBe(0);
    return out;
  }

  it('messages refused keys once, keeps the file pending, and uploads it once the keys file is fixed', async () => {
    s3 = await startS3Server();
    const keys = path.join(tmp, 's3-keys');
    fs.writeFileSync(keys, `${s3.accessKeyId}:not-the-secret\n`);
    postproc = PostprocProcess.start([
      name, '--convert', path.join(tmp, 'mp4'), '--converter', 'builtin', '--upload-after-convert', '1',
      '--upload-s3', 'bak/cam1', '--s3-endpoint', s3.endpoint, '--s3-path-style', '--s3-credentials', `file:${keys}`,
      '--notify-telegram', '1:T', '42', '--telegram-api-root', fake.apiRoot,
    ], { ...process.env, HOME: path.join(tmp, 'home') });
    client = await EventClient.connect(name);
    await client.send({ id: 's1', h264: recording('20260101-1200.h264', 12), fps: 12 });
    await client.waitForAck('s1');

    const [call] = await fake.waitForDelivered(1, 30_000);
    expect(call!.method).toBe('sendMessage');
    expect(call!.fields.text).toMatch(new RegExp(
      `^Upload to s3 bak/cam1 at ${s3.endpoint.replace(/\./g, '\\.')} refused: .*SignatureDoesNotMatch \\(HTTP 403\\): The request signature we calculated does not match`,
    ));
    expect(postproc.output).toMatch(/SignatureDoesNotMatch \(HTTP 403\).*retrying in 10 s/);
    expect(s3.keys('bak')).toEqual([]);

    // The first retry comes 10 s after the refusal, and reads the corrected file.
    fs.writeFileSync(keys, `${s3.accessKeyId}:${s3.secretAccessKey}\n`);
    await waitFor('the object', () => s3!.keys('bak').length > 0, 60_000);
    expect(s3.keys('bak')).toEqual(['cam1/2026/01/01/20260101-1200.mp4']);
    const local = fs.readFileSync(path.join(tmp, 'mp4', '20260101-1200.mp4'));
    await waitFor('the upload logged', () => /uploaded 20260101-1200\.mp4/.test(postproc!.output), 20_000);
    expect(fs.readFileSync(s3.objectFile('bak', 'cam1/2026/01/01/20260101-1200.mp4')!).equals(local)).toBe(true);
    // Logged just after the upload's own line, maybe in a later chunk of postproc's output: waited for too.
    await waitFor('the recovery logged', () => /uploads work again after 1 failed attempt\(s\)/.test(postproc!.output), 20_000);
    expect(postproc.output).not.toContain(s3.secretAccessKey);
    expect(postproc.output).not.toContain('not-the-secret');
    expect(postproc.output).not.toContain('NodeVersionSupportWarning');
    expect(fake.delivered).toHaveLength(1);
  });
});
