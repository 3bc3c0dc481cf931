// The retry schedule of a failing destination.
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../src/postproc/upload/backoff.js';

describe('backoffDelay', () => {
  it.each([
    [0, 0],
    [1, 10_000],
    [2, 20_000],
    [3, 40_000],
    [4, 80_000],
    [5, 160_000],
    [6, 320_000],
    [7, 600_000],
    [8, 600_000],
    [1000, 600_000],
  ])('after %d failure(s) waits %d ms (default 10 s doubling to 10 min)', (failures, ms) => {
    expect(backoffDelay(failures)).toBe(ms);
  });

  it.each([
    [1, 500],
    [2, 1000],
    [3, 1500],
    [4, 1500],
  ])('with 500 ms to 1.5 s: after %d failure(s) waits %d ms', (failures, ms) => {
    expect(backoffDelay(failures, { initialMs: 500, maxMs: 1500 })).toBe(ms);
  });
});
