// S3 uploads against a real S3 HTTP server (s3rver behind a SigV4 check): keys, bytes, parts, metadata, refusals.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DestinationSpec } from '../../../src/postproc/upload/destination.js';
import { localIso, S3Connector, S3RefusedError } from '../../../src/postproc/upload/s3.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';
import { startS3Server, type S3TestServer } from '../../helpers/s3-server.js';
import { captureLogger } from './capture-logger.js';
import { sameBytes, writeRecording } from './files.js';

const MiB = 1024 * 1024;
let server: S3TestServer | undefined;
let local: string;

beforeEach(() => {
  local = makeTmp('pancake-s3-local-');
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
  removeTmp(local);
});

/** A credentials file `ACCESS_KEY_ID:SECRET` for `--s3-credentials file:PATH`. */
function keysFile(id: string, secret: string, name = 'wrong-keys'): string {
  const file = path.join(local, name);
  fs.writeFileSync(file, `${id}:${secret}\n`);
  return file;
}

function spec(s: S3TestServer, extra: Partial<Extract<DestinationSpec, { kind: 's3' }>> = {}): Extract<DestinationSpec, { kind: 's3' }> {
  return {
    kind: 's3', bucket: 'bak', remoteDir: 'cam1', endpoint: s.endpoint, region: s.region, pathStyle: true,
    credentials: { kind: 'secret', ref: `file:${keysFile(s.accessKeyId, s.secretAccessKey, 'keys')}` }, ...extra,
  };
}

function connector(s: S3TestServer, extra: Partial<Extract<DestinationSpec, { kind: 's3' }>> = {}, partSize = 5 * MiB) {
  const log = captureLogger();
  return { c: new S3Connector(spec(s, extra), { logger: log.logger, partSize, partConcurrency: 2, maxAttempts: 1 }), log };
}

async function uploadOne(c: S3Connector, file: string, dayDir = 'cam1/2020/06/24'): Promise<void> {
  const session = await c.connect();
  try {
    await session.upload(file, dayDir, path.basename(file), fs.statSync(file).mtimeMs);
  } finally {
    await session.close();
  }
}

/** The requests that made an object: one PUT, or a completed multipart upload. */
function writes(s: S3TestServer, key: string) {
  const p = `/bak/${key}`;
  return s.requests.filter((r) => r.path === p && r.status === 200 && ((r.method === 'PUT' && !r.query.includes('partNumber')) || (r.method === 'POST' && r.query.startsWith('uploadId'))));
}

describe('S3Connector', () => {
  it('puts a small file at PREFIX/YYYY/MM/DD/NAME with the same bytes, video/mp4 and the start time', async () => {
    server = await startS3Server();
    const file = writeRecording(local, '20200624-0900.mp4', 300_000, 1_593_000_123);
    await uploadOne(connector(server).c, file);
    expect(server.keys('bak')).toEqual(['cam1/2020/06/24/20200624-0900.mp4']);
    expect(sameBytes(file, server.objectFile('bak', 'cam1/2020/06/24/20200624-0900.mp4')!)).toBe(true);
    expect(server.objectHeaders('bak', 'cam1/2020/06/24/20200624-0900.mp4')).toEqual({
      'content-type': 'video/mp4',
      'x-amz-meta-recording-start': localIso(new Date(2020, 5, 24, 9, 0, 0)),
      'x-amz-meta-mtime': '1593000123',
    });
    // One PUT, no parts.
    expect(server.requests.filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${r.path} ${r.query}`)).toEqual(['PUT /bak/cam1/2020/06/24/20200624-0900.mp4 x-id=PutObject']);
  });

  it('sends a file above the part size in parts, which join to the same bytes', async () => {
    server = await startS3Server();
    const file = writeRecording(local, '20200624-091500.mp4', 12 * MiB + 12_345);
    await uploadOne(connector(server).c, file, '2020/06/24');
    const key = '2020/06/24/20200624-091500.mp4';
    expect(server.keys('bak')).toEqual([key]);
    expect(sameBytes(file, server.objectFile('bak', key)!)).toBe(true);
    const parts = server.requests.filter((r) => r.method === 'PUT' && /partNumber=\d/.test(r.query));
    expect(parts.map((r) => Number(/partNumber=(\d+)/.exec(r.query)![1])).sort()).toEqual([1, 2, 3]);
    expect(server.requests.filter((r) => r.method === 'POST').map((r) => r.query.replace(/uploadId=[^&]+/, 'uploadId=…'))).toEqual([
      'uploads=', 'uploadId=…',
    ]);
    expect(server.objectHeaders('bak', key)['x-amz-meta-recording-start']).toBe(localIso(new Date(2020, 5, 24, 9, 15, 0)));
  });

  it('does not send an object again that is already there with the same size, but replaces a different one', async () => {
    server = await startS3Server();
    const file = writeRecording(local, '20200624-0900.mp4', 70_000);
    const { c, log } = connector(server);
    await uploadOne(c, file);
    await uploadOne(c, file);
    const key = 'cam1/2020/06/24/20200624-0900.mp4';
    expect(writes(server, key)).toHaveLength(1);
    expect(log.text()).toContain(`${key} is already there with the same size (70000 bytes); not sent again`);
    writeRecording(local, '20200624-0900.mp4', 80_000);
    await uploadOne(c, file);
    expect(writes(server, key)).toHaveLength(2);
    expect(sameBytes(file, server.objectFile('bak', key)!)).toBe(true);
  });

  it.each([
    ['a wrong secret', { secret: 'not-the-secret' }, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided'],
    ['an unknown access key', { id: 'NOSUCHKEY' }, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records'],
    ['a missing bucket', { bucket: 'no-such-bucket' }, 'NoSuchBucket', 'The specified bucket does not exist'],
    ['a wrong region', { region: 'eu-west-3' }, 'AuthorizationHeaderMalformed', "the region 'eu-west-3' is wrong"],
  ] as const)('refuses %s with S3\'s code and message, storing nothing', async (_name, wrong, code, message) => {
    server = await startS3Server();
    const file = writeRecording(local, '20200624-0900.mp4', 6 * MiB);
    const keys = keysFile('id' in wrong ? wrong.id : server.accessKeyId, 'secret' in wrong ? wrong.secret : server.secretAccessKey);
    const { c } = connector(server, {
      credentials: { kind: 'secret', ref: `file:${keys}` },
      ...('bucket' in wrong ? { bucket: wrong.bucket } : {}), ...('region' in wrong ? { region: wrong.region } : {}),
    });
    const err = await uploadOne(c, file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3RefusedError);
    expect((err as S3RefusedError).s3Code).toBe(code);
    expect((err as Error).message).toContain(`s3 ${'bucket' in wrong ? wrong.bucket : 'bak'}/cam1 at ${server.endpoint}: upload of cam1/2020/06/24/20200624-0900.mp4: ${code}`);
    expect((err as Error).message).toContain(message);
    expect((err as Error).message).not.toContain(server.secretAccessKey);
    expect(server.keys('bak')).toEqual([]);
  });

  it('says which service it cannot reach when the server is down', async () => {
    server = await startS3Server();
    await server.down();
    const file = writeRecording(local, '20200624-0900.mp4', 1000);
    const err = await uploadOne(connector(server).c, file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(S3RefusedError);
    expect((err as Error).message).toMatch(new RegExp(`looking up cam1/2020/06/24/20200624-0900.mp4: cannot reach ${server.endpoint}: .*ECONNREFUSED`));
  });

  it('close() during a multipart upload stops it and leaves no object', async () => {
    server = await startS3Server();
    const file = writeRecording(local, '20200624-0900.mp4', 30 * MiB);
    const { c } = connector(server);
    const session = await c.connect();
    const firstPart = new Promise<void>((resolve) => server!.events.on('request', (r: { query: string }) => {
      if (r.query.includes('partNumber=1')) resolve();
    }));
    const upload = session.upload(file, 'cam1/2020/06/24', '20200624-0900.mp4', 0).catch((e: unknown) => e);
    await firstPart;
    await session.close();
    expect(await upload).toBeInstanceOf(Error);
    // Parts already on their way may land, but the upload is never completed.
    expect(server.keys('bak')).toEqual([]);
    expect(server.requests.some((r) => r.method === 'POST' && r.query.startsWith('uploadId'))).toBe(false);
  });
});
