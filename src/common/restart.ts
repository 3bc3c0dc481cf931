// Restart with backoff: the one rule for everything pancake restarts (camera, detect worker, decoder, event link).
import type { Clock, Timer } from './clock.js';

/** Pauses in ms: the first after one failure, doubling per consecutive failure up to the ceiling. */
export interface BackoffRule {
  initialMs: number;
  maxMs: number;
}

/** 1 s doubling to 30 s: what a camera, a worker or a socket gets between attempts. */
export const DEFAULT_RESTART: BackoffRule = { initialMs: 1000, maxMs: 30_000 };

/** The pause before attempt `failures + 1`, after `failures` (≥ 1) consecutive failures. */
export function backoffPause(failures: number, rule: BackoffRule = DEFAULT_RESTART): number {
  // Capping the exponent keeps 2 ** n finite however long an outage lasts.
  return Math.min(rule.maxMs, rule.initialMs * 2 ** Math.min(Math.max(0, failures - 1), 30));
}

/**
 * Counts consecutive failures and runs the restart after the due pause; a success resets the
 * count, and `cancel()` (on close) drops a restart that is waiting.
 */
export class RestartBackoff {
  private failures = 0;
  private timer: Timer | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly rule: BackoffRule = DEFAULT_RESTART,
  ) {}

  /** Consecutive failures since the last success. */
  get failureCount(): number {
    return this.failures;
  }

  /** Counts a failure and calls `restart` after the pause; returns the pause in ms. Replaces a waiting restart. */
  failed(restart: () => void): number {
    this.failures++;
    const pause = backoffPause(this.failures, this.rule);
    this.timer?.cancel();
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      restart();
    }, pause);
    return pause;
  }

  /** The thing works again: the next failure waits the shortest pause. */
  succeeded(): void {
    this.failures = 0;
  }

  /** Drops a restart that is waiting. Idempotent. */
  cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
