// Retry schedule for a failing destination: the project's one backoff rule, with slower settings.
import { backoffPause, type BackoffRule } from '../../common/restart.js';

/** Backoff settings in milliseconds: the delay after the first failure, and the ceiling. */
export type BackoffOptions = BackoffRule;

/** 10 s, 20 s, 40 s, ... up to 10 minutes: quick after a blip, and at most six attempts an hour during an outage. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 10_000, maxMs: 10 * 60_000 };

/** The delay before the next attempt after `failures` consecutive failures (1 = the first failure). */
export function backoffDelay(failures: number, { initialMs, maxMs }: BackoffOptions = DEFAULT_BACKOFF): number {
  if (failures < 1) return 0;
  return backoffPause(failures, { initialMs, maxMs });
}

/** Consecutive failures after which a destination is reported as failing (once, until it recovers). */
export const FAILING_AFTER = 3;
