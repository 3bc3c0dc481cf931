// postproc's durable state: an fsync'd append-only journal of accepted events and the steps done for each.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../common/log.js';

/** The journal's file in the state directory. */
export const JOURNAL_FILE = 'journal.ndjson';

/** What the journal knows about one accepted event. */
export interface JournalEntry<J> {
  id: string;
  job: J;
  /** Steps recorded so far, each with the data recorded with it (e.g. the MP4's path). */
  steps: Record<string, unknown>;
}

// One line per record. "accept" carries the whole job; "step" one finished step; "done" ends a
// job (its data is forgotten, its id remembered); "seen" is a remembered id after compaction.
type JournalRecord<J> =
  | { op: 'accept'; id: string; job: J }
  | { op: 'step'; id: string; step: string; data?: unknown }
  | { op: 'done'; id: string }
  | { op: 'seen'; id: string };

export interface JournalOptions {
  dir: string;
  logger: Logger;
  /** Finished ids remembered to ignore resends (pancake resends only what it never saw acknowledged). */
  rememberIds?: number;
  /** Records appended before the file is rewritten with only what is still needed. */
  compactAfter?: number;
}

/**
 * A durable record of work, so an acknowledged event is never lost and never done twice.
 *
 * Every record is one JSON line appended to `journal.ndjson` and fdatasync'd before the promise
 * resolves: what `accept` has resolved survives a crash or power cut. On open (and after every
 * `compactAfter` records) the file is rewritten — temporary name, fsync, rename, fsync of the
 * directory — with just the unfinished jobs and the newest `rememberIds` finished ids, so it stays
 * small however long postproc runs. A torn last line (power cut mid-write) is ignored.
 */
export class Journal<J> {
  private readonly entries = new Map<string, JournalEntry<J>>(); // unfinished, in acceptance order
  private readonly finished = new Set<string>(); // finished ids, oldest first
  private handle: fs.promises.FileHandle | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private appended = 0;
  private closed = false;
  /** A write failed part-way (disk full?): the file may end in a torn line, so rewrite it whole next time. */
  private torn = false;
  private readonly file: string;
  private readonly rememberIds: number;
  private readonly compactAfter: number;

  private constructor(private readonly options: JournalOptions) {
    this.file = path.join(options.dir, JOURNAL_FILE);
    this.rememberIds = options.rememberIds ?? 4096;
    this.compactAfter = options.compactAfter ?? 1000;
  }

  /** Reads the journal in `dir` (creating it), compacts it and opens it for appending. */
  static async open<J>(options: JournalOptions): Promise<Journal<J>> {
    const journal = new Journal<J>(options);
    await journal.load();
    await journal.compact();
    return journal;
  }

  /** Whether `id` was accepted before (finished or not). */
  has(id: string): boolean {
    return this.entries.has(id) || this.finished.has(id);
  }

  /** The unfinished job `id` (its `steps` object is updated as steps are recorded). */
  get(id: string): JournalEntry<J> | undefined {
    return this.entries.get(id);
  }

  /** Jobs accepted but not finished, oldest first (to resume after a restart). */
  unfinished(): JournalEntry<J>[] {
    return [...this.entries.values()];
  }

  /** Durably records a new job; false (and nothing written) when the id is already known. */
  async accept(id: string, job: J): Promise<boolean> {
    if (this.has(id)) return false;
    this.entries.set(id, { id, job, steps: {} });
    try {
      await this.append({ op: 'accept', id, job });
    } catch (err) {
      this.entries.delete(id); // not durable: the sender will send it again
      throw err;
    }
    return true;
  }

  /** Durably records that `step` of job `id` is done. */
  async step(id: string, step: string, data?: unknown): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.steps[step] = data ?? true;
    await this.append(data === undefined ? { op: 'step', id, step } : { op: 'step', id, step, data });
  }

  /** Durably records that job `id` is finished: its data is dropped, its id remembered. */
  async finish(id: string): Promise<void> {
    if (!this.entries.delete(id)) return;
    this.remember(id);
    await this.append({ op: 'done', id });
  }

  /** Waits for pending writes and closes the file; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain.catch(() => {});
    await this.handle?.close();
    this.handle = undefined;
  }

  private remember(id: string): void {
    this.finished.add(id);
    while (this.finished.size > this.rememberIds) this.finished.delete(this.finished.values().next().value as string);
  }

  private async load(): Promise<void> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const lines = text.split('\n');
    const last = lines.length - 1; // the part after the final newline: empty unless a write was torn
    lines.forEach((line, i) => {
      if (line === '') return;
      let record: JournalRecord<J>;
      try {
        record = JSON.parse(line) as JournalRecord<J>;
      } catch {
        this.options.logger.warn(i === last
          ? `journal: ignoring a torn last line (postproc stopped while writing it): ${JSON.stringify(line.slice(0, 200))}`
          : `journal: ignoring unreadable line ${i + 1} of ${this.file}: ${JSON.stringify(line.slice(0, 200))}`);
        return;
      }
      this.replay(record);
    });
  }

  private replay(record: JournalRecord<J>): void {
    switch (record.op) {
      case 'accept':
        if (!this.has(record.id)) this.entries.set(record.id, { id: record.id, job: record.job, steps: {} });
        break;
      case 'step': {
        const entry = this.entries.get(record.id);
        if (entry) entry.steps[record.step] = record.data ?? true;
        break;
      }
      case 'done':
        if (this.entries.delete(record.id)) this.remember(record.id);
        break;
      case 'seen':
        this.remember(record.id);
        break;
    }
  }

  private records(): JournalRecord<J>[] {
    const out: JournalRecord<J>[] = [...this.finished].map((id) => ({ op: 'seen', id }));
    for (const { id, job, steps } of this.entries.values()) {
      out.push({ op: 'accept', id, job });
      for (const [step, data] of Object.entries(steps)) out.push(data === true ? { op: 'step', id, step } : { op: 'step', id, step, data });
    }
    return out;
  }

  /** Rewrites the journal with only what is still needed, atomically. */
  private async compact(): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const text = this.records().map((r) => JSON.stringify(r) + '\n').join('');
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

  private append(record: JournalRecord<J>): Promise<void> {
    const write = this.chain.then(async () => {
      if (this.closed) throw new Error('journal is closed');
      try {
        // The in-memory state already includes `record`, so a rewrite writes it too.
        if (this.torn || !this.handle || this.appended >= this.compactAfter) {
          await this.compact();
          this.torn = false;
          return;
        }
        await this.handle.write(JSON.stringify(record) + '\n');
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
