// Which recording each MP4 postproc wrote was made from, kept in the state dir, so an MP4 is only ever replaced by one made from the same recording.
import fs from 'node:fs';
import type { Logger } from '../common/log.js';
import { NdjsonLog } from './ndjson-log.js';

/** The record's file in the state directory. */
export const MP4_SOURCES_FILE = 'mp4-sources.ndjson';

/** A recording as the maker of an MP4: its real path and its size in bytes. */
export interface Recording {
  h264: string;
  size: number;
}

/** One MP4 postproc wrote: where, from which recording (its real path and size then), and the MP4's size. */
export interface Mp4Record {
  mp4: string;
  h264: string;
  h264Size: number;
  mp4Size: number;
}

/** What is at an MP4's path now: nothing (undefined), or something and, for a regular file, its size. */
export type Occupant = undefined | { regularFile: boolean; size: number };

/** Whether an MP4 may be put in place, and if so whether it replaces the one there; else why not. */
export type Verdict = { ok: true; replaces: boolean } | { ok: false; reason: string };

/** The MP4 is taken: by another recording's MP4, by one postproc has no record of, or by something else. */
export class Mp4TakenError extends Error {
  readonly code = 'MP4_TAKEN';
  constructor(message: string) {
    super(message);
    this.name = 'Mp4TakenError';
  }
}

/**
 * Whether an MP4 made from `source` may be put at `mp4`, given what is there now and what postproc
 * recorded when it last wrote that path (pure). The reason, when not, reads after the recording's
 * path: "/b/x.h264: not converted: <reason>".
 *
 * The same recording is its real path and its size: a resend by pancake, a journal replayed after
 * a crash or the same file announced again without an id, which is converted again as before. Not
 * the inode number: FAT and exFAT, common on USB sticks, number inodes anew at every mount, and
 * the device number of a USB disk changes between boots. A different file at the very same path
 * with the very same size is something only someone who can write pancake's folder could make, and
 * they could replace the recording itself before it is converted anyway.
 *
 * An MP4 postproc has no record of (made by hand, by another program, by a postproc from before
 * this record existed, or one whose record was lost with the state dir) is never replaced: nothing
 * says which recording it came from, its .h264 may be long deleted, and replacing it could destroy
 * the only copy of a recording. Refusing costs at most a conversion that was not needed: the .h264
 * is kept, and moving the MP4 away lets it be converted again. An MP4 whose size is no longer the
 * one recorded is not the one postproc wrote and is treated the same way.
 */
export function placementVerdict(mp4: string, occupant: Occupant, record: Mp4Record | undefined, source: Recording): Verdict {
  // A record without an MP4 (deleted since, or a crash before it appeared) says nothing about the path.
  if (occupant === undefined) return { ok: true, replaces: false };
  const kept = 'the MP4 is left as it is';
  if (!occupant.regularFile) return { ok: false, reason: `${mp4} exists and is not a regular file; nothing is written there` };
  if (record === undefined) {
    return { ok: false, reason: `it would replace ${mp4}, which postproc has no record of making (made by hand, or by an older postproc?); ${kept} — move it away to have this recording converted` };
  }
  if (occupant.size !== record.mp4Size) {
    return { ok: false, reason: `it would replace ${mp4}, which changed since postproc made it from ${record.h264} (${record.mp4Size} bytes then, ${occupant.size} now); ${kept}` };
  }
  if (record.h264 !== source.h264) {
    return { ok: false, reason: `it would replace ${mp4}, which was made from another recording, ${record.h264}; ${kept}` };
  }
  if (record.h264Size !== source.size) {
    return { ok: false, reason: `it would replace ${mp4}, which was made from an earlier file at this path (${record.h264Size} bytes; this one has ${source.size}); ${kept}` };
  }
  return { ok: true, replaces: true };
}

// One line per record: an MP4 written, or (`gone`) a record withdrawn because the MP4 was not put in place.
type SourceLine = Mp4Record | { mp4: string; gone: true };

// link() is not supported there (FAT, exFAT and some network file systems): the MP4 is renamed into place instead.
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

export interface Mp4SourcesOptions {
  /** The state directory. */
  dir: string;
  logger: Logger;
  /** Records appended before the file is rewritten with only the newest record of each MP4. */
  compactAfter?: number;
}

/**
 * The record of which recording made each MP4, and the one place that puts a finished MP4 at its
 * path. `mp4-sources.ndjson` in the state dir, one fdatasync'd JSON line per MP4 written, rewritten
 * on open without the MP4s that are gone (the cleanup commands delete old ones) and after every
 * `compactAfter` records with the newest record of each.
 */
export class Mp4Sources {
  private readonly records = new Map<string, Mp4Record>();
  private readonly log: NdjsonLog<SourceLine>;
  private placing: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(options: Mp4SourcesOptions) {
    // A rewrite keeps the newest record of each MP4 (the map already holds a line being appended).
    this.log = new NdjsonLog({
      dir: options.dir, name: MP4_SOURCES_FILE, label: MP4_SOURCES_FILE, logger: options.logger, compactAfter: options.compactAfter ?? 1000,
      snapshot: () => [...this.records.values()],
    });
  }

  /** Reads the record in `dir` (creating it), forgets MP4s that no longer exist, and opens it for appending. */
  static async open(options: Mp4SourcesOptions): Promise<Mp4Sources> {
    const sources = new Mp4Sources(options);
    // A torn last line (a power cut) is skipped: that MP4 then counts as one without a record.
    for (const line of await sources.log.read()) sources.apply(line as SourceLine);
    await sources.forgetMissing();
    await sources.log.compact();
    return sources;
  }

  /** What postproc recorded when it last wrote `mp4`, if anything. */
  recorded(mp4: string): Mp4Record | undefined {
    return this.records.get(mp4);
  }

  /** Whether an MP4 made from `source` may be put at `mp4` now (see {@link placementVerdict}). */
  async check(mp4: string, source: Recording): Promise<Verdict> {
    let occupant: Occupant;
    try {
      const stat = await fs.promises.lstat(mp4);
      occupant = { regularFile: stat.isFile(), size: stat.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        return { ok: false, reason: `${mp4} cannot be checked (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); nothing is written there` };
      }
      occupant = undefined;
    }
    return placementVerdict(mp4, occupant, this.records.get(mp4), source);
  }

  /**
   * Puts the finished MP4 `tmp` (in the same directory) at `mp4`, made from `source`, and records
   * that; throws Mp4TakenError (and leaves `tmp` to the caller) when the verdict is no. One at a time,
   * so the check and the rename cannot interleave with another placement.
   */
  place(tmp: string, mp4: string, source: Recording): Promise<void> {
    const run = this.placing.then(() => this.placeNow(tmp, mp4, source));
    this.placing = run.catch(() => {});
    return run;
  }

  /** Waits for pending writes and closes the file; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.placing;
    await this.log.close();
  }

  private async placeNow(tmp: string, mp4: string, source: Recording): Promise<void> {
    const verdict = await this.check(mp4, source);
    if (!verdict.ok) throw new Mp4TakenError(verdict.reason);
    const previous = this.records.get(mp4);
    // Recorded before the MP4 appears, with the size it will have: after a crash between the two,
    // the replayed job finds its own MP4 (or none, and a record without an MP4 is ignored).
    await this.append({ mp4, h264: source.h264, h264Size: source.size, mp4Size: (await fs.promises.stat(tmp)).size });
    if (verdict.replaces) {
      await fs.promises.rename(tmp, mp4);
      return;
    }
    // Nothing there: link() fails rather than replaces when something appeared since the check
    // (another program, or a second postproc writing the same mp4_dir); rename() would not.
    try {
      await fs.promises.link(tmp, mp4);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (NO_HARD_LINKS.has(code)) {
        await fs.promises.rename(tmp, mp4);
        return;
      }
      await this.append(previous ?? { mp4, gone: true });
      if (code === 'EEXIST') throw new Mp4TakenError(`${mp4} appeared while this recording was being converted; the MP4 is left as it is`);
      throw err;
    }
    await fs.promises.rm(tmp, { force: true });
  }

  private apply(line: SourceLine): void {
    if (typeof line !== 'object' || line === null || typeof line.mp4 !== 'string') return;
    if ('gone' in line) this.records.delete(line.mp4);
    else if (typeof line.h264 === 'string' && typeof line.h264Size === 'number' && typeof line.mp4Size === 'number') {
      this.records.set(line.mp4, { mp4: line.mp4, h264: line.h264, h264Size: line.h264Size, mp4Size: line.mp4Size });
    }
  }

  /** Drops the records of MP4s that are gone; an MP4 that cannot be checked keeps its record. */
  private async forgetMissing(): Promise<void> {
    const all = [...this.records.keys()];
    for (let i = 0; i < all.length; i += 64) {
      await Promise.all(all.slice(i, i + 64).map(async (mp4) => {
        try {
          await fs.promises.lstat(mp4);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.records.delete(mp4);
        }
      }));
    }
  }

  private async append(line: SourceLine): Promise<void> {
    const before = this.records.get(line.mp4);
    this.apply(line);
    const after = this.records.get(line.mp4);
    try {
      await this.log.append(line);
    } catch (err) {
      // Not durable: what is known must not claim it either (the next rewrite would write it).
      if (this.records.get(line.mp4) === after) {
        if (before) this.records.set(line.mp4, before);
        else this.records.delete(line.mp4);
      }
      throw err;
    }
  }
}
