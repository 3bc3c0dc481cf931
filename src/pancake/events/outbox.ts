// Events waiting for postproc's acknowledgement, kept on disk so neither a restart nor a crash loses one.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../common/log.js';
import type { PancakeEvent } from '../../common/events.js';

/** An event before it has an id. */
export type NewEvent = PancakeEvent extends infer E ? (E extends PancakeEvent ? Omit<E, 'id'> : never) : never;

/**
 * One file per event, `<sequence>.json`, written to a temporary name, synced and renamed, deleted
 * on acknowledgement. File names sort in emission order, so resends keep the original order.
 * Bounded: past `maxEvents` the oldest are dropped with a warning.
 */
export class Outbox {
  private seq = 0;
  /** id → entry, in order; `file` is undefined for an event that could not be stored (kept in memory). */
  private readonly entries = new Map<string, { file: string | undefined; event: PancakeEvent }>();
  private diskTrouble = false;

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
    private readonly maxEvents = 1000,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    const files = fs.readdirSync(dir).filter((f) => /^\d{12}\.json$/.test(f)).sort();
    for (const file of files) {
      try {
        const event = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as PancakeEvent;
        this.entries.set(event.id, { file, event });
      } catch (err) {
        logger.warn(`outbox: dropping unreadable ${file}: ${(err as Error).message}`);
        fs.rmSync(path.join(dir, file), { force: true });
      }
      this.seq = Math.max(this.seq, Number(file.slice(0, 12)));
    }
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.tmp')) fs.rmSync(path.join(dir, f), { force: true });
    if (this.entries.size > 0) logger.info(`outbox: ${this.entries.size} event(s) from before the restart are waiting for postproc`);
  }

  /** Stores an event durably and returns it with its id. An event with an id already stored is not stored twice. */
  add(event: NewEvent, id: string = newEventId(event)): PancakeEvent {
    const full = { id, ...event } as PancakeEvent;
    if (this.entries.has(id)) return this.entries.get(id)!.event;
    const file = `${String(++this.seq).padStart(12, '0')}.json`;
    this.entries.set(id, { file: this.store(file, full), event: full });
    while (this.entries.size > this.maxEvents) {
      const [oldId, oldest] = this.entries.entries().next().value as [string, { event: PancakeEvent }];
      this.logger.warn(`outbox: full (${this.maxEvents} events unacknowledged), dropping the oldest: ${JSON.stringify(oldest.event)}`);
      this.remove(oldId);
    }
    return full;
  }

  /**
   * Writes one event file (temporary name, fsync, rename). On a full or failing disk the event is
   * kept in memory only, so it is still delivered while pancake runs; recording and the live view
   * must never stop because an event could not be written.
   */
  private store(file: string, event: PancakeEvent): string | undefined {
    const tmp = path.join(this.dir, `${file}.tmp`);
    try {
      const fd = fs.openSync(tmp, 'w', 0o644);
      try {
        fs.writeSync(fd, JSON.stringify(event));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, path.join(this.dir, file));
      if (this.diskTrouble) this.logger.info('outbox: storing events on disk again');
      this.diskTrouble = false;
      return file;
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      if (!this.diskTrouble) {
        this.logger.error(`outbox: cannot store events in ${this.dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); keeping them in memory until postproc has them`);
      }
      this.diskTrouble = true;
      return undefined;
    }
  }

  /** Removes an acknowledged event. Unknown ids are ignored. */
  ack(id: string): boolean {
    return this.remove(id);
  }

  /** Unacknowledged events, oldest first. */
  pending(): PancakeEvent[] {
    return [...this.entries.values()].map((e) => e.event);
  }

  private remove(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.entries.delete(id);
    if (entry.file) fs.rmSync(path.join(this.dir, entry.file), { force: true });
    return true;
  }
}

/**
 * Ids are stable across resends because they are stored with the event. A file event's id is
 * derived from its path and start, so a file announced again after a crash keeps its id.
 */
export function newEventId(event: NewEvent): string {
  if ('h264' in event) {
    const digest = crypto.createHash('sha256').update(`${event.h264}\n${event.start}`).digest('hex').slice(0, 12);
    return `h264-${path.basename(event.h264, '.h264')}-${digest}`;
  }
  return `${Date.now().toString(36)}-${crypto.randomBytes(6).toString('hex')}`;
}
