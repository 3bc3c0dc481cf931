// Upload destinations: what the user configured, how it is shown, and where a file goes remotely.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { cameraNameError } from '../../common/camera-name.js';
import { parseRecordingName, type RecordingName } from '../../common/recording-name.js';
import type { S3CredentialSource } from './s3-credentials.js';

/**
 * One `--upload-scp`, `--upload-ftp` or `--upload-s3` destination.
 *
 * `scp` is uploaded over SFTP (ssh2-sftp-client speaks SFTP, not the old scp protocol; OpenSSH's
 * own `scp` uses SFTP too since 9.0), so the server needs its sftp subsystem, which every OpenSSH
 * server has.
 *
 * For `ftp` with `secure: true` (explicit FTPS, AUTH TLS) the server's certificate is verified
 * against the system's CAs and the host name, unless `tlsFingerprint` pins one certificate (the
 * usual case for a self-signed certificate on a LAN) or `tlsInsecure` accepts any certificate
 * (logged as a warning with the certificate's fingerprint on every connection).
 *
 * For `s3`, `remoteDir` is the key prefix (no leading or trailing `/`, '' for none): objects are
 * `remoteDir/[camera/]YYYY/MM/DD/name`.
 */
export type DestinationSpec =
  | { kind: 'scp'; user: string; host: string; port: number; remoteDir: string }
  | {
      kind: 'ftp';
      host: string;
      port: number;
      user: string;
      password: string;
      remoteDir: string;
      secure: boolean;
      /** SHA-256 fingerprint of the one certificate to accept, as `openssl x509 -fingerprint -sha256` prints it. */
      tlsFingerprint?: string;
      /** Accept any certificate (encryption without authentication of the server). */
      tlsInsecure?: boolean;
    }
  | {
      kind: 's3';
      bucket: string;
      remoteDir: string;
      /** `--s3-endpoint`, normalised; absent for AWS (whose endpoint follows from the region). */
      endpoint?: string;
      region: string;
      /** `--s3-path-style`: `endpoint/bucket/key` instead of `bucket.endpoint/key`. */
      pathStyle: boolean;
      credentials: S3CredentialSource;
    };

/**
 * How a destination appears in logs and messages, e.g. "scp pi@192.168.1.23:22 bak/cam1" or
 * "s3 cctv/cam1 at https://s3.eu-central-003.backblazeb2.com". Never a password or key.
 */
export function describeDestination(spec: DestinationSpec): string {
  if (spec.kind === 's3') {
    const where = spec.endpoint ?? `AWS ${spec.region}`;
    return `s3 ${spec.bucket}${spec.remoteDir === '' ? '' : `/${spec.remoteDir}`} at ${where}`;
  }
  const host = spec.host.includes(':') ? `[${spec.host}]` : spec.host;
  const kind = spec.kind === 'ftp' && spec.secure ? 'ftps' : spec.kind;
  return `${kind} ${spec.user}@${host}:${spec.port} ${spec.remoteDir}`;
}

/**
 * A stable name for a destination's pending state on disk: the same server, user and remote
 * directory keep their pending files across restarts, whatever the password or TLS settings.
 */
export function destinationKey(spec: DestinationSpec): string {
  if (spec.kind === 's3') {
    // The region is left out: correcting a wrong --s3-region keeps what is pending.
    const endpoint = (spec.endpoint ?? 'aws').toLowerCase();
    const identity = JSON.stringify([spec.kind, spec.bucket, endpoint, spec.remoteDir]);
    const hash = createHash('sha256').update(identity).digest('hex').slice(0, 12);
    const host = spec.endpoint === undefined ? 'aws' : new URL(spec.endpoint).host;
    const readable = `s3-${spec.bucket}@${host}`.replace(/[^A-Za-z0-9@._-]/g, '_').slice(0, 60);
    return `${readable}-${hash}`;
  }
  const identity = JSON.stringify([spec.kind, spec.user, spec.host.toLowerCase(), spec.port, spec.remoteDir]);
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 12);
  const readable = `${spec.kind}-${spec.user}@${spec.host.toLowerCase()}-${spec.port}`.replace(/[^A-Za-z0-9@._-]/g, '_').slice(0, 60);
  return `${readable}-${hash}`;
}

/** Thrown for a file whose name carries no recording date; it can never be uploaded. */
export class UploadNameError extends Error {
  readonly code = 'UPLOAD_BAD_NAME';
  constructor(fileName: string) {
    super(`cannot upload ${JSON.stringify(fileName)}: the name is not YYYYMMDD-hhmm[ss].ext or YYYYMMDD-hhmm[ss]-N.ext with a real date and time`);
    this.name = 'UploadNameError';
  }
}

/**
 * Checks that `fileName` (a base name) is a recording's name and returns what it says; throws
 * {@link UploadNameError} otherwise (see {@link parseRecordingName}: a real date and time, any
 * restart suffix `-2`, `-3` …, one extension).
 */
export function assertUploadName(fileName: string): RecordingName {
  const name = parseRecordingName(fileName);
  if (!name) throw new UploadNameError(fileName);
  return name;
}

/**
 * The remote folder of a recording: `20200624-0900.mp4` (or `20200624-0900-2.mp4`) →
 * `remoteDir/2020/06/24`, or `remoteDir/<camera>/2020/06/24` when a camera name is given. The date
 * is taken from the file name as the original did (not from the upload time, so late uploads land
 * right). Throws {@link UploadNameError} for a name without a date, and an Error for a camera name
 * that {@link cameraNameError} refuses (it could climb out of `remoteDir` or split into folders).
 */
export function remoteDayDir(remoteDir: string, fileName: string, camera?: string): string {
  const { year, month, day } = assertUploadName(fileName);
  if (camera !== undefined) {
    const problem = cameraNameError(camera);
    if (problem !== undefined) throw new Error(`cannot upload ${JSON.stringify(fileName)}: ${problem}`);
  }
  const date = [String(year).padStart(4, '0'), String(month).padStart(2, '0'), String(day).padStart(2, '0')];
  return path.posix.join(remoteDir === '' ? '.' : remoteDir, ...(camera === undefined ? [] : [camera]), ...date);
}

/**
 * The name a file is written under before it is renamed into place. Fixed per file (not random),
 * so a retry after a crash overwrites the leftover of the killed attempt instead of adding another;
 * hidden, so directory listings and viewers skip it.
 */
export function remoteTempName(fileName: string): string {
  return `.${fileName}.part`;
}

/** One connection to a destination, uploading one file at a time. */
export interface RemoteSession {
  /**
   * Uploads `localPath` as `dayDir/fileName`: creates the folders, writes a temporary name, sets
   * the modification time, renames into place (replacing an earlier copy of the same file).
   */
  upload(localPath: string, dayDir: string, fileName: string, mtimeMs: number): Promise<void>;
  /** Removes the temporary file of `fileName` if one was left behind; never throws. */
  discardTemp(dayDir: string, fileName: string): Promise<void>;
  /** Closes the connection, aborting a transfer in progress; idempotent. */
  close(): Promise<void>;
}

/** Connects to one destination. */
export interface Connector {
  connect(): Promise<RemoteSession>;
}
