// The upload queue end to end against real servers: every destination gets every file, durably, with retries.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/common/clock.js';
import type { DestinationSpec } from '../../../src/postproc/upload/destination.js';
import { UploadQueue, type UploadProblem, type UploadQueueOptions } from '../../../src/postproc/upload/queue.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';
import { startFtpd, type FtpServer } from '../../helpers/ftpd.js';
import { startSshd, type SshServer } from '../../helpers/sshd.js';
import { captureLogger } from './capture-logger.js';
import { remoteTree, sameBytes, waitFor, writeRecording } from './files.js';

let tmp: string;
let local: string;
let sshDir: string;
const servers: { stop(): Promise<void> }[] = [];
const queues: UploadQueue[] = [];

beforeEach(() => {
  tmp = makeTmp('pancake-queue-');
  local = path.join(tmp, 'mp4');
  sshDir = path.join(tmp, 'ssh');
  fs.mkdirSync(local);
  fs.mkdirSync(sshDir);
});
afterEach(async () => {
  for (const q of queues.splice(0)) await q.close();
  for (const s of servers.splice(0)) await s.stop();
  removeTmp(tmp);
});

async function sshd(options: Parameters<typeof startSshd>[0] = {}): Promise<SshServer> {
  const s = await startSshd(options);
  servers.push(s);
  return s;
}
async function ftpd(): Promise<FtpServer> {
  const s = await startFtpd();
  servers.push(s);
  return s;
}

// Several sshd servers each generate their own user key; the queue has one ~/.ssh. So one
// folder holds the first server's key, and every server's known_hosts line.
function shareSshDir(all: SshServer[]): void {
  fs.copyFileSync(path.join(all[0]!.sshDir, 'id_ed25519'), path.join(sshDir, 'id_ed25519'), fs.constants.COPYFILE_FICLONE);
  fs.chmodSync(path.join(sshDir, 'id_ed25519'), 0o600);
  const lines = all.map((s) => fs.readFileSync(path.join(s.sshDir, 'known_hosts'), 'utf8')).join('');
  fs.writeFileSync(path.join(sshDir, 'known_hosts'), lines);
  for (const s of all.slice(1)) fs.copyFileSync(path.join(all[0]!.sshDir, 'id_ed25519.pub'), authorizedKeys(s));
}
function authorizedKeys(s: SshServer): string {
  return path.join(path.dirname(s.sshDir), 'etc', 'authorized_keys');
}

const scp = (s: SshServer, remoteDir = 'bak/cam1'): DestinationSpec => ({ kind: 'scp', user: s.user, host: s.host, port: s.port, remoteDir });
const ftp = (s: FtpServer, remoteDir = 'bakery/cam2'): DestinationSpec => ({
  kind: 'ftp', host: s.host, port: s.port, user: s.user, password: s.password, remoteDir, secure: false,
});

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
    sshDir,
    sshAgent: '',
    onProblem: (p) => problems.push(p),
    ...extra,
  });
  queues.push(q);
  return { q, log, problems, clock };
}

const allDone = (q: UploadQueue) => (): boolean => q.pending().every((p) => p.count === 0);

describe('UploadQueue', () => {
  it('uploads every file to every destination (2 SFTP + 1 FTP) into YYYY/MM/DD, same bytes and mtime', async () => {
    const [a, b, f] = await Promise.all([sshd(), sshd({ knownHosts: 'hashed' }), ftpd()]);
    shareSshDir([a!, b!]);
    const files = [
      writeRecording(local, '20200624-0900.mp4', 150_000, 1_593_000_000),
      writeRecording(local, '20200624-0915.mp4', 20_000, 1_593_000_900),
      writeRecording(local, '20200701-235959.mp4', 1000, 1_593_647_999),
    ];
    const { q, problems, log } = queue([scp(a!), scp(b!, path.join(b!.root, 'abs')), ftp(f!)]);
    await q.start();
    for (const file of files) await q.enqueue(file);
    expect(q.pending().map((p) => p.count)).toEqual([3, 3, 3]);
    q.runNow();
    await waitFor('all uploads', allDone(q));

    const layouts: [string, string][] = [
      [a!.root, 'bak/cam1'],
      [b!.root, 'abs'],
      [f!.root, 'bakery/cam2'],
    ];
    for (const [root, dir] of layouts) {
      expect(remoteTree(root)).toEqual([`${dir}/2020/06/24/20200624-0900.mp4`, `${dir}/2020/06/24/20200624-0915.mp4`, `${dir}/2020/07/01/20200701-235959.mp4`]);
      for (const file of files) {
        const name = path.basename(file);
        const remote = path.join(root, dir, name.slice(0, 4), name.slice(4, 6), name.slice(6, 8), name);
        expect(sameBytes(file, remote), remote).toBe(true);
        expect(fs.statSync(remote).mtimeMs, remote).toBe(fs.statSync(file).mtimeMs);
      }
    }
    expect(problems).toEqual([]);
    expect(log.text()).not.toContain(f!.password);
  });

  it('refuses an unknown host key, reports it once, and still uploads to the other destinations', async () => {
    const [good, unknown, f] = await Promise.all([sshd(), sshd(), ftpd()]);
    shareSshDir([good!, unknown!]);
    // Forget the second server's key.
    fs.writeFileSync(path.join(sshDir, 'known_hosts'), fs.readFileSync(path.join(good!.sshDir, 'known_hosts')));
    const { q, problems, log, clock } = queue([scp(good!), scp(unknown!), ftp(f!)]);
    await q.start();
    await q.enqueue(writeRecording(local, '20200624-0900.mp4', 1000));
    q.runNow();
    await waitFor('the good destinations', () => q.pending()[0]!.count === 0 && q.pending()[2]!.count === 0);
    await waitFor('the refusal', () => problems.length > 0);
    expect(problems).toEqual([
      { kind: 'host-key', destination: `scp ${unknown!.user}@127.0.0.1:${unknown!.port} bak/cam1`, message: expect.stringMatching(/host key refused: \[127\.0\.0\.1\]:\d+ is not in .*known_hosts \(the server offered ssh-ed25519 SHA256:/) },
    ]);
    expect(remoteTree(unknown!.root)).toEqual([]);
    expect(remoteTree(good!.root)).toEqual(['bak/cam1/2020/06/24/20200624-0900.mp4']);
    expect(remoteTree(f!.root)).toEqual(['bakery/cam2/2020/06/24/20200624-0900.mp4']);
    expect(q.pending()[1]).toEqual({ destination: `scp ${unknown!.user}@127.0.0.1:${unknown!.port} bak/cam1`, files: ['20200624-0900.mp4'], count: 1 });
    expect(log.text()).toMatch(/error: .*host key refused/);

    // Retries keep refusing, without repeating the host-key message; the third failure says "failing".
    clock.advance(10_000);
    await waitFor('second attempt', () => /attempt 2/.test(log.text()));
    clock.advance(20_000);
    await waitFor('third attempt', () => /attempt 3/.test(log.text()));
    await waitFor('failing report', () => problems.length === 2);
    expect(problems.map((p) => p.kind)).toEqual(['host-key', 'failing']);
    expect(remoteTree(unknown!.root)).toEqual([]);
  });

  it('refuses a changed host key and reports it, keeping the file pending', async () => {
    const s = await sshd();
    shareSshDir([s]);
    const { q, problems } = queue([scp(s)]);
    await q.start();
    await q.enqueue(writeRecording(local, '20200624-0900.mp4', 1000));
    q.runNow();
    await waitFor('first upload', allDone(q));
    await s.up({ newHostKey: true });
    await q.enqueue(writeRecording(local, '20200624-0915.mp4', 1000));
    q.runNow();
    await waitFor('the refusal', () => problems.length > 0);
    expect(problems).toEqual([{ kind: 'host-key', destination: expect.any(String), message: expect.stringMatching(/host key refused: the key of \[127\.0\.0\.1\]:\d+ has CHANGED/) }]);
    expect(q.pending()[0]!.files).toEqual(['20200624-0915.mp4']);
    expect(remoteTree(s.root)).toEqual(['bak/cam1/2020/06/24/20200624-0900.mp4']);
  });

  it('keeps files pending while a destination is down and delivers them after it returns, on backoff and on trigger', async () => {
    const s = await sshd();
    shareSshDir([s]);
    const f = await ftpd();
    const { q, log, clock, problems } = queue([scp(s), ftp(f)], { maxInMemory: 2 });
    await q.start();
    await s.down();
    await f.down();
    const files = ['20200624-0900.mp4', '20200624-0915.mp4', '20200624-0930.mp4', '20200624-0945.mp4'].map((n) => writeRecording(local, n, 5000));
    for (const file of files) await q.enqueue(file);
    q.runNow();
    await waitFor('both failures', () => (log.text().match(/upload failed \(attempt 1/g) ?? []).length === 2);
    // Memory holds two names per destination; all four stay pending on disk.
    expect(q.pending().map((p) => [p.files, p.count])).toEqual([
      [['20200624-0900.mp4', '20200624-0915.mp4'], 4],
      [['20200624-0900.mp4', '20200624-0915.mp4'], 4],
    ]);
    expect(log.text()).toMatch(/upload failed \(attempt 1, 4 file\(s\) pending\): .*retrying in 10 s/);

    // SFTP comes back: the backoff timer delivers its files; FTP is still down and retries later.
    await s.up();
    clock.advance(10_000);
    await waitFor('SFTP delivery', () => q.pending()[0]!.count === 0);
    await waitFor('FTP second failure', () => /ftp .*attempt 2/.test(log.text()));
    expect(remoteTree(s.root)).toEqual(files.map((file) => `bak/cam1/2020/06/24/${path.basename(file)}`));

    // FTP comes back: a trigger delivers at once, without waiting for its 20 s backoff.
    await f.up();
    q.runNow();
    await waitFor('FTP delivery', allDone(q));
    expect(remoteTree(f.root)).toEqual(files.map((file) => `bakery/cam2/2020/06/24/${path.basename(file)}`));
    expect(log.text()).toMatch(/uploads work again after 2 failed attempt\(s\)/);
    expect(problems).toEqual([]);
  });

  it('keeps pending files across a restart and uploads them on start', async () => {
    const s = await sshd();
    shareSshDir([s]);
    await s.down();
    const first = queue([scp(s)]);
    await first.q.start();
    await first.q.enqueue(writeRecording(local, '20200624-0900.mp4', 3000));
    await first.q.enqueue(writeRecording(local, '20200624-0915.mp4', 3000));
    await first.q.close();
    await first.q.close(); // idempotent

    await s.up();
    const second = queue([scp(s)]);
    await second.q.start();
    expect(second.log.text()).toMatch(/2 file\(s\) pending from before; uploading/);
    await waitFor('uploads after restart', allDone(second.q));
    expect(remoteTree(s.root)).toEqual(['bak/cam1/2020/06/24/20200624-0900.mp4', 'bak/cam1/2020/06/24/20200624-0915.mp4']);
  });

  it('puts a named camera\'s files in remote_dir/<camera>/YYYY/MM/DD, the same name of two cameras apart, across a restart', async () => {
    const [s, f] = await Promise.all([sshd(), ftpd()]);
    shareSshDir([s!]);
    fs.mkdirSync(path.join(local, 'front'));
    fs.mkdirSync(path.join(local, 'back'));
    const front = writeRecording(path.join(local, 'front'), '20200624-0900.mp4', 2000);
    const back = writeRecording(path.join(local, 'back'), '20200624-0900.mp4', 3000);
    const plain = writeRecording(local, '20200624-0915.mp4', 1000);
    await s!.down();
    const first = queue([scp(s!), ftp(f!)]);
    await first.q.start();
    await first.q.enqueue(front, 'front');
    await first.q.enqueue(back, 'back');
    await first.q.enqueue(plain);
    await expect(first.q.enqueue(plain, '../x')).rejects.toThrow(/not a camera name/);
    await first.q.close();

    await s!.up();
    const second = queue([scp(s!), ftp(f!)]);
    await second.q.start();
    await waitFor('uploads after restart', allDone(second.q));
    for (const [root, dir] of [[s!.root, 'bak/cam1'], [f!.root, 'bakery/cam2']] as const) {
      expect(remoteTree(root)).toEqual([`${dir}/2020/06/24/20200624-0915.mp4`, `${dir}/back/2020/06/24/20200624-0900.mp4`, `${dir}/front/2020/06/24/20200624-0900.mp4`]);
      expect(sameBytes(front, path.join(root, dir, 'front/2020/06/24/20200624-0900.mp4'))).toBe(true);
      expect(sameBytes(back, path.join(root, dir, 'back/2020/06/24/20200624-0900.mp4'))).toBe(true);
    }
    expect(second.log.text()).toContain('uploaded front/20200624-0900.mp4');
  });

  it('close() aborts an upload in progress; the file stays pending and is completed by the next run', async () => {
    const s = await sshd();
    shareSshDir([s]);
    // Small requests one at a time, so the upload is still running when close() comes.
    const first = queue([scp(s)], { sftp: { concurrency: 1, chunkSize: 4096 } });
    await first.q.start();
    const file = writeRecording(local, '20200624-0900.mp4', 16 << 20);
    await first.q.enqueue(file);
    first.q.runNow();
    const temp = path.join(s.root, 'bak/cam1/2020/06/24/.20200624-0900.mp4.part');
    await waitFor('upload under way', () => fs.existsSync(temp) && fs.statSync(temp).size > 0);
    await first.q.close();
    // Aborted, not waited for: the upload is still the partial temporary file.
    expect(remoteTree(s.root)).toEqual(['bak/cam1/2020/06/24/.20200624-0900.mp4.part']);
    expect(first.log.text()).not.toMatch(/upload failed/);

    const second = queue([scp(s)]);
    await second.q.start();
    await waitFor('completed upload', allDone(second.q));
    expect(remoteTree(s.root)).toEqual(['bak/cam1/2020/06/24/20200624-0900.mp4']);
    expect(sameBytes(file, path.join(s.root, 'bak/cam1/2020/06/24/20200624-0900.mp4'))).toBe(true);
  });

  it('skips a trigger while an upload is still running, as the original did', async () => {
    const s = await sshd();
    shareSshDir([s]);
    const { q, log } = queue([scp(s)]);
    await q.start();
    await q.enqueue(writeRecording(local, '20200624-0900.mp4', 2_000_000));
    q.runNow();
    q.runNow();
    expect(log.text()).toContain(`trigger skipped: upload still running: scp ${s.user}@127.0.0.1:${s.port} bak/cam1`);
    await waitFor('upload', allDone(q));
    expect(remoteTree(s.root)).toEqual(['bak/cam1/2020/06/24/20200624-0900.mp4']);
  });

  it('drops a pending file deleted locally meanwhile (warning) or whose entry is unreadable (error)', async () => {
    const f = await ftpd();
    const { q, log } = queue([ftp(f)]);
    await q.start();
    const gone = writeRecording(local, '20200624-0900.mp4', 100);
    await q.enqueue(gone);
    await q.enqueue(writeRecording(local, '20200624-0915.mp4', 100));
    fs.rmSync(gone);
    // And a pending entry a disk fault corrupted.
    await q.enqueue(writeRecording(local, '20200624-0930.mp4', 100));
    const marker = remoteTree(path.join(tmp, 'state')).find((f) => f.endsWith('20200624-0930.mp4.json'))!;
    fs.writeFileSync(path.join(tmp, 'state', marker), '{"pa');
    q.runNow();
    await waitFor('upload', allDone(q));
    expect(remoteTree(f.root)).toEqual(['bakery/cam2/2020/06/24/20200624-0915.mp4']);
    expect(log.text()).toContain(`warn: ftp ${f.user}@127.0.0.1:${f.port} bakery/cam2: ${gone} no longer exists; dropped from the upload queue`);
    expect(log.text()).toMatch(/error: .*unreadable pending entry for 20200624-0930\.mp4 dropped/);
  });

  it('rejects what it could never upload, and says which pending state is no longer configured', async () => {
    const f = await ftpd();
    const old = queue([ftp(f, 'old/dir')]);
    await old.q.start();
    await f.down();
    await old.q.enqueue(writeRecording(local, '20200624-0900.mp4', 100));
    await old.q.close();

    const { q, log } = queue([ftp(f)]);
    await expect(q.enqueue(path.join(local, '20200624-0900.mp4'))).rejects.toThrow(/queue is new/);
    await q.start();
    expect(log.text()).toMatch(new RegExp(`1 file\\(s\\) still pending for ftp ${f.user}@127.0.0.1:${f.port} old/dir, which is no longer configured`));
    await expect(q.enqueue('relative/20200624-0900.mp4')).rejects.toThrow(/not an absolute path/);
    await expect(q.enqueue(path.join(local, 'clip.mp4'))).rejects.toThrow(/is not YYYYMMDD-hhmm\[ss\]\.ext/);
    expect(() => queue([ftp(f), ftp(f)])).toThrow(/given twice/);
  });
});
