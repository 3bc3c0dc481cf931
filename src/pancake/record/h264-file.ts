// One .h264 recording on disk: ordered, batched asynchronous appends, fdatasync on finish, errors reported once.
import fs from 'node:fs';
import { promisify } from 'node:util';
import type { Clock, Timer } from '../../common/clock.js';

const writev = promisify(fs.writev);
const ftruncate = promisify(fs.ftruncate);
const fdatasync = promisify(fs.fdatasync);
const close = promisify(fs.close);

/** Queued bytes that start a write at once. */
const BATCH_BYTES = 256 * 1024;
/** The longest a queued unit waits for a write (bounds what a crash of pancake itself can lose). */
const BATCH_MS = 500;

/**
 * Appends access units to a file without blocking the event loop: writes are queued and issued
 * one writev at a time, so a slow SD card delays only this file, never the camera or the live view.
 * Units are batched (256 KB or 0.5 s, whichever comes first): a write per frame costs a thread-pool
 * round trip each, which is most of what recording costs on a small Pi.
 */
export class H264File {
  private fd: number | undefined;
  private queue: Buffer[] = [];
  private queued = 0;
  private timer: Timer | undefined;
  private writing: Promise<void> | undefined;
  private failure: Error | undefined;
  bytes = 0;

  /** Takes over `fd`, a new empty file opened for writing (see {@link reserveFile}); closes it on finish. */
  constructor(
    readonly path: string,
    fd: number,
    private readonly clock: Clock,
  ) {
    this.fd = fd;
  }

  /** The first write or sync error, if any: the file is then finished as it is. */
  get error(): Error | undefined {
    return this.failure;
  }

  append(data: Buffer): void {
    if (this.failure) return;
    this.queue.push(data);
    this.queued += data.length;
    if (this.queued >= BATCH_BYTES) this.startWrite();
    else this.timer ??= this.clock.setTimeout(() => this.startWrite(), BATCH_MS);
  }

  private startWrite(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.writing || this.queue.length === 0 || this.failure) return;
    // Cleared only once the run has settled, never by drain() itself: a drain that ends at once
    // must not leave a settled promise here, which flush() would await forever without yielding
    // to the event loop (units queued during the write that failed used to do exactly that).
    const run: Promise<void> = this.drain().finally(() => {
      if (this.writing === run) this.writing = undefined;
    });
    this.writing = run;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.failure) {
      const batch = this.queue;
      this.queue = [];
      this.queued = 0;
      let written = 0;
      try {
        const size = batch.reduce((n, b) => n + b.length, 0);
        // writev may write less than asked (a full disk part-way): loop until all is written or it throws.
        while (written < size) {
          const { bytesWritten } = await writev(this.fd!, written === 0 ? batch : [concatFrom(batch, written)]);
          if (bytesWritten === 0) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
          written += bytesWritten;
        }
        this.bytes += size;
      } catch (err) {
        this.failure = err as Error;
        // Keep the access units of the batch that did reach the disk whole, and cut off the rest,
        // so the file ends with a whole access unit and decodes cleanly to its end (shrinking works
        // on a full disk too). A batch may hold seconds of video when the machine is busy.
        this.bytes += wholeUnits(batch, written);
        // What was queued meanwhile is never written: let it go.
        this.queue = [];
        this.queued = 0;
        await ftruncate(this.fd!, this.bytes).catch(() => {});
      }
    }
  }

  /** Writes everything queued now and waits for it. */
  async flush(): Promise<void> {
    this.startWrite();
    while (this.writing) await this.writing;
  }

  /** Writes what is queued, syncs and closes. Never throws; check {@link error}. */
  async finish(): Promise<void> {
    await this.flush();
    const fd = this.fd;
    if (fd === undefined) return;
    this.fd = undefined;
    try {
      if (!this.failure) await fdatasync(fd);
    } catch (err) {
      this.failure = err as Error;
    }
    await close(fd).catch(() => {});
  }
}

/** Bytes of the first units of `batch` that lie wholly within its first `written` bytes. */
export function wholeUnits(batch: readonly Buffer[], written: number): number {
  let whole = 0;
  for (const unit of batch) {
    if (whole + unit.length > written) break;
    whole += unit.length;
  }
  return whole;
}

function concatFrom(batch: Buffer[], offset: number): Buffer {
  return Buffer.concat(batch).subarray(offset);
}

/**
 * Creates the first free name of `candidates` with O_EXCL (so two recorders, or a restart within
 * the same minute, can never share or overwrite a file) and returns its path and descriptor.
 * Throws the file system's error (ENOSPC, EACCES, …) for anything but a name that is taken.
 */
export function reserveFile(candidates: Iterable<string>): { path: string; fd: number } {
  for (const path of candidates) {
    try {
      return { path, fd: fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error('no free file name');
}
