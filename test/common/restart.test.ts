// The one restart rule: 1 s doubling to 30 s, reset by a success, cancelled by close.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/common/clock.js';
import { backoffPause, RestartBackoff } from '../../src/common/restart.js';

describe('backoffPause', () => {
  it.each([
    [1, 1000], [2, 2000], [3, 4000], [4, 8000], [5, 16_000], [6, 30_000], [7, 30_000], [1000, 30_000],
  ])('after %i failure(s): %i ms', (failures, ms) => {
    expect(backoffPause(failures)).toBe(ms);
  });

  it('takes its own rule, and stays finite after any number of failures', () => {
    expect(backoffPause(1, { initialMs: 10_000, maxMs: 600_000 })).toBe(10_000);
    expect(backoffPause(4, { initialMs: 10_000, maxMs: 600_000 })).toBe(80_000);
    expect(backoffPause(10_000, { initialMs: 10_000, maxMs: 600_000 })).toBe(600_000);
  });
});

describe('RestartBackoff', () => {
  it('restarts after 1, 2, 4 s; a success starts again at 1 s; cancel drops a waiting restart', () => {
    const clock = new ManualClock();
    const backoff = new RestartBackoff(clock);
    const at: number[] = [];
    const fail = (): number => backoff.failed(() => at.push(clock.monotonic()));
    expect(fail()).toBe(1000);
    clock.advance(1000);
    expect(fail()).toBe(2000);
    clock.advance(2000);
    expect(fail()).toBe(4000);
    clock.advance(4000);
    expect(at).toEqual([1000, 3000, 7000]);
    backoff.succeeded();
    expect(fail()).toBe(1000);
    backoff.cancel();
    clock.advance(5000);
    expect(at).toEqual([1000, 3000, 7000]);
    expect(backoff.failureCount).toBe(1);
  });
});
