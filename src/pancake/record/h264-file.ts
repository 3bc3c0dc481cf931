// One .h264 recording on disk: ordered, batched asynchronous appends, fdatasync on finish, errors reported once.
import fs from 'node:fs';
import type { Clock, Timer } from '../../common/clock.js';

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
  private handle: fs.promises.FileHandle | undefined;
  private queue: Buffer[] = [];
  private queued = 0;
  private timer: Timer | undefined;
  private writing: Promise<void> | undefined;
  private failure: Error | undefined;
  bytes = 0;

  private constructor(
    readonly path: string,
    private readonly clock: Clock,
  ) {}

  /** Creates the file (never overwriting one that exists). */
  static async create(path: string, clock: Clock): Promise<H264File> {
    const file = new H264File(path, clock);
    file.handle = await fs.promises.open(path, 'wx', 0o644);
    return file;
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
    if (!this.writing && this.queue.length > 0) this.writing = this.drain();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.failure) {
      const batch = this.queue;
      this.queue = [];
      this.queued = 0;
      try {
        const size = batch.reduce((n, b) => n + b.length, 0);
        let written = 0;
        // writev may write less than asked (a full disk part-way): loop until all is written or it throws.
        while (written < size) {
          const { bytesWritten } = await this.handle!.writev(written === 0 ? batch : [concatFrom(batch, written)]);
          if (bytesWritten === 0) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
          written += bytesWritten;
        }
        this.bytes += size;
      } catch (err) {
        this.failure = err as Error;
        // Cut off the part of the batch that did get written, so the file ends with a whole
        // access unit and decodes cleanly to its end (shrinking works on a full disk too).
        await this.handle!.truncate(this.bytes).catch(() => {});
      }
    }
    this.writing = undefined;
  }

  /** Writes everything queued now and waits for it. */
  async flush(): Promise<void> {
    this.startWrite();
    while (this.writing) await this.writing;
  }

  /** Writes what is queued, syncs and closes. Never throws; check {@link error}. */
  async finish(): Promise<void> {
    await this.flush();
    if (!this.handle) return;
    try {
      if (!this.failure) await this.handle.datasync();
    } catch (err) {
      this.failure = err as Error;
    }
    await this.handle.close().catch(() => {});
    this.handle = undefined;
  }
}

function concatFrom(batch: Buffer[], offset: number): Buffer {
  return Buffer.concat(batch).subarray(offset);
}
