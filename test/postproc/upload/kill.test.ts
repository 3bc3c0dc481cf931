// A queue process killed mid-upload and started again: each file arrives exactly once, no partial file is left.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../src/common/paths.js';
import type { DestinationSpec } from '../../../src/postproc/upload/destination.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';
import { startSshd, type SshServer } from '../../helpers/sshd.js';
import { remoteTree, sameBytes, waitFor, writeRecording } from './files.js';

const CHILD = path.join(PROJECT_ROOT, 'test', 'postproc', 'upload', 'queue-child.ts');

let tmp: string;
let server: SshServer | undefined;
let child: ChildProcess | undefined;

beforeEach(() => {
  tmp = makeTmp('pancake-kill-');
});
afterEach(async () => {
  child?.kill('SIGKILL');
  child = undefined;
  await server?.stop();
  server = undefined;
  removeTmp(tmp);
});

function runQueue(config: object): { proc: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(config)], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, output: () => out, exited };
}

it('delivers each file exactly once after a SIGKILL during a large upload', async () => {
  server = await startSshd();
  const local = path.join(tmp, 'mp4');
  fs.mkdirSync(local);
  const a = writeRecording(local, '20200624-0900.mp4', 100_000, 1_593_000_000);
  const big = writeRecording(local, '20200624-0915.mp4', 24 << 20, 1_593_000_900);
  const c = writeRecording(local, '20200624-0930.mp4', 100_000, 1_593_001_800);
  const dest: DestinationSpec = { kind: 'scp', user: server.user, host: server.host, port: server.port, remoteDir: 'bak/cam1' };
  // One 16 KiB request in flight at a time: slow enough on loopback to be killed mid-file.
  const config = { stateDir: path.join(tmp, 'state'), sshDir: server.sshDir, destinations: [dest], sftp: { concurrency: 1, chunkSize: 16384 } };
  const day = path.join(server.root, 'bak/cam1/2020/06/24');
  const bigTemp = path.join(day, '.20200624-0915.mp4.part');

  const first = runQueue({ ...config, enqueue: [a, big, c] });
  const partial = (): boolean => {
    const size = fs.existsSync(bigTemp) ? fs.statSync(bigTemp).size : 0;
    return size > 1 << 20 && size < (20 << 20);
  };
  await waitFor(`a partial upload of the big file (${first.output().slice(-500)})`, partial, 30_000);
  first.proc.kill('SIGKILL');
  expect(await first.exited).toBe(null);

  // Killed: the first file is in place, the big one only as a partial temporary file.
  expect(remoteTree(server.root)).toEqual(['bak/cam1/2020/06/24/.20200624-0915.mp4.part', 'bak/cam1/2020/06/24/20200624-0900.mp4']);
  expect(fs.statSync(bigTemp).size).toBeLessThan(24 << 20);
  const before = fs.statSync(path.join(day, '20200624-0900.mp4'));

  const second = runQueue({ ...config, enqueue: [] });
  expect(await second.exited, second.output()).toBe(0);
  expect(second.output()).toMatch(/2 file\(s\) pending from before/);
  expect(second.output()).toContain('UPLOADED');

  expect(remoteTree(server.root)).toEqual(['bak/cam1/2020/06/24/20200624-0900.mp4', 'bak/cam1/2020/06/24/20200624-0915.mp4', 'bak/cam1/2020/06/24/20200624-0930.mp4']);
  for (const file of [a, big, c]) {
    const remote = path.join(day, path.basename(file));
    expect(sameBytes(file, remote), remote).toBe(true);
    expect(fs.statSync(remote).mtimeMs).toBe(fs.statSync(file).mtimeMs);
  }
  // The file finished before the kill was not sent again (same inode, untouched since).
  const after = fs.statSync(path.join(day, '20200624-0900.mp4'));
  expect([after.ino, after.ctimeMs]).toEqual([before.ino, before.ctimeMs]);
  // And nothing is left pending.
  const stateFiles = remoteTree(path.join(tmp, 'state')).filter((f) => f.endsWith('.json'));
  expect(stateFiles).toEqual([]);
}, 90_000);
