// A durable append-only file of JSON lines in postproc's state directory: fdatasync'd appends, torn lines skipped, atomic rewrites.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../common/log.js';

export interface NdjsonLogOptions<L> {
  /** The state directory and the file's name in it. */
  dir: string;
  name: string;
  /** What its messages are prefixed with (`journal`). */
  label: string;
  logger: Logger;
  /** Appends before the file is rewritten from {@link NdjsonLogOptions.snapshot}. */
  compactAfter: number;
  /** Every line still needed, newest state included: what a rewrite writes. */
  snapshot: () => L[];
}

/**
 * The file behind postproc's journal and its record of MP4 sources. The owner keeps the state in
 * memory and calls {@link append} with each change *after* applying it, so that a rewrite (every
 * `compactAfter` appends, or after a failed write that may have left a torn line) writes it too.
 * Writes are queued one at a time; what an append has resolved survives a crash or power cut.
 */
export class NdjsonLog<L> {
  private handle: fs.promises.FileHandle | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private appended = 0;
  private closed = false;
  /** A write failed part-way (disk full?): the file may end in a torn line, so rewrite it whole next time. */
  private torn = false;
  readonly file: string;

  constructor(private readonly options: NdjsonLogOptions<L>) {
    this.file = path.join(options.dir, options.name);
  }

  /**
   * The lines in the file (none when it does not exist yet), in order. A line that is not JSON is
   * skipped with a warning: the last one is torn when postproc stopped while writing it.
   */
  async read(): Promise<unknown[]> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const lines = text.split('\n');
    const last = lines.length - 1; // the part after the final newline: empty unless a write was torn
    const out: unknown[] = [];
    lines.forEach((line, i) => {
      if (line === '') return;
      try {
        out.push(JSON.parse(line));
      } catch {
        this.options.logger.warn(i === last
          ? `${this.options.label}: ignoring a torn last line (postproc stopped while writing it): ${JSON.stringify(line.slice(0, 200))}`
          : `${this.options.label}: ignoring unreadable line ${i + 1} of ${this.file}: ${JSON.stringify(line.slice(0, 200))}`);
      }
    });
    return out;
  }

  /** Rewrites the file with the snapshot (temporary name, fsync, rename, fsync of the directory) and opens it for appending. */
  async compact(): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const text = this.options.snapshot().map((l) => JSON.stringify(l) + '\n').join('');
    const fh = await fs.promises.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.handle?.close();
    this.handle = undefined;
    await fs.promises.rename(tmp, this.file);
    await syncDirectory(this.options.dir);
    this.handle = await fs.promises.open(this.file, 'a', 0o600);
    this.appended = 0;
  }

  /** Durably appends `line` (already applied to the owner's state); rejects when it could not be written. */
  append(line: L): Promise<void> {
    const write = this.chain.then(async () => {
      if (this.closed) throw new Error(`${this.options.label} is closed`);
      try {
        if (this.torn || !this.handle || this.appended >= this.options.compactAfter) {
          await this.compact();
          this.torn = false;
          return;
        }
        await this.handle.write(JSON.stringify(line) + '\n');
        await this.handle.datasync();
        this.appended++;
      } catch (err) {
        this.torn = true;
        throw err;
      }
    });
    this.chain = write.catch(() => {});
    return write;
  }

  /** Waits for queued writes and closes the file; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain.catch(() => {});
    await this.handle?.close();
    this.handle = undefined;
  }
}

/** fsync of a directory, so a rename in it survives a power cut. */
export async function syncDirectory(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
