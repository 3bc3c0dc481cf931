// Retry schedule for a failing destination: exponential backoff with a ceiling.

/** Backoff settings in milliseconds. */
export interface BackoffOptions {
  /** Delay after the first failure. */
  initialMs: number;
  /** The delay never grows beyond this. */
  maxMs: number;
}

/** 10 s, 20 s, 40 s, ... up to 10 minutes: quick after a blip, and at most six attempts an hour during an outage. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 10_000, maxMs: 10 * 60_000 };

/** The delay before the next attempt after `failures` consecutive failures (1 = the first failure). */
export function backoffDelay(failures: number, { initialMs, maxMs }: BackoffOptions = DEFAULT_BACKOFF): number {
  if (failures < 1) return 0;
  // Capping the exponent keeps 2 ** n finite however long the outage lasts.
  return Math.min(maxMs, initialMs * 2 ** Math.min(failures - 1, 30));
}

/** Consecutive failures after which a destination is reported as failing (once, until it recovers). */
export const FAILING_AFTER = 3;
