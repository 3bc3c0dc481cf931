// The upload queue with S3 destinations against real S3 servers: outages, restarts, refusals, each file arriving once.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/common/clock.js';
import type { DestinationSpec } from '../../../src/postproc/upload/destination.js';
import { UploadQueue, type UploadProblem, type UploadQueueOptions } from '../../../src/postproc/upload/queue.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';
import { startS3Server, type S3TestServer } from '../../helpers/s3-server.js';
import { captureLogger } from './capture-logger.js';
import { sameBytes, waitFor, writeRecording } from './files.js';

const MiB = 1024 * 1024;
let tmp: string;
let local: string;
const servers: S3TestServer[] = [];
const queues: UploadQueue[] = [];

beforeEach(() => {
  tmp = makeTmp('pancake-s3-queue-');
  local = path.join(tmp, 'mp4');
  fs.mkdirSync(local);
});
afterEach(async () => {
  for (const q of queues.splice(0)) await q.close();
  for (const s of servers.splice(0)) await s.stop();
  removeTmp(tmp);
});

async function s3server(): Promise<S3TestServer> {
  const s = await startS3Server();
  servers.push(s);
  return s;
}

/** `--s3-credentials file:PATH` with `ACCESS_KEY_ID:SECRET`; rewrite it to change the keys. */
function writeKeys(name: string, id: string, secret: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, `${id}:${secret}\n`);
  return file;
}

function s3(s: S3TestServer, keys = writeKeys(`keys-${s.port}`, s.accessKeyId, s.secretAccessKey)): DestinationSpec {
  return { kind: 's3', bucket: 'bak', remoteDir: 'cam1', endpoint: s.endpoint, region: s.region, pathStyle: true, credentials: { kind: 'secret', ref: `file:${keys}` } };
}

function queue(destinations: DestinationSpec[], extra: Partial<UploadQueueOptions> = {}) {
  const log = captureLogger();
  const problems: UploadProblem[] = [];
  const clock = new ManualClock();
  const q = new UploadQueue({
    stateDir: path.join(tmp, 'state'),
    destinations,
    clock,
    logger: log.logger,
    maxInMemory: 8,
    onProblem: (p) => problems.push(p),
    // One attempt per request inside the SDK, so a failure reaches the queue's own (test-clock) backoff.
    s3: { partSize: 5 * MiB, partConcurrency: 2, maxAttempts: 1 },
    ...extra,
  });
  queues.push(q);
  return { q, log, problems, clock };
}

const allDone = (q: UploadQueue) => (): boolean => q.pending().every((p) => p.count === 0);
const failures = (text: string): number => (text.match(/upload failed \(attempt/g) ?? []).length;

/** The requests that created `key` in bucket bak: PUTs of a whole object and completed multipart uploads. */
function writes(s: S3TestServer, key: string): number {
  return s.requests.filter((r) => r.path === `/bak/${key}` && r.status === 200 &&
    ((r.method === 'PUT' && !r.query.includes('partNumber')) || (r.method === 'POST' && r.query.startsWith('uploadId')))).length;
}

describe('UploadQueue with S3', () => {
  it('keeps files pending while the server is down and delivers each exactly once when it is back', async () => {
    const s = await s3server();
    const { q, log, clock, problems } = queue([s3(s)]);
    await q.start();
    await s.down();
    fs.mkdirSync(path.join(local, 'front'));
    const files = [
      writeRecording(local, '20200624-0900.mp4', 40_000),
      writeRecording(local, '20200624-0915.mp4', 11 * MiB), // in parts
      writeRecording(path.join(local, 'front'), '20200625-0000.mp4', 1000),
    ];
    await q.enqueue(files[0]!);
    await q.enqueue(files[1]!);
    await q.enqueue(files[2]!, 'front');
    q.runNow();
    await waitFor('a failure', () => failures(log.text()) === 1);
    expect(log.text()).toMatch(/s3 bak\/cam1 at http:\/\/127\.0\.0\.1:\d+: upload failed \(attempt 1, 3 file\(s\) pending\): .*cannot reach .*ECONNREFUSED.*; retrying in 10 s/);
    clock.advance(10_000);
    await waitFor('a second failure', () => failures(log.text()) === 2);
    expect(q.pending()[0]!.count).toBe(3);

    await s.up();
    clock.advance(20_000);
    await waitFor('delivery', allDone(q));
    const keys = ['cam1/2020/06/24/20200624-0900.mp4', 'cam1/2020/06/24/20200624-0915.mp4', 'cam1/front/2020/06/25/20200625-0000.mp4'];
    expect(s.keys('bak')).toEqual(keys);
    keys.forEach((key, i) => {
      expect(sameBytes(files[i]!, s.objectFile('bak', key)!)).toBe(true);
      expect(writes(s, key)).toBe(1);
    });
    expect(log.text()).toMatch(/uploads work again after 2 failed attempt\(s\)/);
    expect(problems).toEqual([]);
  });

  it('a multipart upload cut off by an outage is sent again when the server is back, and arrives once', async () => {
    const s = await s3server();
    const { q, log, clock } = queue([s3(s)]);
    await q.start();
    const file = writeRecording(local, '20200624-0900.mp4', 21 * MiB);
    await q.enqueue(file);
    s.events.on('request', (r: { query: string }) => {
      if (r.query.includes('partNumber=2') && writes(s, 'cam1/2020/06/24/20200624-0900.mp4') === 0) void s.down();
    });
    q.runNow();
    await waitFor('the cut-off upload to fail', () => failures(log.text()) === 1);
    expect(s.keys('bak')).toEqual([]);
    s.events.removeAllListeners('request');
    await s.up();
    clock.advance(10_000);
    await waitFor('delivery', allDone(q));
    expect(s.keys('bak')).toEqual(['cam1/2020/06/24/20200624-0900.mp4']);
    expect(sameBytes(file, s.objectFile('bak', 'cam1/2020/06/24/20200624-0900.mp4')!)).toBe(true);
    expect(writes(s, 'cam1/2020/06/24/20200624-0900.mp4')).toBe(1);
  });

  it('keeps pending files across a restart, and does not send again what already arrived', async () => {
    const s = await s3server();
    const a = writeRecording(local, '20200624-0900.mp4', 3000);
    const b = writeRecording(local, '20200624-0915.mp4', 4000);
    // A run that uploaded a but crashed before forgetting it: a is both on the server and pending.
    const before = queue([s3(s)]);
    await before.q.start();
    await before.q.enqueue(a);
    before.q.runNow();
    await waitFor('a uploaded', allDone(before.q));
    await before.q.close();
    await s.down();

    const first = queue([s3(s)]);
    await first.q.start();
    await first.q.enqueue(a);
    await first.q.enqueue(b);
    await first.q.close();

    await s.up();
    const second = queue([s3(s)]);
    await second.q.start();
    expect(second.log.text()).toMatch(/2 file\(s\) pending from before; uploading/);
    await waitFor('uploads after restart', allDone(second.q));
    expect(s.keys('bak')).toEqual(['cam1/2020/06/24/20200624-0900.mp4', 'cam1/2020/06/24/20200624-0915.mp4']);
    expect(writes(s, 'cam1/2020/06/24/20200624-0900.mp4')).toBe(1);
    expect(writes(s, 'cam1/2020/06/24/20200624-0915.mp4')).toBe(1);
    expect(second.log.text()).toContain('cam1/2020/06/24/20200624-0900.mp4 is already there with the same size (3000 bytes); not sent again');
  });

  it('a failing S3 destination does not hold up another', async () => {
    const [down, up] = [await s3server(), await s3server()];
    const { q, log, clock } = queue([s3(down), s3(up)]);
    await q.start();
    await down.down();
    const files = [writeRecording(local, '20200624-0900.mp4', 2000), writeRecording(local, '20200624-0915.mp4', 6 * MiB)];
    for (const f of files) await q.enqueue(f);
    q.runNow();
    await waitFor('the working destination', () => q.pending()[1]!.count === 0);
    await waitFor('the failing destination to fail', () => failures(log.text()) === 1);
    expect(up.keys('bak')).toEqual(['cam1/2020/06/24/20200624-0900.mp4', 'cam1/2020/06/24/20200624-0915.mp4']);
    expect(q.pending()[0]!.count).toBe(2);
    await down.up();
    clock.advance(10_000);
    await waitFor('the other destination', allDone(q));
    expect(down.keys('bak')).toEqual(up.keys('bak'));
    expect(sameBytes(files[1]!, down.objectFile('bak', 'cam1/2020/06/24/20200624-0915.mp4')!)).toBe(true);
  });

  it('a wrong secret: S3\'s code and message in the log, reported once, retried, and uploaded once the keys are fixed', async () => {
    const s = await s3server();
    const keys = writeKeys('keys', s.accessKeyId, 'the-wrong-secret');
    const { q, log, clock, problems } = queue([s3(s, keys)]);
    await q.start();
    const file = writeRecording(local, '20200624-0900.mp4', 6 * MiB);
    await q.enqueue(file);
    q.runNow();
    await waitFor('a refusal', () => failures(log.text()) === 1);
    expect(log.text()).toMatch(/error: s3 bak\/cam1 at http:\/\/127\.0\.0\.1:\d+: upload of cam1\/2020\/06\/24\/20200624-0900\.mp4: SignatureDoesNotMatch \(HTTP 403\): The request signature we calculated does not match the signature you provided/);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ kind: 'refused', destination: `s3 bak/cam1 at ${s.endpoint}` });
    expect(problems[0]!.message).toContain('SignatureDoesNotMatch');
    clock.advance(10_000);
    await waitFor('a second refusal', () => failures(log.text()) === 2);
    expect(problems).toHaveLength(1); // said once, not at every retry

    // Fixed in the file: the next retry reads it again, no restart needed.
    writeKeys('keys', s.accessKeyId, s.secretAccessKey);
    clock.advance(20_000);
    await waitFor('delivery', allDone(q));
    expect(sameBytes(file, s.objectFile('bak', 'cam1/2020/06/24/20200624-0900.mp4')!)).toBe(true);
    expect(log.text()).toMatch(/uploads work again after 2 failed attempt\(s\)/);
    expect(log.text()).not.toContain(s.secretAccessKey);
    expect(log.text()).not.toContain('the-wrong-secret');
  });
});
