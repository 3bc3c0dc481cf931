// S3 settings and keys, pure: bucket names, prefixes, endpoints, object metadata, and where credentials come from.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeDestination, destinationKey, type DestinationSpec } from '../../../src/postproc/upload/destination.js';
import { contentType, localIso, recordingMetadata } from '../../../src/postproc/upload/s3.js';
import { loadS3Keys, parseIni } from '../../../src/postproc/upload/s3-credentials.js';
import { bucketNameError, parseS3Endpoint, parseS3Target } from '../../../src/postproc/upload/s3-target.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';

describe('S3 targets', () => {
  it.each(['abc', 'cctv-backup', 'cctv.backup.2026', '0cam', 'a'.repeat(63)])('accepts the bucket name %s', (name) => {
    expect(bucketNameError(name)).toBeUndefined();
  });
  it.each(['ab', 'a'.repeat(64), 'Cctv', 'cctv_backup', '-cctv', 'cctv-', 'cc..tv', 'cc.-tv', '10.0.0.1', 'cc tv'])('refuses the bucket name %s', (name) => {
    expect(bucketNameError(name)).toMatch(/^not a valid bucket name/);
  });
  it.each([
    ['cctv', { bucket: 'cctv', prefix: '' }],
    ['cctv/', { bucket: 'cctv', prefix: '' }],
    ['cctv/pi/front/', { bucket: 'cctv', prefix: 'pi/front' }],
    ['cctv/a b/ü', { bucket: 'cctv', prefix: 'a b/ü' }],
    ['cctv/./x', { error: 'the prefix must not contain "." or ".." folders: "./x"' }],
    ['cctv/a//b', { error: 'the prefix has an empty folder ("//"): "a//b"' }],
    ['cctv/a\nb', { error: 'the prefix has a control character: "a\\nb"' }],
  ])('splits %j', (text, expected) => {
    expect(parseS3Target(text)).toEqual(expected);
  });
  it('normalises an endpoint and refuses what it cannot use', () => {
    expect(parseS3Endpoint('https://ACCOUNT.r2.cloudflarestorage.com/')).toEqual({ endpoint: 'https://account.r2.cloudflarestorage.com' });
    expect(parseS3Endpoint('http://[::1]:9000/s3')).toEqual({ endpoint: 'http://[::1]:9000/s3' });
    expect(parseS3Endpoint('https://s3.example.com/?x=1')).toEqual({ error: 'a query or fragment is not allowed: "https://s3.example.com/?x=1"' });
  });
  it('describes a destination without its keys, and keeps its pending state when only the region or keys change', () => {
    const a: DestinationSpec = { kind: 's3', bucket: 'cctv', remoteDir: 'cam1', region: 'us-east-1', pathStyle: false, credentials: { kind: 'secret', ref: 'env:A' } };
    const b: DestinationSpec = { ...a, region: 'eu-west-1', credentials: { kind: 'standard' } };
    expect(describeDestination(a)).toBe('s3 cctv/cam1 at AWS us-east-1');
    expect(describeDestination({ ...a, remoteDir: '', endpoint: 'http://nas:9000' })).toBe('s3 cctv at http://nas:9000');
    expect(destinationKey(a)).toBe(destinationKey(b));
    expect(destinationKey(a)).toMatch(/^s3-cctv@aws-[0-9a-f]{12}$/);
    expect(destinationKey({ ...a, endpoint: 'http://nas:9000' })).toMatch(/^s3-cctv@nas_9000-[0-9a-f]{12}$/);
    expect(destinationKey({ ...a, remoteDir: 'cam2' })).not.toBe(destinationKey(a));
  });
});

describe('S3 object metadata', () => {
  it('carries the start time from the name in local time with its offset, and the mtime in seconds', () => {
    const meta = recordingMetadata('20200624-091530-2.mp4', 1_593_000_123_456);
    expect(meta).toEqual({ mtime: '1593000123.456', 'recording-start': localIso(new Date(2020, 5, 24, 9, 15, 30)) });
    expect(meta['recording-start']).toMatch(/^2020-06-24T09:15:30[+-]\d\d:\d\d$/);
    expect(new Date(meta['recording-start']!).getTime()).toBe(new Date(2020, 5, 24, 9, 15, 30).getTime());
    expect(contentType('20200624-0900.mp4')).toBe('video/mp4');
  });
});

describe('S3 standard credentials', () => {
  let home: string;
  beforeEach(() => {
    home = makeTmp('pancake-aws-home-');
  });
  afterEach(() => removeTmp(home));

  it('take the environment first, then the profile of ~/.aws/credentials', () => {
    fs.mkdirSync(path.join(home, '.aws'));
    fs.writeFileSync(path.join(home, '.aws', 'credentials'), [
      '# comment', '[default]', 'aws_access_key_id = DEFAULTID', 'aws_secret_access_key = default/secret', '',
      '[cctv]', 'aws_access_key_id=CCTVID', 'aws_secret_access_key=cctv+secret', 'aws_session_token = tok',
    ].join('\n'));
    const standard = { kind: 'standard' } as const;
    expect(loadS3Keys(standard, { env: { AWS_ACCESS_KEY_ID: 'ENVID', AWS_SECRET_ACCESS_KEY: 'env-secret' }, home })).toEqual({ accessKeyId: 'ENVID', secretAccessKey: 'env-secret' });
    expect(loadS3Keys(standard, { env: {}, home })).toEqual({ accessKeyId: 'DEFAULTID', secretAccessKey: 'default/secret' });
    expect(loadS3Keys(standard, { env: { AWS_PROFILE: 'cctv' }, home })).toEqual({ accessKeyId: 'CCTVID', secretAccessKey: 'cctv+secret', sessionToken: 'tok' });
    expect(() => loadS3Keys(standard, { env: { AWS_PROFILE: 'other' }, home })).toThrow(`no profile [other] in ${path.join(home, '.aws', 'credentials')} (AWS_PROFILE)`);
  });

  it('read ACCESS_KEY_ID:SECRET from --s3-credentials, the secret may hold colons', () => {
    const file = path.join(home, 'keys');
    fs.writeFileSync(file, 'AKID:se:cr/et\n');
    expect(loadS3Keys({ kind: 'secret', ref: `file:${file}` })).toEqual({ accessKeyId: 'AKID', secretAccessKey: 'se:cr/et' });
  });

  it('parse "[profile name]" sections as ~/.aws/config writes them', () => {
    expect(parseIni('[profile cam]\nregion = auto\n').get('cam')?.get('region')).toBe('auto');
  });
});
