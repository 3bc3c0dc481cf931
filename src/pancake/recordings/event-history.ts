// What happened lately (detection edges, camera down/up, storage trouble), for GET /api/events: in memory and in a small file that survives restarts.
import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../common/clock.js';

/** One event of the history, as the API shows it. */
export interface HistoryEvent {
  /** Wall-clock ms. */
  time: number;
  type: 'detection' | 'camera' | 'storage';
  state: 'on' | 'off' | 'up' | 'down' | 'error' | 'ok';
  reason: string | null;
}

export interface EventHistoryOptions {
  /** The NDJSON file in the state directory. */
  file: string;
  clock: Clock;
  /** Events kept (the oldest go first); 2000 by default. */
  limit?: number;
}

/**
 * The newest events, oldest first. Each is appended to the file as it happens; at start-up the
 * file is read and cut back to the newest `limit`, so it never grows past twice that.
 */
export class EventHistory {
  private events: HistoryEvent[] = [];
  private readonly limit: number;
  private appended = 0;

  constructor(private readonly options: EventHistoryOptions) {
    this.limit = options.limit ?? 2000;
    let text = '';
    try {
      text = fs.readFileSync(options.file, 'utf8');
    } catch {
      // No history yet.
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const e = JSON.parse(line) as HistoryEvent;
        if (typeof e.time === 'number' && typeof e.type === 'string') this.events.push(e);
      } catch {
        continue; // a torn last line from a crash
      }
    }
    this.events = this.events.slice(-this.limit);
    this.rewrite();
  }

  /** Notes an event now (or at `time`). */
  add(type: HistoryEvent['type'], state: HistoryEvent['state'], reason?: string, time = this.options.clock.now()): void {
    const event: HistoryEvent = { time, type, state, reason: reason ?? null };
    this.events.push(event);
    if (this.events.length > this.limit) this.events.shift();
    try {
      fs.appendFileSync(this.options.file, `${JSON.stringify(event)}\n`);
      if (++this.appended > this.limit) this.rewrite();
    } catch {
      // A full disk: the history in memory is still right.
    }
  }

  /** The events at or after `sinceMs`, oldest first. */
  since(sinceMs: number): HistoryEvent[] {
    return this.events.filter((e) => e.time >= sinceMs);
  }

  private rewrite(): void {
    this.appended = 0;
    try {
      fs.mkdirSync(path.dirname(this.options.file), { recursive: true });
      fs.writeFileSync(`${this.options.file}.tmp`, this.events.map((e) => `${JSON.stringify(e)}\n`).join(''));
      fs.renameSync(`${this.options.file}.tmp`, this.options.file);
    } catch {
      // Kept in memory; the file is cut back at the next start.
    }
  }
}
