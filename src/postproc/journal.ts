// postproc's durable state: an fsync'd append-only journal of accepted events and the steps done for each.
import type { Logger } from '../common/log.js';
import { NdjsonLog } from './ndjson-log.js';

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
  private readonly log: NdjsonLog<JournalRecord<J>>;
  private readonly rememberIds: number;

  private constructor(options: JournalOptions) {
    this.rememberIds = options.rememberIds ?? 4096;
    this.log = new NdjsonLog({
      dir: options.dir, name: JOURNAL_FILE, label: 'journal', logger: options.logger, compactAfter: options.compactAfter ?? 1000,
      snapshot: () => this.records(),
    });
  }

  /** Reads the journal in `dir` (creating it), compacts it and opens it for appending. */
  static async open<J>(options: JournalOptions): Promise<Journal<J>> {
    const journal = new Journal<J>(options);
    for (const record of await journal.log.read()) journal.replay(record as JournalRecord<J>);
    await journal.log.compact();
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
      await this.log.append({ op: 'accept', id, job });
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
    await this.log.append(data === undefined ? { op: 'step', id, step } : { op: 'step', id, step, data });
  }

  /** Durably records that job `id` is finished: its data is dropped, its id remembered. */
  async finish(id: string): Promise<void> {
    if (!this.entries.delete(id)) return;
    this.remember(id);
    await this.log.append({ op: 'done', id });
  }

  /** Waits for pending writes and closes the file; idempotent. */
  close(): Promise<void> {
    return this.log.close();
  }

  private remember(id: string): void {
    this.finished.add(id);
    while (this.finished.size > this.rememberIds) this.finished.delete(this.finished.values().next().value as string);
  }

  private replay(record: JournalRecord<J>): void {
    if (typeof record !== 'object' || record === null) return;
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

  /** What a rewrite keeps: the remembered ids, then each unfinished job and its steps. */
  private records(): JournalRecord<J>[] {
    const out: JournalRecord<J>[] = [...this.finished].map((id) => ({ op: 'seen', id }));
    for (const { id, job, steps } of this.entries.values()) {
      out.push({ op: 'accept', id, job });
      for (const [step, data] of Object.entries(steps)) out.push(data === true ? { op: 'step', id, step } : { op: 'step', id, step, data });
    }
    return out;
  }
}
