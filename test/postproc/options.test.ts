// postproc's command line: every config error with its exact message and exit code (compiled command), and the parse itself.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupArgv, parsePostprocArgs, parseSize } from '../../src/postproc/options.js';
import { makeTmp, removeTmp, runDist } from '../helpers/env.js';

const FINGERPRINT = 'AB:'.repeat(31) + 'AB';

describe('postproc config errors (compiled command)', () => {
  let tmp: string;
  let busy: net.Server;
  const busyName = `postproc-options-busy-${process.pid}`;

  beforeAll(async () => {
    tmp = makeTmp('postproc-options-');
    fs.mkdirSync(path.join(tmp, 'mp4'));
    fs.writeFileSync(path.join(tmp, 'file.txt'), 'x');
    fs.writeFileSync(path.join(tmp, 'keys-bad'), 'only-one-part\n');
    fs.writeFileSync(path.join(tmp, 'keys-good'), 'AKIDEXAMPLE:wJalr/secret+x\n');
    busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen({ path: `\0${busyName}` }, resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => busy.close(() => resolve()));
    removeTmp(tmp);
  });

  const base = ['ppp-never-bound', '--convert', 'mp4', '--converter', 'builtin'];
  const cases: [string, string[], number, string][] = [
    ['no socket_name', ['--convert', 'mp4'], 2, "error: missing required argument 'socket_name'"],
    ['no --convert', ['ppp'], 2, 'postproc: the following arguments are required: --convert'],
    ['--convert without mp4_dir', ['ppp', '--convert'], 2, 'postproc: --convert: expected 1 or 2 arguments: mp4_dir [fps]'],
    ['fps not a number', ['ppp', '--convert', 'mp4', 'abc'], 3, 'postproc: --convert: Not an integer: abc'],
    ['fps zero', ['ppp', '--convert', 'mp4', '0'], 3, 'postproc: --convert: fps must be at least 1: 0'],
    ['mp4_dir missing', ['ppp', '--convert', 'missing'], 3, 'postproc: --convert: directory not exist: missing'],
    ['mp4_dir a file', ['ppp', '--convert', 'file.txt', '12'], 3, 'postproc: --convert: not a directory: file.txt'],
    ['unknown converter', [...base, '--converter', 'handbrake'], 3, 'postproc: --converter: must be one of auto, mp4box, builtin, ffmpeg: handbrake'],
    ['MP4Box not installed', ['ppp', '--convert', 'mp4', '--converter', 'mp4box'], 3, 'postproc: --converter: MP4Box not found on PATH (install gpac, or use --converter builtin)'],
    ['destination without trigger', [...base, '--upload-scp', 'pi@192.168.1.23', '22', 'bak/cam1'], 3, 'postproc: Please set upload trigger: --upload-after-convert or --upload-minutes'],
    ['trigger without destination', [...base, '--upload-after-convert', '1'], 3, 'postproc: Please set upload destination: --upload-scp or --upload-ftp'],
    ['minutes trigger without destination', [...base, '--upload-minutes', '0', '30'], 3, 'postproc: Please set upload destination: --upload-scp or --upload-ftp'],
    ['minute 60', [...base, '--upload-minutes', '0', '60'], 3, 'postproc: --upload-minutes: Minute must be in 0..59'],
    ['minute -1', [...base, '--upload-minutes', '-1'], 3, 'postproc: --upload-minutes: Minute must be in 0..59'],
    ['repeated minutes', [...base, '--upload-minutes', '5', '20', '5'], 3, 'postproc: --upload-minutes: Some minutes are repeated'],
    ['minute not a number', [...base, '--upload-minutes', 'x'], 3, "postproc: --upload-minutes: invalid int value: 'x'"],
    ['--upload-minutes without minutes', [...base, '--upload-minutes'], 2, 'postproc: --upload-minutes: expected at least one argument: {0..59} [{0..59} ...]'],
    ['--upload-after-convert not a number', [...base, '--upload-after-convert', 'two'], 3, "postproc: --upload-after-convert: invalid int value: 'two'"],
    ['--upload-after-convert 0', [...base, '--upload-after-convert', '0'], 3, 'postproc: --upload-after-convert: must be at least 1: 0'],
    ['scp port not a number', [...base, '--upload-scp', 'pi@h', 'ssh', 'bak'], 3, 'postproc: --upload-scp: Not an integer: ssh'],
    ['scp port out of range', [...base, '--upload-scp', 'pi@h', '70000', 'bak'], 3, 'postproc: --upload-scp: port must be in 1..65535: 70000'],
    ['scp missing remote_dir', [...base, '--upload-scp', 'pi@h', '22'], 2, 'postproc: --upload-scp: expected 3 arguments: user@host port remote_dir'],
    ['scp with an empty host', [...base, '--upload-scp', 'pi@', '22', 'bak', '--upload-after-convert', '1'], 3, 'postproc: --upload-scp: host is empty'],
    ['ftp port not a number', [...base, '--upload-ftp', 'h', 'ftp', 'u', 'p', 'bak'], 3, 'postproc: --upload-ftp: Not an integer: ftp'],
    ['ftp missing an argument', [...base, '--upload-ftp', 'h', '21', 'u', 'p'], 2, 'postproc: --upload-ftp: expected 5 arguments: host port user password remote_dir'],
    ['ftp password from an unset variable', [...base, '--upload-ftp', 'h', '21', 'u', 'env:POSTPROC_TEST_UNSET', 'bak'], 3, 'postproc: --upload-ftp: environment variable POSTPROC_TEST_UNSET is not set'],
    ['ftp password from a missing file', [...base, '--upload-ftp', 'h', '21', 'u', 'file:/nonexistent/pw', 'bak'], 3, 'postproc: --upload-ftp: cannot read secret file /nonexistent/pw: ENOENT'],
    ['ftps port out of range', [...base, '--upload-ftps', 'h', '0', 'u', 'p', 'bak'], 3, 'postproc: --upload-ftps: port must be in 1..65535: 0'],
    ['a bad FTPS fingerprint', [...base, '--upload-ftps', 'h', '21', 'u', 'p', 'bak', '--ftps-fingerprint', 'h', 'zz', '--upload-after-convert', '1'], 3, 'postproc: --ftps-fingerprint: not a SHA-256 fingerprint (64 hex digits, colons allowed): zz'],
    ['a fingerprint for no FTPS host', [...base, '--upload-ftp', 'h', '21', 'u', 'p', 'bak', '--ftps-fingerprint', 'h', FINGERPRINT, '--upload-after-convert', '1'], 3, 'postproc: --ftps-fingerprint: no --upload-ftps destination has host h'],
    ['the same destination twice', [...base, '--upload-scp', 'pi@h', '22', 'bak', '--upload-scp', 'pi@h', '22', 'bak', '--upload-after-convert', '1'], 3, 'postproc: upload destination given twice: scp pi@h:22 bak'],
    ['--upload-queue-size not a number', [...base, '--upload-queue-size', 'big'], 3, "postproc: --upload-queue-size: invalid int value: 'big'"],
    ['--notify-queue-size 0', [...base, '--notify-queue-size', '0'], 3, 'postproc: --notify-queue-size: must be at least 1: 0'],
    ['telegram token from an unset variable', [...base, '--notify-telegram', 'env:POSTPROC_TEST_UNSET', '42'], 3, 'postproc: --notify-telegram: environment variable POSTPROC_TEST_UNSET is not set'],
    ['telegram without chat_id', [...base, '--notify-telegram', 'token'], 2, 'postproc: --notify-telegram: expected 2 arguments: bot_token chat_id'],
    ['a non-http API root', [...base, '--telegram-api-root', 'ftp://example.org'], 3, 'postproc: --telegram-api-root: not an http(s) URL: ftp://example.org'],
    ['a missing state dir', [...base, '--state-dir', 'nowhere'], 3, 'postproc: --state-dir: directory not exist: nowhere'],
    ['a missing --accept-dir', [...base, '--accept-dir', 'h264'], 3, 'postproc: --accept-dir: directory not exist: h264'],
    ['a second --accept-dir missing', [...base, '--accept-dir', 'mp4', '--accept-dir', 'recordings/front'], 3, 'postproc: --accept-dir: directory not exist: recordings/front'],
    ['--accept-dir a file', [...base, '--accept-dir', 'file.txt'], 3, 'postproc: --accept-dir: not a directory: file.txt'],
    ['--accept-dir without DIR', [...base, '--accept-dir'], 2, 'postproc: --accept-dir: expected 1 argument: DIR'],
    ['a log in a missing directory', [...base, '--log', 'log/postproc.log'], 3, 'postproc: --log: directory not exist: log'],
    ['an unknown option', [...base, '--upload-sftp', 'x'], 2, "error: unknown option '--upload-sftp'"],
    ['an invalid bucket name', [...base, '--upload-s3', 'My_Bucket'], 3, 'postproc: --upload-s3: not a valid bucket name: "My_Bucket" (3–63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit)'],
    ['a bucket name like an IP address', [...base, '--upload-s3', '192.168.1.20'], 3, 'postproc: --upload-s3: not a valid bucket name: "192.168.1.20" (an IP address)'],
    ['a prefix with ..', [...base, '--upload-s3', 'cctv/cam/../x'], 3, 'postproc: --upload-s3: the prefix must not contain "." or ".." folders: "cam/../x"'],
    ['a prefix starting with /', [...base, '--upload-s3', 'cctv//cam'], 3, 'postproc: --upload-s3: the prefix must not start with "/": "/cam"'],
    ['an endpoint that is no URL', [...base, '--upload-s3', 'cctv', '--s3-endpoint', 'nas 9000'], 3, 'postproc: --s3-endpoint: not a URL: "nas 9000" (e.g. https://s3.eu-central-003.backblazeb2.com or http://192.168.1.20:9000)'],
    ['an endpoint without http(s)', [...base, '--upload-s3', 'cctv', '--s3-endpoint', 'nas:9000'], 3, 'postproc: --s3-endpoint: not an http(s) URL: "nas:9000"'],
    ['an endpoint with a password', [...base, '--upload-s3', 'cctv', '--s3-endpoint', 'https://key:secret@s3.example.com'], 3, 'postproc: --s3-endpoint: a user or password in the URL is not used; give keys with --s3-credentials'],
    ['a malformed region', [...base, '--upload-s3', 'cctv', '--s3-region', 'eu west'], 3, 'postproc: --s3-region: not a region name: "eu west" (e.g. us-east-1, eu-central-003, auto)'],
    ['S3 keys on the command line', [...base, '--upload-s3', 'cctv', '--s3-credentials', 'AKID:SECRET'], 3, 'postproc: --s3-credentials: give env:NAME or file:PATH, not the keys themselves (they would show in ps)'],
    ['S3 keys from an unset variable', [...base, '--upload-s3', 'cctv', '--s3-credentials', 'env:POSTPROC_TEST_UNSET'], 3, 'postproc: --s3-credentials: environment variable POSTPROC_TEST_UNSET is not set'],
    ['S3 keys not ID:SECRET', [...base, '--upload-s3', 'cctv', '--s3-credentials', 'file:keys-bad'], 3, 'postproc: --s3-credentials: the first line of keys-bad is not ACCESS_KEY_ID:SECRET_ACCESS_KEY'],
    ['S3 keys from a missing file', [...base, '--upload-s3', 'cctv', '--s3-credentials', 'file:nokeys'], 3, 'postproc: --s3-credentials: cannot read secret file nokeys: ENOENT'],
    ['--s3-endpoint without --upload-s3', [...base, '--s3-endpoint', 'http://nas:9000'], 3, 'postproc: --s3-endpoint: no --upload-s3 destination'],
    ['--s3-path-style without --upload-s3', [...base, '--s3-path-style'], 3, 'postproc: --s3-path-style: no --upload-s3 destination'],
    ['the same bucket and prefix twice', [...base, '--upload-s3', 'cctv/cam1', '--upload-s3', 'cctv/cam1/', '--s3-credentials', 'file:keys-good', '--upload-after-convert', '1'], 3, 'postproc: upload destination given twice: s3 cctv/cam1 at AWS us-east-1'],
    ['--alert-pancake-silent not a number', [...base, '--alert-pancake-silent', 'five'], 3, 'postproc: --alert-pancake-silent: not a number of minutes (0 or more): five'],
    ['--alert-no-recording negative', [...base, '--alert-no-recording', '-3'], 3, 'postproc: --alert-no-recording: not a number of minutes (0 or more): -3'],
    ['--alert-upload-late not a number', [...base, '--alert-upload-late', '2h'], 3, 'postproc: --alert-upload-late: not a number of hours (0 or more): 2h'],
    ['--alert-disk-free not a size', [...base, '--alert-disk-free', '1 gallon'], 3, 'postproc: --alert-disk-free: not a size (a number with K, M, G or T, e.g. 500M): 1 gallon'],
    ['--notify-webhook not http(s), its secret path not shown', [...base, '--notify-webhook', 'ftp://hooks.example.com/s3cr3t-token'], 3, 'postproc: --notify-webhook: not an http(s) URL: ftp://hooks.example.com/…'],
    ['--notify-webhook from an unset variable', [...base, '--notify-webhook', 'env:POSTPROC_TEST_UNSET'], 3, 'postproc: --notify-webhook: environment variable POSTPROC_TEST_UNSET is not set'],
    ['--notify-webhook without a URL', [...base, '--notify-webhook'], 2, 'postproc: --notify-webhook: expected 1 argument: URL'],
    ['a socket name in use', [busyName, '--convert', 'mp4', '--converter', 'builtin'], 2, `postproc: socket name already in use: ${busyName} (is another postproc running with it?)`],
  ];

  it.concurrent.each(cases)('%s', async (_name, args, code, message) => {
    const r = await runDist('postproc/main.js', args, { cwd: tmp, env: { ...process.env, PATH: '/nonexistent', POSTPROC_TEST_UNSET: '' } });
    expect({ status: r.status, stderr: r.stderr.trim().split('\n')[0] }).toEqual({ status: code, stderr: message });
    if (code === 3) expect(r.stderr.trim().split('\n')).toHaveLength(1); // one line, no stack trace
    expect(r.stdout).toBe('');
  });

  it.each([
    ['no keys anywhere', {}, 'postproc: --upload-s3: no S3 credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set and HOME/.aws/credentials does not exist (or give --s3-credentials env:NAME or file:PATH holding ACCESS_KEY_ID:SECRET_ACCESS_KEY)'],
    ['an access key id without its secret', { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE' }, 'postproc: --upload-s3: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not'],
    ['a profile not in the credentials file', { AWS_PROFILE: 'cctv', AWS_SHARED_CREDENTIALS_FILE: 'keys-good' }, 'postproc: --upload-s3: no profile [cctv] in keys-good (AWS_PROFILE)'],
  ])('S3 without usable standard credentials: %s (exit 3, one line)', async (_name, vars, message) => {
    const home = path.join(tmp, 'home');
    fs.mkdirSync(home, { recursive: true });
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: '/nonexistent', HOME: home, ...vars };
    for (const v of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE']) if (!(v in vars)) delete env[v];
    const r = await runDist('postproc/main.js', [...base, '--upload-s3', 'cctv', '--upload-after-convert', '1'], { cwd: tmp, env });
    expect({ status: r.status, stderr: r.stderr.trim().split('\n') }).toEqual({ status: 3, stderr: [message.replace('HOME', home)] });
  });

  it('--help shows every flag with its values, the defaults and exits 0', async () => {
    const r = await runDist('postproc/main.js', ['--help']);
    expect(r.status).toBe(0);
    for (const term of [
      'Usage: postproc [options] <socket_name>', 'socket_name', '--convert mp4_dir [fps]', '--converter auto|mp4box|builtin|ffmpeg',
      '--upload-after-convert N', '--upload-minutes {0..59} [{0..59} ...]', '--upload-scp user@host port remote_dir',
      '--upload-ftp host port user password remote_dir', '--upload-ftps host port user password remote_dir', '--ftps-fingerprint host sha256',
      '--upload-queue-size 8', '--notify-telegram bot_token chat_id', '--notify-queue-size 8', '--telegram-api-root URL',
      '(default: https://api.telegram.org)', '--state-dir dir', '(default: mp4_dir/.postproc)', '--log path',
      '--accept-dir DIR', 'directly in DIR (not in a subfolder)', '(repeatable; default: any folder)',
      '--upload-s3 BUCKET[/PREFIX]', '--s3-endpoint URL', '--s3-region REGION', '(default: us-east-1)', '--s3-path-style',
      '--s3-credentials env:NAME|file:PATH', 'ACCESS_KEY_ID:SECRET_ACCESS_KEY', '~/.aws/credentials, profile AWS_PROFILE or default',
      '--notify-webhook URL', '--alert-no-recording MINUTES', '--alert-pancake-silent MINUTES', '--alert-disk-free SIZE', '--alert-upload-late HOURS',
    ]) expect(r.stdout).toContain(term);
  });
});

describe('parsePostprocArgs', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = makeTmp('postproc-parse-');
    fs.mkdirSync(path.join(tmp, 'mp4'));
    fs.mkdirSync(path.join(tmp, 'state'));
    fs.writeFileSync(path.join(tmp, 'pw'), 'from-file\nsecond line\n');
  });
  afterAll(() => removeTmp(tmp));

  it('reads the original README example with every kind of destination, secrets resolved', () => {
    const mp4 = path.join(tmp, 'mp4');
    process.env.POSTPROC_TEST_TOKEN = '123:abc';
    try {
      const o = parsePostprocArgs([
        'ppp', '--convert', mp4, '30', '--upload-after-convert', '3', '--upload-minutes', '50', '5', '20', '35',
        '--upload-scp', 'pi@192.168.1.22', '22', 'bak/cam2', '--upload-scp', '192.168.1.23', '2222', 'bak',
        '--upload-ftp', '192.168.1.24', '21', 'nick', `file:${path.join(tmp, 'pw')}`, 'bakery/cam2',
        '--upload-ftps', 'nas', '990', 'nick', 'nickpass', 'cam', '--ftps-fingerprint', 'NAS', FINGERPRINT,
        '--notify-telegram', 'env:POSTPROC_TEST_TOKEN', '-100123', '--notify-telegram', 'literal:token', '@cctv',
        '--upload-queue-size', '16', '--notify-queue-size', '4', '--state-dir', path.join(tmp, 'state'),
        '--telegram-api-root', 'http://127.0.0.1:8081', '--log', path.join(tmp, 'postproc.log'),
      ]);
      expect(o).toEqual({
        socketName: 'ppp', mp4Dir: mp4, fps: 30, converter: 'auto', stateDir: path.join(tmp, 'state'), stateDirIsDefault: false,
        uploadAfterConvert: 3, uploadMinutes: [5, 20, 35, 50],
        destinations: [
          { kind: 'scp', user: 'pi', host: '192.168.1.22', port: 22, remoteDir: 'bak/cam2' },
          { kind: 'scp', user: os.userInfo().username, host: '192.168.1.23', port: 2222, remoteDir: 'bak' },
          { kind: 'ftp', host: '192.168.1.24', port: 21, user: 'nick', password: 'from-file', remoteDir: 'bakery/cam2', secure: false },
          { kind: 'ftp', host: 'nas', port: 990, user: 'nick', password: 'nickpass', remoteDir: 'cam', secure: true, tlsFingerprint: FINGERPRINT },
        ],
        uploadQueueSize: 16, notifyQueueSize: 4,
        telegram: [{ token: '123:abc', chatId: '-100123' }, { token: 'literal:token', chatId: '@cctv' }],
        telegramApiRoot: 'http://127.0.0.1:8081', log: path.join(tmp, 'postproc.log'),
        webhooks: [], alerts: { pancakeSilentMs: 5 * 60_000, diskFreeBytes: 1024 ** 3, uploadLateMs: 2 * 3600_000 },
      });
    } finally {
      delete process.env.POSTPROC_TEST_TOKEN;
    }
  });

  it('reads --upload-s3 destinations with the --s3-* settings they share; keys are checked, not kept', () => {
    const mp4 = path.join(tmp, 'mp4');
    fs.writeFileSync(path.join(tmp, 's3-keys'), 'AKIDEXAMPLE:wJalr/secret+x\n');
    const o = parsePostprocArgs([
      'ppp', '--convert', mp4, '--upload-after-convert', '1', '--upload-s3', 'cctv', '--upload-s3', 'cctv.backup/pi/front/',
      '--s3-endpoint', 'HTTP://NAS.local:9000/', '--s3-region', 'garage', '--s3-path-style', '--s3-credentials', `file:${path.join(tmp, 's3-keys')}`,
    ]);
    const shared = { endpoint: 'http://nas.local:9000', region: 'garage', pathStyle: true, credentials: { kind: 'secret', ref: `file:${path.join(tmp, 's3-keys')}` } };
    expect(o.destinations).toEqual([
      { kind: 's3', bucket: 'cctv', remoteDir: '', ...shared },
      { kind: 's3', bucket: 'cctv.backup', remoteDir: 'pi/front', ...shared },
    ]);
    expect(JSON.stringify(o)).not.toContain('wJalr');
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalr/secret+x';
    try {
      expect(parsePostprocArgs(['ppp', '--convert', mp4, '--upload-minutes', '0', '--upload-s3', 'cctv/cam1']).destinations).toEqual([
        { kind: 's3', bucket: 'cctv', remoteDir: 'cam1', region: 'us-east-1', pathStyle: false, credentials: { kind: 'standard' } },
      ]);
    } finally {
      for (const [k, v] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('has the defaults of the original, fps from the events and the state under mp4_dir', () => {
    const mp4 = path.join(tmp, 'mp4');
    expect(parsePostprocArgs(['ppp', '--convert', mp4])).toEqual({
      socketName: 'ppp', mp4Dir: mp4, converter: 'auto', stateDir: path.join(mp4, '.postproc'), stateDirIsDefault: true,
      destinations: [], uploadQueueSize: 8, telegram: [], notifyQueueSize: 8, telegramApiRoot: 'https://api.telegram.org',
      webhooks: [], alerts: { pancakeSilentMs: 5 * 60_000, diskFreeBytes: 1024 ** 3, uploadLateMs: 2 * 3600_000 },
    });
  });

  it('reads the alert thresholds (fractions allowed, 0 turns one off) and the webhooks, env:/file: resolved', () => {
    const mp4 = path.join(tmp, 'mp4');
    fs.writeFileSync(path.join(tmp, 'hook'), 'https://ha.example.com/api/webhook/abc123\n');
    process.env.POSTPROC_TEST_HOOK = 'http://127.0.0.1:8080/ntfy-topic';
    try {
      const o = parsePostprocArgs([
        'ppp', '--convert', mp4, '--alert-no-recording', '20', '--alert-pancake-silent', '0.5', '--alert-disk-free', '512M',
        '--alert-upload-late', '0', '--notify-webhook', 'file:' + path.join(tmp, 'hook'), '--notify-webhook', 'env:POSTPROC_TEST_HOOK',
        '--notify-webhook', 'https://hooks.example.com/x?token=1',
      ]);
      expect(o.alerts).toEqual({ noRecordingMs: 20 * 60_000, pancakeSilentMs: 30_000, diskFreeBytes: 512 * 1024 ** 2, uploadLateMs: 0 });
      expect(o.webhooks).toEqual(['https://ha.example.com/api/webhook/abc123', 'http://127.0.0.1:8080/ntfy-topic', 'https://hooks.example.com/x?token=1']);
    } finally {
      delete process.env.POSTPROC_TEST_HOOK;
    }
  });

  it.each([
    ['1G', 1024 ** 3], ['1.5g', 1.5 * 1024 ** 3], ['500M', 500 * 1024 ** 2], ['500MB', 500 * 1024 ** 2], ['2TiB', 2 * 1024 ** 4],
    ['64k', 65536], ['2048', 2048], ['0', 0], ['', undefined], ['1X', undefined], ['-1G', undefined],
  ])('parseSize(%j) is %j', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it('--accept-dir is repeatable and keeps real paths, each once, in the order given', () => {
    const mp4 = path.join(tmp, 'mp4');
    for (const d of ['h264', 'front', 'back']) fs.mkdirSync(path.join(tmp, d), { recursive: true });
    fs.symlinkSync(path.join(tmp, 'front'), path.join(tmp, 'front-link'));
    const o = parsePostprocArgs([
      'ppp', '--convert', mp4, '--accept-dir', path.join(tmp, 'h264'), '--accept-dir', path.join(tmp, 'front-link'),
      `--accept-dir=${path.join(tmp, 'back')}/`, '--accept-dir', `${tmp}/back/../h264`,
    ]);
    const real = fs.realpathSync(tmp);
    expect(o.acceptDirs).toEqual([path.join(real, 'h264'), path.join(real, 'front'), path.join(real, 'back')]);
    expect(parsePostprocArgs(['ppp', '--convert', mp4])).not.toHaveProperty('acceptDirs');
  });

  it.each([
    ['socket_name first', ['ppp', '--convert', 'mp4', '12'], ['--convert', '["mp4","12"]', '--', 'ppp']],
    ['socket_name last, after a full --convert', ['--convert', 'mp4', '12', 'ppp'], ['--convert', '["mp4","12"]', '--', 'ppp']],
    ['socket_name right after --convert mp4_dir', ['--convert', 'mp4', 'ppp'], ['--convert', '["mp4"]', '--', 'ppp']],
    ['socket_name between options', ['--upload-minutes', '0', '30', '--convert', 'mp4', '--log', 'x', 'ppp'], ['--upload-minutes', '["0","30"]', '--convert', '["mp4"]', '--log', '["x"]', '--', 'ppp']],
    ['--flag=value', ['--log=p.log', 'ppp'], ['--log', '["p.log"]', '--', 'ppp']],
    ['negative numbers are values', ['ppp', '--upload-minutes', '-5'], ['--upload-minutes', '["-5"]', '--', 'ppp']],
    ['--upload-minutes takes all that follows, as nargs="+" did', ['--upload-minutes', '1', '2', 'ppp'], ['--upload-minutes', '["1","2","ppp"]', '--']],
    ['--accept-dir takes one folder each time, the socket_name may follow', ['--accept-dir', 'h264', 'ppp', '--accept-dir', 'x'], ['--accept-dir', '["h264"]', '--accept-dir', '["x"]', '--', 'ppp']],
    ['repeated destinations stay apart', ['--upload-scp', 'a@h', '22', 'd', '--upload-scp', 'b@h', '22', 'e'], ['--upload-scp', '["a@h","22","d"]', '--upload-scp', '["b@h","22","e"]', '--']],
    ['unknown options pass through to commander', ['--what', 'ppp'], ['--what', '--', 'ppp']],
    ['-- ends the options', ['--convert', 'mp4', '--', '--odd-name'], ['--convert', '["mp4"]', '--', '--odd-name']],
  ])('groups argv as argparse did: %s', (_name, argv, grouped) => {
    expect(groupArgv(argv)).toEqual(grouped);
  });
});
