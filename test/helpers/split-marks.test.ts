// The wait that keeps a test's recording clear of a 00/15/30/45 split.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { clearOfSplitMark, QUARTER_HOUR_MS } from './split-marks.js';

describe('clearOfSplitMark', () => {
  afterEach(() => vi.useRealTimers());

  const settledAfter = async (spanMs: number, now: number): Promise<number | undefined> => {
    vi.useFakeTimers();
    let done = false;
    void clearOfSplitMark(spanMs, () => now).then(() => (done = true));
    for (let waited = 0; waited <= 2 * spanMs; waited += 1000) {
      await vi.advanceTimersByTimeAsync(waited === 0 ? 0 : 1000);
      if (done) return waited;
    }
    return undefined;
  };

  it('returns at once when the next mark is further away than the span', async () => {
    const mark = 40 * QUARTER_HOUR_MS;
    expect(await settledAfter(60_000, mark - 61_000)).toBe(0);
    expect(await settledAfter(60_000, mark)).toBe(0); // just after a mark: 15 minutes to the next
  });

  it('waits until just after the mark when it falls inside the span', async () => {
    const mark = 40 * QUARTER_HOUR_MS;
    expect(await settledAfter(60_000, mark - 20_000)).toBe(21_000);
    expect(await settledAfter(60_000, mark - 60_000)).toBe(61_000);
  });
});
