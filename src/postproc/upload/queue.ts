// The upload queue: every recording to every destination, durable across restarts, retried with backoff.
import fs from 'node:fs';
import path from 'node:path';
import type { Clock, Timer } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { backoffDelay, DEFAULT_BACKOFF, FAILING_AFTER, type BackoffOptions } from './backoff.js';
import {
  assertUploadName,
  describeDestination,
  destinationKey,
  remoteDayDir,
  type Connector,
  type DestinationSpec,
  type RemoteSession,
} from './destination.js';
import { CertificateError, FtpConnector } from './ftp.js';
import { parsePendingKey, pendingKey, PendingStore } from './pending-store.js';
import { S3Connector, S3RefusedError, type S3Options } from './s3.js';
import { HostKeyError, SftpConnector } from './sftp.js';

/** Something the user should hear about (postproc sends it over Telegram). */
export interface UploadProblem {
  /**
   * `host-key`: an SSH host key (or FTPS certificate) was refused. `refused`: an S3 service refused
   * the keys, the bucket or the region. `failing`: a destination keeps failing.
   */
  kind: 'host-key' | 'refused' | 'failing';
  destination: string;
  message: string;
}

export interface UploadQueueOptions {
  /** Durable pending state lives in `stateDir/uploads/<destination>/`. */
  stateDir: string;
  destinations: DestinationSpec[];
  clock: Clock;
  logger: Logger;
  /** `--upload-queue-size`: pending names held in memory per destination; more wait on disk, none is dropped. */
  maxInMemory: number;
  /** Where the SSH keys and known_hosts are (default ~/.ssh). */
  sshDir?: string;
  /** ssh-agent socket (default $SSH_AUTH_SOCK; '' for none). */
  sshAgent?: string;
  /** Retry schedule of a failing destination (default 10 s doubling to 10 min). */
  backoff?: BackoffOptions;
  /** SFTP transfer tuning (ssh2 fastPut): parallel requests and bytes per request. */
  sftp?: { concurrency?: number; chunkSize?: number };
  /** S3 tuning and test settings (part size, parts in flight, where standard credentials are looked up). */
  s3?: Omit<S3Options, 'logger'>;
  /**
   * Called when a host key or certificate is refused, or S3 refuses the keys or bucket (once per
   * refused key or S3 error code until an upload to that destination succeeds), and once when a
   * destination has failed {@link FAILING_AFTER} times in a row.
   */
  onProblem?: (problem: UploadProblem) => void;
}

const STATE_SUBDIR = 'uploads';

/**
 * Uploads each enqueued recording to every destination, into `remoteDir/YYYY/MM/DD`, or
 * `remoteDir/<camera>/YYYY/MM/DD` for a named camera's file (the camera is kept with the pending
 * file, so it survives a restart). Each destination has its own worker, so a slow or unreachable
 * one never holds back the others.
 */
export class UploadQueue {
  private readonly workers: DestinationWorker[];
  private state: 'new' | 'running' | 'closing' | 'closed' = 'new';
  private closing?: Promise<void>;

  constructor(private readonly options: UploadQueueOptions) {
    const root = path.join(options.stateDir, STATE_SUBDIR);
    const keys = new Set<string>();
    this.workers = options.destinations.map((spec) => {
      const key = destinationKey(spec);
      if (keys.has(key)) throw new Error(`upload destination given twice: ${describeDestination(spec)}`);
      keys.add(key);
      const connector: Connector =
        spec.kind === 'scp'
          ? new SftpConnector(spec, {
              logger: options.logger,
              ...(options.sshDir !== undefined ? { sshDir: options.sshDir } : {}),
              ...(options.sshAgent !== undefined ? { agent: options.sshAgent } : {}),
              ...options.sftp,
            })
          : spec.kind === 's3'
            ? new S3Connector(spec, { logger: options.logger, ...options.s3 })
            : new FtpConnector(spec, { logger: options.logger });
      return new DestinationWorker(spec, connector, new PendingStore(path.join(root, key), options.maxInMemory), options);
    });
  }

  /** Loads the pending state of a previous run and starts uploading what it left. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('UploadQueue.start: already started');
    this.state = 'running';
    await fs.promises.mkdir(path.join(this.options.stateDir, STATE_SUBDIR), { recursive: true });
    for (const w of this.workers) await w.open();
    await this.warnAboutOrphans();
    for (const w of this.workers) {
      const n = w.store.count();
      if (n > 0) {
        this.options.logger.info(`${w.name}: ${n} file(s) pending from before; uploading`);
        w.trigger();
      }
    }
  }

  /**
   * Adds a recording for every destination, in `camera`'s folder when given. Resolves once that is
   * on disk (fsync'd), so a crash afterwards cannot lose it. Rejects a path that is not absolute, a
   * name without a date, or an invalid camera name.
   */
  async enqueue(mp4Path: string, camera?: string): Promise<void> {
    if (this.state !== 'running') throw new Error(`UploadQueue.enqueue: queue is ${this.state}`);
    if (!path.isAbsolute(mp4Path)) throw new Error(`upload: not an absolute path: ${mp4Path}`);
    const fileName = path.basename(mp4Path);
    assertUploadName(fileName);
    const key = pendingKey(fileName, camera);
    await Promise.all(this.workers.map((w) => w.store.add(key, mp4Path)));
    this.options.logger.debug(`queued ${shown(fileName, camera)} for upload to ${this.workers.length} destination(s)`);
  }

  /**
   * A trigger fired: every idle destination uploads everything pending. A destination still busy
   * with an earlier run skips this trigger (logged), as the original skipped missed triggers.
   */
  runNow(): void {
    if (this.state !== 'running') return;
    for (const w of this.workers) {
      if (w.busy()) this.options.logger.info(`trigger skipped: upload still running: ${w.name}`);
      else w.trigger();
    }
  }

  /** What is pending per destination: the oldest names held in memory and the total count. */
  pending(): { destination: string; files: string[]; count: number }[] {
    return this.workers.map((w) => ({ destination: w.name, files: w.store.files(), count: w.store.count() }));
  }

  /**
   * Read-only, for the "backup behind" alert: per destination, how many files are pending and when
   * the oldest was queued (wall ms, from its marker; absent when none is pending or it cannot be read).
   */
  async backlog(): Promise<{ destination: string; count: number; oldestQueuedAt?: number }[]> {
    return Promise.all(this.workers.map(async (w) => {
      const count = w.store.count();
      const oldest = w.store.files()[0];
      if (count === 0 || oldest === undefined) return { destination: w.name, count };
      const queuedAt = await fs.promises.readFile(path.join(w.store.dir, `${oldest}.json`), 'utf8')
        .then((text) => Date.parse(String((JSON.parse(text) as { queuedAt?: unknown }).queuedAt)))
        .catch(() => NaN);
      return Number.isFinite(queuedAt) ? { destination: w.name, count, oldestQueuedAt: queuedAt } : { destination: w.name, count };
    }));
  }

  /** Stops: aborts a transfer in progress (its file stays pending), closes connections. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.state = 'closing';
      this.closing = Promise.all(this.workers.map((w) => w.close())).then(() => {
        this.state = 'closed';
      });
    }
    return this.closing;
  }

  // Pending state of destinations no longer configured is kept (the user may re-add them), but said.
  private async warnAboutOrphans(): Promise<void> {
    const root = path.join(this.options.stateDir, STATE_SUBDIR);
    const known = new Set(this.workers.map((w) => path.basename(w.store.dir)));
    for (const entry of await fs.promises.readdir(root, { withFileTypes: true })) {
      if (!entry.isDirectory() || known.has(entry.name)) continue;
      const dir = path.join(root, entry.name);
      const markers = (await fs.promises.readdir(dir)).filter((n) => n.endsWith('.json')).length;
      if (markers === 0) continue;
      const what = (await fs.promises.readFile(path.join(dir, 'destination.txt'), 'utf8').catch(() => entry.name)).trim();
      this.options.logger.warn(`${markers} file(s) still pending for ${what}, which is no longer configured; left in ${dir}`);
    }
  }
}

/** Uploads the pending files of one destination, one run at a time, retrying with backoff. */
class DestinationWorker {
  readonly name: string;
  private running?: Promise<void>;
  private session?: RemoteSession;
  private retryTimer?: Timer;
  private failures = 0;
  private failingSince?: number;
  private reportedFailing = false;
  private readonly reportedKeys = new Set<string>();
  private closed = false;

  constructor(
    private readonly spec: DestinationSpec,
    private readonly connector: Connector,
    readonly store: PendingStore,
    private readonly options: UploadQueueOptions,
  ) {
    this.name = describeDestination(spec);
  }

  open(): Promise<void> {
    return this.store.open(this.name);
  }

  busy(): boolean {
    return this.running !== undefined;
  }

  /** Starts a run now (cancelling a scheduled retry); does nothing while one is in progress. */
  trigger(): void {
    if (this.closed || this.running) return;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.running = this.run().finally(() => {
      this.running = undefined;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    // Closing the session aborts the transfer in progress; the run then ends quietly.
    await this.session?.close();
    await this.running;
  }

  private async run(): Promise<void> {
    const { logger } = this.options;
    try {
      for (;;) {
        if (this.closed) return;
        const key = await this.store.next();
        if (key === undefined) break;
        const parsed = parsePendingKey(key);
        const localPath = parsed === undefined ? undefined : await this.store.localPath(key).catch((err: Error) => {
          // Only a disk fault can corrupt a marker; skipping it keeps the others moving.
          logger.error(`${this.name}: unreadable pending entry for ${key} dropped: ${err.message}`);
          return undefined;
        });
        if (parsed === undefined || localPath === undefined) {
          if (parsed === undefined) logger.error(`${this.name}: pending entry ${JSON.stringify(key)} is no file name and camera; dropped`);
          await this.store.remove(key);
          continue;
        }
        const { fileName, camera } = parsed;
        const stat = await fs.promises.stat(localPath).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return undefined;
          throw err;
        });
        const dayDir = remoteDayDir(this.spec.remoteDir, fileName, camera);
        if (!stat?.isFile()) {
          // Deleted by the cleanup cron job before it could be uploaded: nothing left to send.
          logger.warn(`${this.name}: ${localPath} no longer exists; dropped from the upload queue`);
          await this.session?.discardTemp(dayDir, fileName);
          await this.store.remove(key);
          continue;
        }
        this.session ??= await this.connector.connect();
        if (this.closed) return;
        const started = this.options.clock.monotonic();
        await this.session.upload(localPath, dayDir, fileName, stat.mtimeMs);
        await this.store.remove(key);
        const seconds = (this.options.clock.monotonic() - started) / 1000;
        logger.info(`${this.name}: uploaded ${shown(fileName, camera)} (${(stat.size / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s)`);
      }
      this.succeeded();
    } catch (err) {
      if (this.closed) {
        logger.debug(`${this.name}: upload stopped by close: ${(err as Error).message}`);
        return;
      }
      this.failed(err as Error);
    } finally {
      const session = this.session;
      this.session = undefined;
      await session?.close();
    }
  }

  private succeeded(): void {
    if (this.failures > 0) this.options.logger.info(`${this.name}: uploads work again after ${this.failures} failed attempt(s)`);
    this.failures = 0;
    this.failingSince = undefined;
    this.reportedFailing = false;
    this.reportedKeys.clear();
  }

  private failed(err: Error): void {
    const { logger, clock } = this.options;
    this.failures++;
    this.failingSince ??= clock.now();
    const delay = backoffDelay(this.failures, this.options.backoff ?? DEFAULT_BACKOFF);
    const pending = this.store.count();
    logger.warn(`${this.name}: upload failed (attempt ${this.failures}, ${pending} file(s) pending): ${err.message}; retrying in ${Math.round(delay / 1000)} s`);
    if (err instanceof HostKeyError || err instanceof CertificateError || err instanceof S3RefusedError) {
      logger.error(err.message);
      const key = err instanceof HostKeyError ? err.key : err instanceof CertificateError ? err.fingerprint : err.s3Code;
      if (!this.reportedKeys.has(key)) {
        this.reportedKeys.add(key);
        this.report({ kind: err instanceof S3RefusedError ? 'refused' : 'host-key', destination: this.name, message: err.message });
      }
    }
    if (this.failures >= FAILING_AFTER && !this.reportedFailing) {
      this.reportedFailing = true;
      const since = new Date(this.failingSince).toISOString();
      this.report({
        kind: 'failing',
        destination: this.name,
        message: `${this.name}: uploads failing since ${since} (${this.failures} attempts, ${pending} file(s) pending): ${err.message}`,
      });
    }
    this.retryTimer = clock.setTimeout(() => this.trigger(), delay);
  }

  private report(problem: UploadProblem): void {
    try {
      this.options.onProblem?.(problem);
    } catch (err) {
      this.options.logger.error(`upload problem callback failed: ${(err as Error).message}`);
    }
  }
}

/** A pending file as logs show it: `front/20260101-1200.mp4` for a named camera's file. */
function shown(fileName: string, camera: string | undefined): string {
  return camera === undefined ? fileName : `${camera}/${fileName}`;
}
