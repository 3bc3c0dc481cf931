// S3-compatible uploads (`--upload-s3`): one object per recording, sent in parts by the AWS SDK's lib-storage.
import fs from 'node:fs';
import path from 'node:path';
import {
  AbortMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Logger } from '../../common/log.js';
import { parseRecordingName } from '../../common/recording-name.js';
import { describeDestination, type Connector, type DestinationSpec, type RemoteSession } from './destination.js';
import { loadS3Keys, S3CredentialsError, type CredentialPlaces } from './s3-credentials.js';

type S3Spec = Extract<DestinationSpec, { kind: 's3' }>;

/** Bytes per part: S3's minimum is 5 MiB; memory use is about partSize × partConcurrency. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** Parts in flight at once. */
export const DEFAULT_PART_CONCURRENCY = 4;

// Errors that no retry fixes until the user does something: keys, permissions, bucket, region.
const REFUSALS: Record<string, string> = {
  InvalidAccessKeyId: 'the access key id is not known to the service: check --s3-credentials or AWS_ACCESS_KEY_ID',
  SignatureDoesNotMatch: 'the secret key is wrong: check --s3-credentials or AWS_SECRET_ACCESS_KEY',
  AccessDenied: 'the key may not write to this bucket or prefix',
  AllAccessDisabled: 'all access to this bucket is disabled',
  AccountProblem: 'the service reports a problem with the account',
  ExpiredToken: 'the session token has expired',
  InvalidToken: 'the session token is not valid',
  NoSuchBucket: 'the bucket does not exist: create it, or check the name and --s3-endpoint',
  PermanentRedirect: 'the bucket is in another region: check --s3-region',
  AuthorizationHeaderMalformed: 'the region is probably wrong: check --s3-region',
  InvalidBucketName: 'the service refuses the bucket name',
  NoCredentials: 'no keys to sign with',
};

/**
 * Thrown when the service refuses the keys, the bucket or the region (not a network problem):
 * `s3Code` is S3's error code, e.g. `SignatureDoesNotMatch`. Reported like a refused host key.
 */
export class S3RefusedError extends Error {
  readonly code = 'S3_REFUSED';
  constructor(
    message: string,
    readonly s3Code: string,
  ) {
    super(message);
    this.name = 'S3RefusedError';
  }
}

export interface S3Options {
  logger: Logger;
  /** Bytes per part (≥ 5 MiB; default {@link DEFAULT_PART_SIZE}); a smaller file goes up in one PUT. */
  partSize?: number;
  /** Parts in flight at once (default {@link DEFAULT_PART_CONCURRENCY}). */
  partConcurrency?: number;
  /** Where the standard credentials are looked up (default: this process's environment and home). */
  places?: CredentialPlaces;
  /** Attempts per request inside the SDK before a failure reaches the queue (default 3). */
  maxAttempts?: number;
  /** Milliseconds to wait for a TCP connection (default 15 s). */
  connectionTimeout?: number;
  /** Milliseconds a socket may be silent before it is given up (default 120 s). */
  socketTimeout?: number;
}

/** Object metadata of a recording: when it started (from its name, in this machine's zone) and its mtime. */
export function recordingMetadata(fileName: string, mtimeMs: number): Record<string, string> {
  const meta: Record<string, string> = { mtime: (mtimeMs / 1000).toFixed(3).replace(/\.?0+$/, '') };
  const name = parseRecordingName(fileName);
  if (name) {
    const start = new Date(name.year, name.month - 1, name.day, name.hour, name.minute, name.second ?? 0);
    start.setFullYear(name.year); // years below 100 are not 19xx
    meta['recording-start'] = localIso(start);
  }
  return meta;
}

/** `2020-06-24T09:00:00+02:00`: local wall time with its offset from UTC. */
export function localIso(date: Date): string {
  const pad = (n: number, w = 2): string => String(Math.abs(n)).padStart(w, '0');
  const offset = -date.getTimezoneOffset();
  const zone = `${offset < 0 ? '-' : '+'}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
  return `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${zone}`;
}

/** The content type of an uploaded recording. */
export function contentType(fileName: string): string {
  return path.extname(fileName).toLowerCase() === '.mp4' ? 'video/mp4' : 'application/octet-stream';
}

/** Opens sessions to one `--upload-s3` destination: a client with keys read afresh each time. */
export class S3Connector implements Connector {
  private readonly name: string;

  constructor(
    private readonly spec: S3Spec,
    private readonly options: S3Options,
  ) {
    this.name = describeDestination(spec);
    const partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isInteger(partSize) || partSize < 5 * 1024 * 1024) throw new RangeError(`S3 part size must be at least 5 MiB: ${partSize}`);
    // The SDK warns on Node < 22 that *later* releases will need it; the pinned release supports
    // Node 20 (its engines field says >=20), so the warning would only be noise in the journal.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  }

  async connect(): Promise<RemoteSession> {
    const { spec, options } = this;
    let keys;
    try {
      keys = loadS3Keys(spec.credentials, options.places);
    } catch (err) {
      if (err instanceof S3CredentialsError) throw new S3RefusedError(`${this.name}: ${err.message}`, 'NoCredentials');
      throw err;
    }
    const client = new S3Client({
      region: spec.region,
      ...(spec.endpoint !== undefined ? { endpoint: spec.endpoint } : {}),
      forcePathStyle: spec.pathStyle,
      credentials: keys,
      // The SDK's default (a CRC32 checksum on every upload, aws-chunked bodies) is refused by
      // Cloudflare R2 and Backblaze B2, among others; checksums only where S3 demands them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Only AWS tells the right region in a redirect; other services have one endpoint per region.
      followRegionRedirects: spec.endpoint === undefined,
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: { connectionTimeout: options.connectionTimeout ?? 15_000, socketTimeout: options.socketTimeout ?? 120_000 },
    });
    return new S3Session(client, spec, this.name, options);
  }
}

class S3Session implements RemoteSession {
  private closed = false;
  private current?: Upload;

  constructor(
    private readonly client: S3Client,
    private readonly spec: S3Spec,
    private readonly name: string,
    private readonly options: S3Options,
  ) {}

  /**
   * Uploads `localPath` as the object `dayDir/fileName`. An object already there with the same
   * size is taken as this file sent before (a crash between the upload and forgetting it) and is
   * not sent again. S3 makes an object visible only once it is complete, so no temporary name is
   * needed; an interrupted multipart upload leaves parts, which are aborted.
   */
  async upload(localPath: string, dayDir: string, fileName: string, mtimeMs: number): Promise<void> {
    const key = path.posix.join(dayDir, fileName);
    const size = (await fs.promises.stat(localPath)).size;
    const there = await this.remoteSize(key);
    if (there === size) {
      this.options.logger.info(`${this.name}: ${key} is already there with the same size (${size} bytes); not sent again`);
      return;
    }
    if (this.closed) throw new Error(`${this.name}: upload aborted: closed`);
    const body = fs.createReadStream(localPath);
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.spec.bucket,
        Key: key,
        Body: body,
        ContentLength: size,
        ContentType: contentType(fileName),
        Metadata: recordingMetadata(fileName, mtimeMs),
      },
      partSize: this.options.partSize ?? DEFAULT_PART_SIZE,
      queueSize: this.options.partConcurrency ?? DEFAULT_PART_CONCURRENCY,
      leavePartsOnError: false,
    });
    this.current = upload;
    try {
      await upload.done();
    } catch (err) {
      throw this.explain(err, `upload of ${key}`);
    } finally {
      this.current = undefined;
      body.destroy();
    }
    // As over SFTP and FTP: what the server has must be as long as the file. A write-only key
    // (a good idea for backups) may not read it back; the service has then confirmed the upload.
    const written = await this.remoteSize(key);
    if (written !== undefined && written !== 'unknown' && written !== size) throw new Error(`${this.name}: ${key}: uploaded ${written} of ${size} bytes`);
  }

  /** Aborts unfinished multipart uploads of `dayDir/fileName` (parts of a killed attempt); never throws. */
  async discardTemp(dayDir: string, fileName: string): Promise<void> {
    const key = path.posix.join(dayDir, fileName);
    try {
      const list = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.spec.bucket, Prefix: key }));
      for (const u of list.Uploads ?? []) {
        if (u.Key !== key || u.UploadId === undefined) continue;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.spec.bucket, Key: key, UploadId: u.UploadId }));
      }
    } catch (err) {
      this.options.logger.debug(`${this.name}: could not look for unfinished uploads of ${key}: ${(err as Error).message}`);
    }
  }

  /** Aborts an upload in progress (its parts are aborted on the server) and closes the connections; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.current?.abort().catch(() => {});
    this.client.destroy();
  }

  // The size of the object, undefined when there is none, 'unknown' when the key may not look.
  private async remoteSize(key: string): Promise<number | undefined | 'unknown'> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.spec.bucket, Key: key }));
      return head.ContentLength;
    } catch (err) {
      if (!(err instanceof S3ServiceException)) throw this.explain(err, `looking up ${key}`);
      if (err.$metadata.httpStatusCode === 404) return undefined;
      // A HEAD answer has no body, so an error does not say why: a write-only key (403), or bad
      // keys, bucket or region, which the upload itself then reports with S3's code and message.
      this.options.logger.debug(`${this.name}: cannot look up ${key}: HTTP ${err.$metadata.httpStatusCode ?? '?'} ${err.name}`);
      return 'unknown';
    }
  }

  // S3's code and message (for the log and Telegram), the HTTP status, and what to do about it.
  private explain(err: unknown, what: string): Error {
    if (this.closed) return new Error(`${this.name}: ${what}: stopped: ${(err as Error).message}`);
    if (!(err instanceof S3ServiceException)) {
      const e = err as NodeJS.ErrnoException;
      const where = this.spec.endpoint ?? `AWS ${this.spec.region}`;
      const detail = e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message;
      return new Error(`${this.name}: ${what}: cannot reach ${where}: ${detail}`);
    }
    const status = err.$metadata.httpStatusCode;
    // HEAD errors carry no body: the SDK names them after the status ("NotFound", "Forbidden", "403").
    const code = err.name;
    const message = err.message && err.message !== 'UnknownError' ? err.message : `HTTP ${status ?? '?'}`;
    const hint = REFUSALS[code];
    const text = `${this.name}: ${what}: ${code}${status !== undefined ? ` (HTTP ${status})` : ''}: ${message}${hint ? ` (${hint})` : ''}`;
    return hint ? new S3RefusedError(text, code) : new Error(text);
  }
}
