// FTP and explicit FTPS uploads (`--upload-ftp`) with basic-ftp; the server's certificate is checked before the password is sent.
import fs from 'node:fs';
import path from 'node:path';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { Client } from 'basic-ftp';
import type { Logger } from '../../common/log.js';
import { describeDestination, remoteTempName, type Connector, type DestinationSpec, type RemoteSession } from './destination.js';

type FtpSpec = Extract<DestinationSpec, { kind: 'ftp' }>;

/** Thrown when an FTPS server's certificate is not accepted; reported like an SSH host key refusal. */
export class CertificateError extends Error {
  readonly code = 'TLS_CERT_REFUSED';
  constructor(
    message: string,
    /** SHA-256 fingerprint of the refused certificate, in the form `tlsFingerprint` takes. */
    readonly fingerprint: string,
  ) {
    super(message);
    this.name = 'CertificateError';
  }
}

/** Normalises a SHA-256 fingerprint: `sha256 Fingerprint=ab:cd...`, `AB:CD...` and `abcd...` compare equal. */
export function normalizeFingerprint(text: string): string {
  return text.replace(/^.*=/, '').replace(/^sha256:/i, '').replace(/[^0-9a-f]/gi, '').toUpperCase();
}

export interface FtpOptions {
  logger: Logger;
  /** Control-connection timeout in milliseconds. */
  timeout?: number;
}

/** Opens FTP or FTPS sessions to one `--upload-ftp` destination. */
export class FtpConnector implements Connector {
  private pinnedPem?: string;

  constructor(
    private readonly spec: FtpSpec,
    private readonly options: FtpOptions,
  ) {}

  async connect(): Promise<RemoteSession> {
    const { spec } = this;
    const client = new Client(this.options.timeout ?? 30_000);
    try {
      await client.connect(spec.host, spec.port);
      if (spec.secure) await this.startTls(client);
      // As basic-ftp's access(), but split so the certificate is judged before the password goes out.
      await client.sendIgnoringError('OPTS UTF8 ON');
      await client.login(spec.user, spec.password);
      await client.useDefaultSettings();
      const home = await client.pwd();
      const mfmt = (await client.features()).has('MFMT');
      return new FtpSession(client, home, mfmt, spec, this.options.logger);
    } catch (err) {
      client.close();
      throw err;
    }
  }

  // Certificate policy: verified against the system CAs and the host name by default; with
  // tlsFingerprint only that certificate is accepted (a self-signed one on a LAN); with
  // tlsInsecure anything, with a warning. The password is sent only after the check.
  private async startTls(client: Client): Promise<void> {
    const { spec } = this;
    if (spec.tlsFingerprint !== undefined) {
      // Data connections resume the control connection's TLS session, and a resumed session keeps
      // the verification result of the first handshake: so the control connection itself must be
      // verified against the pinned certificate, which a first look (probe) at the server provides.
      this.pinnedPem ??= await this.probePinned();
      const options: ConnectionOptions = { host: spec.host, ca: this.pinnedPem, checkServerIdentity: () => undefined };
      try {
        await client.useTLS(options);
      } catch (err) {
        // The certificate changed since the probe: look again next time, and say what it is now.
        this.pinnedPem = undefined;
        throw err;
      }
      return;
    }
    await client.useTLS({ host: spec.host, rejectUnauthorized: false });
    const socket = client.ftp.socket as TLSSocket;
    const fingerprint = socket.getPeerCertificate().fingerprint256 ?? '';
    const dest = describeDestination(spec);
    if (spec.tlsInsecure) {
      this.options.logger.warn(`${dest}: accepting the server's TLS certificate unchecked (SHA-256 ${fingerprint}); pin it instead to be safe`);
      client.ftp.tlsOptions = { host: spec.host, rejectUnauthorized: false };
      return;
    }
    // Handshaking with rejectUnauthorized off lets a refused certificate's fingerprint be shown for pinning.
    if (!socket.authorized) {
      throw new CertificateError(
        `${dest}: TLS certificate refused: ${String(socket.authorizationError)} (SHA-256 ${fingerprint}). ` +
          `For a self-signed certificate you trust, pin this fingerprint`,
        fingerprint,
      );
    }
    client.ftp.tlsOptions = { host: spec.host };
  }

  // Connects once to read the server's certificate, and keeps it only if it is the pinned one.
  private async probePinned(): Promise<string> {
    const { spec } = this;
    const probe = new Client(this.options.timeout ?? 30_000);
    try {
      await probe.connect(spec.host, spec.port);
      await probe.useTLS({ host: spec.host, rejectUnauthorized: false });
      const cert = (probe.ftp.socket as TLSSocket).getPeerCertificate();
      const fingerprint = cert.fingerprint256 ?? '';
      if (normalizeFingerprint(fingerprint) !== normalizeFingerprint(spec.tlsFingerprint ?? '')) {
        throw new CertificateError(
          `${describeDestination(spec)}: TLS certificate refused: its SHA-256 fingerprint ${fingerprint} is not the pinned ${spec.tlsFingerprint}`,
          fingerprint,
        );
      }
      return `-----BEGIN CERTIFICATE-----\n${cert.raw.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
    } finally {
      probe.close();
    }
  }
}

class FtpSession implements RemoteSession {
  private closed = false;
  private warnedMfmt = false;

  constructor(
    private readonly client: Client,
    private readonly home: string,
    private readonly mfmt: boolean,
    private readonly spec: FtpSpec,
    private readonly logger: Logger,
  ) {}

  async upload(localPath: string, dayDir: string, fileName: string, mtimeMs: number): Promise<void> {
    const { client } = this;
    // Relative remote dirs are relative to the login folder, as with ncftpput.
    await client.cd(this.home);
    await client.ensureDir(dayDir);
    const temp = remoteTempName(fileName);
    const size = (await fs.promises.stat(localPath)).size;
    await client.uploadFrom(localPath, temp);
    const written = await client.size(temp);
    if (written !== size) throw new Error(`${path.posix.join(dayDir, temp)}: uploaded ${written} of ${size} bytes`);
    if (this.mfmt) {
      await client.send(`MFMT ${mfmtTime(mtimeMs)} ${temp}`);
    } else if (!this.warnedMfmt) {
      this.warnedMfmt = true;
      this.logger.warn(`${describeDestination(this.spec)}: the server has no MFMT; uploaded files get the upload time`);
    }
    try {
      await client.rename(temp, fileName);
    } catch (err) {
      // Servers that refuse to rename onto an existing file (a re-upload after a crash): remove it first.
      await client.remove(fileName, true);
      await client.rename(temp, fileName).catch((again: Error) => {
        throw new Error(`${again.message} (first attempt: ${(err as Error).message})`);
      });
    }
  }

  async discardTemp(dayDir: string, fileName: string): Promise<void> {
    try {
      await this.client.cd(this.home);
      await this.client.cd(dayDir);
      await this.client.remove(remoteTempName(fileName), true);
    } catch {
      // Nothing there, or the folder does not exist: nothing to clean.
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}

/** MFMT's time format: YYYYMMDDhhmmss in UTC. */
export function mfmtTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}
