// SFTP uploads (`--upload-scp`): host key checked against known_hosts, keys from ssh-agent or ~/.ssh.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2, { type AgentAuthMethod, type PublicKeyAuthMethod, type SFTPWrapper } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import type { Logger } from '../../common/log.js';
import { describeDestination, remoteTempName, type Connector, type DestinationSpec, type RemoteSession } from './destination.js';
import { blobKeyType, checkHostKey, hostKeyAlgorithms, keyFingerprint, knownHostName, parseKnownHosts, type HostKeyVerdict } from './known-hosts.js';

/** The default keys ssh tries, in its order. */
export const DEFAULT_KEY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/** Thrown when a server's host key is not accepted; the message says what to do about it. */
export class HostKeyError extends Error {
  readonly code = 'HOST_KEY_REFUSED';
  constructor(
    message: string,
    readonly verdict: Exclude<HostKeyVerdict['status'], 'known'>,
    /** The refused key as `<type> SHA256:...`. */
    readonly key: string,
  ) {
    super(message);
    this.name = 'HostKeyError';
  }
}

export interface SftpOptions {
  /** Where id_ed25519/id_ecdsa/id_rsa and known_hosts are (default ~/.ssh). */
  sshDir?: string;
  /** ssh-agent socket (default $SSH_AUTH_SOCK); an empty string disables the agent. */
  agent?: string;
  /** Extra known_hosts files read after sshDir/known_hosts (default /etc/ssh/ssh_known_hosts when sshDir is the default). */
  globalKnownHosts?: string[];
  logger: Logger;
  /** Parallel SFTP write requests in flight per file (ssh2's fastPut). */
  concurrency?: number;
  /** Bytes per SFTP write request. */
  chunkSize?: number;
  /** Milliseconds to wait for the SSH handshake. */
  readyTimeout?: number;
}

type ScpSpec = Extract<DestinationSpec, { kind: 'scp' }>;

/** Opens SFTP sessions to one `--upload-scp` destination. */
export class SftpConnector implements Connector {
  private readonly sshDir: string;
  private readonly knownHostsFiles: string[];
  private readonly warned = new Set<string>();

  constructor(
    private readonly spec: ScpSpec,
    private readonly options: SftpOptions,
  ) {
    this.sshDir = options.sshDir ?? path.join(os.homedir(), '.ssh');
    const global = options.globalKnownHosts ?? (options.sshDir === undefined ? ['/etc/ssh/ssh_known_hosts'] : []);
    this.knownHostsFiles = [path.join(this.sshDir, 'known_hosts'), ...global];
  }

  async connect(): Promise<RemoteSession> {
    const { spec, options } = this;
    // Read on every connection, so a key the user adds (or a fixed known_hosts) works without a restart.
    const entries = this.knownHostsFiles.flatMap((file) => parseKnownHosts(readIfExists(file) ?? ''));
    const auth = this.authMethods();
    if (auth.length === 0) {
      throw new Error(
        `${describeDestination(spec)}: no SSH key to log in with: no ssh-agent (SSH_AUTH_SOCK) and none of ${DEFAULT_KEY_FILES.join(', ')} in ${this.sshDir}`,
      );
    }
    let refused: HostKeyError | undefined;
    const client = new SftpClient(describeDestination(spec), {
      // Errors and ends outside a call (an idle connection dropped) only matter to the next call, which fails itself.
      error: (err) => options.logger.debug(`${describeDestination(spec)}: connection error: ${(err as Error).message}`),
      end: () => {},
      close: () => {},
    });
    try {
      const sftp = await client.connect({
        host: spec.host,
        port: spec.port,
        username: spec.user,
        authHandler: auth,
        readyTimeout: options.readyTimeout ?? 20_000,
        keepaliveInterval: 15_000,
        algorithms: { serverHostKey: hostKeyAlgorithms(entries, spec.host, spec.port) as never },
        hostVerifier: (key: Buffer) => {
          const verdict = checkHostKey(entries, spec.host, spec.port, key);
          if (verdict.status !== 'known') refused = this.refusal(verdict, key);
          return verdict.status === 'known';
        },
      });
      return new SftpSession(client, sftp, spec, options);
    } catch (err) {
      await client.end().catch(() => {});
      if (refused) throw refused;
      throw err;
    }
  }

  private refusal(verdict: Exclude<HostKeyVerdict, { status: 'known' }>, key: Buffer): HostKeyError {
    const { spec } = this;
    const name = knownHostName(spec.host, spec.port);
    const shown = `${blobKeyType(key)} ${keyFingerprint(key)}`;
    const where = path.join(this.sshDir, 'known_hosts');
    const sshCommand = `ssh${spec.port === 22 ? '' : ` -p ${spec.port}`} ${spec.user}@${spec.host}`;
    const dest = describeDestination(spec);
    switch (verdict.status) {
      case 'unknown':
        return new HostKeyError(
          `${dest}: host key refused: ${name} is not in ${where} (the server offered ${shown}). ` +
            `Check the fingerprint on the server (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then connect once with "${sshCommand}" to record it`,
          'unknown',
          shown,
        );
      case 'changed':
        return new HostKeyError(
          `${dest}: host key refused: the key of ${name} has CHANGED (known: ${verdict.knownTypes.join(', ')}; the server offered ${shown}). ` +
            `Someone may be intercepting the connection. If the server was reinstalled, remove the old key with ssh-keygen -R '${name}' and connect once with "${sshCommand}"`,
          'changed',
          shown,
        );
      case 'revoked':
        return new HostKeyError(`${dest}: host key refused: ${shown} is marked @revoked in known_hosts`, 'revoked', shown);
    }
  }

  // ssh's order: the agent first, then the default key files. Encrypted keys need a passphrase we
  // do not have (the agent is the way to use them), so they are skipped with a warning.
  private authMethods(): (AgentAuthMethod | PublicKeyAuthMethod)[] {
    const username = this.spec.user;
    const methods: (AgentAuthMethod | PublicKeyAuthMethod)[] = [];
    const agent = this.options.agent ?? process.env.SSH_AUTH_SOCK ?? '';
    if (agent !== '') methods.push({ type: 'agent', username, agent });
    for (const file of DEFAULT_KEY_FILES) {
      const keyPath = path.join(this.sshDir, file);
      const text = readIfExists(keyPath);
      if (text === undefined) continue;
      const parsed = ssh2.utils.parseKey(text);
      if (parsed instanceof Error) {
        this.warnOnce(keyPath, `${keyPath}: not used: ${parsed.message} (add it to ssh-agent instead)`);
        continue;
      }
      methods.push({ type: 'publickey', username, key: text });
    }
    return methods;
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.options.logger.warn(message);
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

class SftpSession implements RemoteSession {
  private readonly madeDirs = new Set<string>();
  private closed = false;
  private abort!: (reason: Error) => void;
  // Settles (rejects) when the connection goes away. ssh2-sftp-client leaves a transfer's promise
  // pending forever when end() is called during it, so every step races against this.
  private readonly gone = new Promise<never>((_, reject) => {
    this.abort = reject;
  });

  constructor(
    private readonly client: SftpClient,
    private readonly sftp: SFTPWrapper,
    private readonly spec: ScpSpec,
    private readonly options: SftpOptions,
  ) {
    this.gone.catch(() => {});
    // Also when the server drops the connection, or ssh2's keepalive gives up on a silent one.
    client.on('close', () => this.abort(new Error(`${describeDestination(spec)}: connection closed`)));
  }

  private step<T>(work: Promise<T>): Promise<T> {
    work.catch(() => {});
    return Promise.race([work, this.gone]);
  }

  async upload(localPath: string, dayDir: string, fileName: string, mtimeMs: number): Promise<void> {
    if (!this.madeDirs.has(dayDir)) {
      await this.step(this.client.mkdir(dayDir, true));
      this.madeDirs.add(dayDir);
    }
    const temp = path.posix.join(dayDir, remoteTempName(fileName));
    const final = path.posix.join(dayDir, fileName);
    const size = (await fs.promises.stat(localPath)).size;
    // fastPut opens the remote file with O_TRUNC, so a leftover of a killed attempt is overwritten.
    await this.step(
      this.client.fastPut(localPath, temp, {
        concurrency: this.options.concurrency ?? 64,
        chunkSize: this.options.chunkSize ?? 32 * 1024,
      }),
    );
    const written = (await this.step(this.client.stat(temp))).size;
    if (written !== size) throw new Error(`${temp}: uploaded ${written} of ${size} bytes`);
    // Set the time before the rename, so the file appears under its final name complete in every way.
    const seconds = Math.floor(mtimeMs / 1000);
    await this.step(call((cb) => this.sftp.utimes(temp, seconds, seconds, cb)));
    await this.step(this.renameOver(temp, final));
  }

  // Plain SFTP rename fails when the target exists (a re-upload after a crash between rename and
  // state write); OpenSSH's posix-rename replaces it atomically. Other servers: remove, then rename.
  private async renameOver(from: string, to: string): Promise<void> {
    try {
      await call((cb) => this.sftp.ext_openssh_rename(from, to, cb));
    } catch (posixErr) {
      try {
        await this.client.delete(to, true);
        await this.client.rename(from, to);
      } catch (err) {
        throw new Error(`${(err as Error).message} (posix-rename: ${(posixErr as Error).message})`);
      }
    }
  }

  async discardTemp(dayDir: string, fileName: string): Promise<void> {
    await this.step(this.client.delete(path.posix.join(dayDir, remoteTempName(fileName)), true)).catch(() => {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort(new Error(`${describeDestination(this.spec)}: upload aborted: connection closed`));
    await this.client.end().catch((err: Error) => this.options.logger.debug(`${describeDestination(this.spec)}: close: ${err.message}`));
  }
}

function call(fn: (cb: (err?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}
