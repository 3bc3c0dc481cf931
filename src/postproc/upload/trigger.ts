// Upload triggers: after every N conversions (--upload-after-convert) and at minutes of the hour (--upload-minutes).
import type { Clock, Timer } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';

const MINUTE = 60_000;

/** The local minute of the hour at `ms` (what `--upload-minutes` means). */
export function localMinute(ms: number): number {
  return new Date(ms).getMinutes();
}

/**
 * The first whole minute strictly after `nowMs` whose minute of the hour is in `minutes`.
 * Walks minute by minute (at most a day), so odd time zones and DST changes need no special case.
 * `minuteOf` is replaceable so tests can use UTC whatever the machine's zone.
 */
export function nextTriggerAt(nowMs: number, minutes: readonly number[], minuteOf: (ms: number) => number = localMinute): number {
  if (minutes.length === 0) throw new RangeError('nextTriggerAt: no minutes');
  const wanted = new Set(minutes);
  let t = Math.floor(nowMs / MINUTE) * MINUTE + MINUTE;
  for (let i = 0; i < 24 * 60; i++, t += MINUTE) {
    if (wanted.has(minuteOf(t))) return t;
  }
  throw new RangeError(`nextTriggerAt: none of the minutes ${minutes.join(' ')} occurs within a day`);
}

export interface UploadTriggerOptions {
  /** `--upload-after-convert N`: fire after every N conversions. */
  afterConvert?: number;
  /** `--upload-minutes M ...`: fire at these minutes (0..59) of every hour, local time. */
  minutes?: number[];
  clock: Clock;
  logger: Logger;
  fire: () => void;
  /** Minute of the hour of a wall-clock time (default local time). */
  minuteOf?: (ms: number) => number;
}

/** Fires the upload on the original's two triggers; either, both or neither may be configured. */
export class UploadTrigger {
  private converts = 0;
  private timer?: Timer;
  private running = false;

  constructor(private readonly options: UploadTriggerOptions) {
    const { afterConvert, minutes } = options;
    if (afterConvert !== undefined && (!Number.isInteger(afterConvert) || afterConvert < 1)) {
      throw new RangeError(`afterConvert must be a whole number ≥ 1: ${afterConvert}`);
    }
    for (const m of minutes ?? []) {
      if (!Number.isInteger(m) || m < 0 || m > 59) throw new RangeError(`minutes must be 0..59: ${m}`);
    }
  }

  /** One more conversion finished; fires on every Nth. */
  converted(): void {
    const n = this.options.afterConvert;
    if (n === undefined) return;
    this.converts++;
    if (this.converts >= n) {
      this.converts = 0;
      this.options.logger.debug(`upload trigger: ${n} conversion(s)`);
      this.options.fire();
    }
  }

  /** Starts the minute schedule. */
  start(): void {
    if (this.running || !this.options.minutes?.length) return;
    this.running = true;
    this.schedule(this.options.clock.now());
  }

  close(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  // Each mark is computed from the previous mark, not from when the timer happened to run, so
  // timer lateness never accumulates. Timers run on monotonic time but marks are wall-clock
  // times, so the timer wakes at least once a minute to notice the wall clock being set (a Pi
  // without a real-time clock boots with a stale time until NTP corrects it): set back, it keeps
  // waiting for the real mark; set forward over marks, it fires once for them, then resumes.
  private schedule(after: number): void {
    const { clock, minutes, minuteOf } = this.options;
    const at = nextTriggerAt(after, minutes!, minuteOf);
    const arm = (): void => {
      const wait = Math.max(0, at - clock.now());
      this.timer = clock.setTimeout(() => {
        if (!this.running) return;
        if (clock.now() < at) return arm();
        this.options.logger.debug(`upload trigger: minute ${(minuteOf ?? localMinute)(at)}`);
        this.schedule(Math.max(at, clock.now()));
        this.options.fire();
      }, Math.min(wait, MINUTE));
    };
    arm();
  }
}
