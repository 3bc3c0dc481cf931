// Time as a parameter: wall clock, monotonic clock and timers, replaceable in tests.

/** A cancellable timer handle returned by {@link Clock.setTimeout}. */
export interface Timer {
  cancel(): void;
}

/** Every piece of logic that needs the time or a timer takes a Clock instead of calling Date.now(). */
export interface Clock {
  /** Wall-clock milliseconds since the epoch (names of files, ISO times in events). */
  now(): number;
  /** Monotonic milliseconds (durations, timeouts); never jumps when the system time is set. */
  monotonic(): number;
  /** Calls `fn` after `ms` milliseconds of this clock. */
  setTimeout(fn: () => void, ms: number): Timer;
}

/** The real clock. Timers are unref'd only when asked, so a pending timer keeps the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(handle) };
  },
};

/** Resolves after `ms` of `clock`, or at once when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = clock.setTimeout(done, ms);
    function done(): void {
      timer.cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * A clock for tests: time stands still until {@link ManualClock.advance} moves it, firing due
 * timers in order. Wall and monotonic time move together.
 */
export class ManualClock implements Clock {
  private wall: number;
  private mono = 0;
  private timers: { at: number; seq: number; fn: () => void }[] = [];
  private seq = 0;

  constructor(startWallMs = Date.UTC(2026, 0, 1, 12, 0, 0)) {
    this.wall = startWallMs;
  }

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.mono;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const entry = { at: this.mono + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(entry);
    return { cancel: () => (this.timers = this.timers.filter((t) => t !== entry)) };
  }

  /** Moves time forward by `ms`, running every timer that falls due, earliest first. */
  advance(ms: number): void {
    const target = this.mono + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.wall += due.at - this.mono;
      this.mono = due.at;
      due.fn();
    }
    this.wall += target - this.mono;
    this.mono = target;
  }

  /** Sets the wall clock (as when NTP corrects it) without moving monotonic time. */
  setWall(ms: number): void {
    this.wall = ms;
  }
}
