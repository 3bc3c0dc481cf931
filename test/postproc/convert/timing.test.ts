// Frame rates as exact fractions and the timescales that make every frame a whole number of ticks.
import { describe, expect, it } from 'vitest';
import { frameRate, timebase } from '../../../src/postproc/convert/timing.js';

describe('frameRate and timebase', () => {
  it.each([
    [30, 30, 1, 90000, 3000],
    [12, 12, 1, 90000, 7500],
    [25, 25, 1, 90000, 3600],
    [7.5, 15, 2, 90000, 12000],
    [12.5, 25, 2, 90000, 7200],
    [1, 1, 1, 90000, 90000],
    [7, 7, 1, 7000, 1000],
    [29.97, 2997, 100, 29970, 1000],
    [30000 / 1001, 30000, 1001, 90000, 3003],
    [60000 / 1001, 60000, 1001, 60000, 1001],
    [0.5, 1, 2, 90000, 180000],
  ])('%s fps = %s/%s, timescale %s, %s ticks per frame', (fps, num, den, timescale, delta) => {
    expect(frameRate(fps)).toEqual({ num, den });
    const tb = timebase(frameRate(fps));
    expect(tb).toEqual({ timescale, sampleDelta: delta });
    // Exact: a frame lasts exactly 1/fps seconds in this timebase.
    expect((tb.sampleDelta * num) / den).toBe(tb.timescale);
  });

  it.each([0, -5, NaN, Infinity, 1001])('rejects %s', (fps) => {
    expect(() => frameRate(fps)).toThrow(RangeError);
  });
});
