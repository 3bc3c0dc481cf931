// Test helper: a real OpenSSH sshd on 127.0.0.1 with generated host and user keys, pubkey login only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { makeTmp, removeTmp, terminate } from './env.js';
import { freePort } from './net.js';

export { freePort };

const SSHD = '/usr/sbin/sshd';

export interface SshdOptions {
  /** Host key type (default ed25519). */
  hostKeyType?: 'ed25519' | 'ecdsa' | 'rsa';
  /** How the server is written into `sshDir/known_hosts`: plain `[127.0.0.1]:port`, hashed by `ssh-keygen -H`, or not at all. */
  knownHosts?: 'plain' | 'hashed' | 'none';
}

/** A running test sshd. Relative SFTP paths resolve inside `root` (internal-sftp -d). */
export interface SshServer {
  host: '127.0.0.1';
  port: number;
  /** The login user: the user running the tests. */
  user: string;
  /** An ~/.ssh-like folder: id_ed25519(.pub) authorized on the server, and known_hosts (per options). */
  sshDir: string;
  /** A temporary folder to upload into. */
  root: string;
  /** The current host public key line (`ssh-ed25519 AAAA...`). */
  hostKey: string;
  /** The known_hosts line for the current host key: `[127.0.0.1]:port ssh-ed25519 AAAA...`. */
  knownHostsLine: string;
  /** Everything sshd logged so far (connections, logins, errors). */
  log(): string;
  /** Stops sshd, keeping keys and files: the destination is "down". */
  down(): Promise<void>;
  /** Starts sshd again on the same port; with `newHostKey` under a freshly generated host key ("changed host key"). */
  up(options?: { newHostKey?: boolean }): Promise<void>;
  /** Stops sshd and removes every temporary file. Idempotent. */
  stop(): Promise<void>;
}

function keygen(args: string[]): void {
  const r = spawnSync('ssh-keygen', ['-q', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh-keygen ${args.join(' ')}: ${r.stderr}`);
}

/** Starts sshd; call `stop()` in afterEach. */
export async function startSshd(options: SshdOptions = {}): Promise<SshServer> {
  const isRoot = process.getuid?.() === 0;
  if (isRoot && !fs.existsSync('/run/sshd')) fs.mkdirSync('/run/sshd', { mode: 0o755, recursive: true });
  const base = makeTmp('pancake-sshd-');
  const etc = path.join(base, 'etc');
  const sshDir = path.join(base, 'ssh');
  const root = path.join(base, 'root');
  for (const d of [etc, sshDir, root]) fs.mkdirSync(d, { mode: 0o700 });
  const user = os.userInfo().username;
  const type = options.hostKeyType ?? 'ed25519';
  let generation = 0;

  const userKey = path.join(sshDir, 'id_ed25519');
  keygen(['-t', 'ed25519', '-N', '', '-C', 'pancake-test', '-f', userKey]);
  const authorizedKeys = path.join(etc, 'authorized_keys');
  fs.copyFileSync(`${userKey}.pub`, authorizedKeys);

  let hostKeyFile = '';
  const newHostKey = (): void => {
    hostKeyFile = path.join(etc, `ssh_host_${type}_key.${generation++}`);
    keygen(['-t', type, '-N', '', '-C', '', '-f', hostKeyFile]);
  };
  newHostKey();

  const port = await freePort();
  const config = path.join(etc, 'sshd_config');
  const writeConfig = (): void => {
    fs.writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKeyFile}`,
        'PidFile none',
        `AuthorizedKeysFile ${authorizedKeys}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        // The temp folders live under /tmp, which StrictModes would reject.
        'StrictModes no',
        'PermitRootLogin prohibit-password',
        `AllowUsers ${user}`,
        'UseDNS no',
        'LogLevel INFO',
        `Subsystem sftp internal-sftp -d ${root}`,
        '',
      ].join('\n'),
    );
  };

  let child: ChildProcess | undefined;
  let logText = '';
  const start = async (): Promise<void> => {
    writeConfig();
    const proc = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr!.on('data', (d: Buffer) => {
      logText += d.toString();
      if (logText.length > 4_000_000) logText = logText.slice(-1_000_000);
    });
    const exited = new Promise<never>((_, reject) => {
      proc.on('error', reject);
      proc.on('exit', (code, signal) => reject(new Error(`sshd exited (${code ?? signal}) while starting: ${logText.slice(-2000)}`)));
    });
    await Promise.race([waitForBanner(port), exited]);
    exited.catch(() => {});
  };
  const halt = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    await terminate(proc);
  };

  const server: SshServer = {
    host: '127.0.0.1',
    port,
    user,
    sshDir,
    root,
    hostKey: '',
    knownHostsLine: '',
    log: () => logText,
    down: halt,
    async up(upOptions = {}) {
      await halt();
      if (upOptions.newHostKey) newHostKey();
      refreshKeys();
      await start();
    },
    async stop() {
      await halt();
      removeTmp(base);
    },
  };
  const refreshKeys = (): void => {
    server.hostKey = fs.readFileSync(`${hostKeyFile}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    server.knownHostsLine = `[127.0.0.1]:${port} ${server.hostKey}`;
  };
  refreshKeys();

  const knownHosts = path.join(sshDir, 'known_hosts');
  if ((options.knownHosts ?? 'plain') !== 'none') {
    fs.writeFileSync(knownHosts, server.knownHostsLine + '\n');
    if (options.knownHosts === 'hashed') {
      keygen(['-H', '-f', knownHosts]);
      fs.rmSync(`${knownHosts}.old`, { force: true });
    }
  }
  try {
    await start();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

// Ready when a connection gets the "SSH-2.0-" banner (the port being open is not enough after a restart).
async function waitForBanner(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      let data = '';
      sock.setTimeout(1000, () => (sock.destroy(), resolve(false)));
      sock.on('data', (d: Buffer) => {
        data += d.toString('latin1');
        if (data.startsWith('SSH-2.0-')) {
          sock.destroy();
          resolve(true);
        }
      });
      sock.on('error', () => resolve(false));
      sock.on('close', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd on port ${port} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
