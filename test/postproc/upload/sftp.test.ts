// SFTP uploads against a real OpenSSH sshd: layout, bytes, mtime, temp+rename, host keys, agent and key files.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { remoteTempName } from '../../../src/postproc/upload/destination.js';
import { HostKeyError, SftpConnector } from '../../../src/postproc/upload/sftp.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';
import { startSshd, type SshServer } from '../../helpers/sshd.js';
import { captureLogger } from './capture-logger.js';
import { remoteTree, sameBytes, waitFor, writeRecording } from './files.js';

let server: SshServer | undefined;
let local: string;
let agent: ChildProcess | undefined;

beforeEach(() => {
  local = makeTmp('pancake-sftp-local-');
});
afterEach(async () => {
  agent?.kill();
  agent = undefined;
  await server?.stop();
  server = undefined;
  removeTmp(local);
});

function connector(s: SshServer, extra: { sshDir?: string; agent?: string } = {}) {
  const log = captureLogger();
  const c = new SftpConnector(
    { kind: 'scp', user: s.user, host: s.host, port: s.port, remoteDir: 'bak/cam1' },
    { sshDir: extra.sshDir ?? s.sshDir, agent: extra.agent ?? '', logger: log.logger },
  );
  return { c, log };
}

async function uploadOne(c: SftpConnector, file: string, dayDir = 'bak/cam1/2020/06/24'): Promise<void> {
  const session = await c.connect();
  try {
    await session.upload(file, dayDir, path.basename(file), fs.statSync(file).mtimeMs);
  } finally {
    await session.close();
  }
}

describe('SftpConnector', () => {
  it.each(['plain', 'hashed'] as const)('uploads into the day folder with the same bytes and mtime (%s known_hosts)', async (knownHosts) => {
    server = await startSshd({ knownHosts });
    const file = writeRecording(local, '20200624-0900.mp4', 300_000, 1_593_000_123);
    await uploadOne(connector(server).c, file);
    expect(remoteTree(server.root)).toEqual(['bak/cam1/2020/06/24/20200624-0900.mp4']);
    const remote = path.join(server.root, 'bak/cam1/2020/06/24/20200624-0900.mp4');
    expect(sameBytes(file, remote)).toBe(true);
    expect(fs.statSync(remote).mtimeMs).toBe(1_593_000_123_000);
  });

  it('replaces a leftover temporary file and an earlier copy under the final name', async () => {
    server = await startSshd();
    const dayDir = path.join(server.root, 'bak/cam1/2020/06/24');
    fs.mkdirSync(dayDir, { recursive: true });
    fs.writeFileSync(path.join(dayDir, remoteTempName('20200624-0900.mp4')), 'half of an earlier attempt');
    fs.writeFileSync(path.join(dayDir, '20200624-0900.mp4'), 'an older copy');
    const file = writeRecording(local, '20200624-0900.mp4', 70_000);
    await uploadOne(connector(server).c, file);
    expect(remoteTree(server.root)).toEqual(['bak/cam1/2020/06/24/20200624-0900.mp4']);
    expect(sameBytes(file, path.join(dayDir, '20200624-0900.mp4'))).toBe(true);
  });

  it('refuses a server whose host key is not in known_hosts, naming its fingerprint', async () => {
    server = await startSshd({ knownHosts: 'none' });
    const file = writeRecording(local, '20200624-0900.mp4', 1000);
    const err = await uploadOne(connector(server).c, file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    const fp = spawnSync('ssh-keygen', ['-lf', '-'], { input: server.hostKey, encoding: 'utf8' }).stdout.split(' ')[1]!;
    expect((err as HostKeyError).verdict).toBe('unknown');
    expect((err as HostKeyError).message).toContain(`[127.0.0.1]:${server.port} is not in ${path.join(server.sshDir, 'known_hosts')}`);
    expect((err as HostKeyError).message).toContain(fp);
    expect(remoteTree(server.root)).toEqual([]);
  });

  it('refuses a server whose host key changed', async () => {
    server = await startSshd();
    const file = writeRecording(local, '20200624-0900.mp4', 1000);
    const { c } = connector(server);
    await uploadOne(c, file);
    await server.up({ newHostKey: true });
    fs.rmSync(path.join(server.root, 'bak'), { recursive: true });
    const err = await uploadOne(c, file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).verdict).toBe('changed');
    expect((err as HostKeyError).message).toMatch(/has CHANGED/);
    expect(remoteTree(server.root)).toEqual([]);
  });

  it('logs in with a key from ssh-agent when there is no key file', async () => {
    server = await startSshd();
    const keyOnly = makeTmp('pancake-agent-');
    try {
      const socket = path.join(keyOnly, 'agent.sock');
      agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
      await waitFor('ssh-agent socket', () => fs.existsSync(socket), 5000);
      const add = spawnSync('ssh-add', [path.join(server.sshDir, 'id_ed25519')], { env: { ...process.env, SSH_AUTH_SOCK: socket }, encoding: 'utf8' });
      expect(add.status, add.stderr).toBe(0);
      // A folder with known_hosts only: the agent is the only way in.
      const sshDir = path.join(keyOnly, 'ssh');
      fs.mkdirSync(sshDir);
      fs.copyFileSync(path.join(server.sshDir, 'known_hosts'), path.join(sshDir, 'known_hosts'));
      const file = writeRecording(local, '20200624-0900.mp4', 1000);
      await uploadOne(connector(server, { sshDir, agent: socket }).c, file);
      expect(remoteTree(server.root)).toEqual(['bak/cam1/2020/06/24/20200624-0900.mp4']);
    } finally {
      removeTmp(keyOnly);
    }
  });

  it('skips a passphrase-protected key with a warning and uses the next one', async () => {
    server = await startSshd();
    // ssh tries id_ed25519 before id_rsa: make the first one encrypted and the authorized one id_rsa.
    const sshDir = server.sshDir;
    fs.renameSync(path.join(sshDir, 'id_ed25519'), path.join(sshDir, 'id_rsa'));
    const made = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret words', '-f', path.join(sshDir, 'id_ed25519')], { input: 'y\n' });
    expect(made.status).toBe(0);
    const file = writeRecording(local, '20200624-0900.mp4', 1000);
    const { c, log } = connector(server);
    await uploadOne(c, file);
    expect(remoteTree(server.root)).toEqual(['bak/cam1/2020/06/24/20200624-0900.mp4']);
    expect(log.text()).toMatch(/id_ed25519: not used: .*add it to ssh-agent instead/);
  });

  it('says so when there is no key at all', async () => {
    server = await startSshd();
    for (const f of ['id_ed25519', 'id_ed25519.pub']) fs.rmSync(path.join(server.sshDir, f));
    const file = writeRecording(local, '20200624-0900.mp4', 1000);
    await expect(uploadOne(connector(server).c, file)).rejects.toThrow(/no SSH key to log in with: no ssh-agent \(SSH_AUTH_SOCK\) and none of id_ed25519, id_ecdsa, id_rsa/);
  });
});
