// Frame rates as exact fractions, the timescales that make every frame a whole number of ticks, and real (variable) frame timing.
import { describe, expect, it } from 'vitest';
import type { TimingRun } from '../../../src/common/events.js';
import { averageFps, frameRate, planSampleTiming, SampleRole, snapRate, timebase, timingFrames, timingMs } from '../../../src/common/mp4/timing.js';

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

describe('timing runs', () => {
  const runs: TimingRun[] = [[150, 66.667], [70, 142.857]];

  it('count frames and milliseconds, and average them as MP4Box and ffmpeg get it', () => {
    expect(timingFrames(runs)).toBe(220);
    expect(timingMs(runs)).toBeCloseTo(150 * 66.667 + 70 * 142.857, 9);
    expect(averageFps(runs)).toBeCloseTo(220 / 20.00004, 9);
    expect(averageFps([[30, 83.333]])).toBeCloseTo(12, 3);
  });

  it.each([
    [66.667, { num: 15, den: 1 }],
    [142.857, { num: 7, den: 1 }],
    [133.333, { num: 15, den: 2 }],
    [33.367, { num: 30000, den: 1001 }],
    [16.683, { num: 60000, den: 1001 }],
    [40, { num: 25, den: 1 }],
    [2000, { num: 1, den: 2 }],
    [1, { num: 1000, den: 1 }],
    [66.81, undefined], // a measured 14.97 fps is no common rate
    [75.3, undefined],
    [0.5, undefined], // 2000 fps
    [60000, undefined], // 1/60 fps: no denominator that small is tried
  ])('snapRate(%s) = %j', (ms, rate) => {
    expect(snapRate(ms)).toEqual(rate);
  });
});

describe('planSampleTiming', () => {
  const starts = (n: number): Uint8Array => new Uint8Array(n).fill(SampleRole.STARTS);
  const sum = (a: Uint32Array): number => a.reduce((s, v) => s + v, 0);

  it('a single common rate is constant at that rate: the MP4 is the one that fps would give', () => {
    expect(planSampleTiming([[30, 83.333]], starts(30), 30)).toEqual({ timing: { kind: 'constant', fps: 12 }, warnings: [] });
    expect(planSampleTiming([[10, 33.367], [20, 33.367]], starts(30), 30).timing).toEqual({ kind: 'constant', fps: 30000 / 1001 });
  });

  it('a single uncommon duration is constant at its exact rate', () => {
    expect(planSampleTiming([[5, 75.3]], starts(5), 5).timing).toEqual({ kind: 'constant', fps: 1000 / 75.3 });
  });

  it('15 then 7 fps: exact on a timescale both rates divide (630000), rate changing where the runs change', () => {
    const { timing, warnings } = planSampleTiming([[150, 66.667], [70, 142.857]], starts(220), 220);
    expect(warnings).toEqual([]);
    expect(timing.kind).toBe('variable');
    if (timing.kind !== 'variable') return;
    expect(timing.timescale).toBe(630000);
    expect([...new Set(timing.deltas.subarray(0, 150))]).toEqual([42000]); // 1/15 s
    expect([...new Set(timing.deltas.subarray(150))]).toEqual([90000]); // 1/7 s
    expect(sum(timing.deltas)).toBe(20 * 630000);
  });

  it('measured (uncommon) durations: 90 kHz, each start rounded from the exact sum, so nothing drifts', () => {
    const runs: TimingRun[] = [[1000, 66.81], [999, 133.62], [1, 70.001]];
    const { timing } = planSampleTiming(runs, starts(2000), 2000);
    expect(timing.kind).toBe('variable');
    if (timing.kind !== 'variable') return;
    expect(timing.timescale).toBe(90000);
    // Rounding each delta alone would lose 0.1 tick per frame (over 100 ticks here); sums stay within half a tick.
    expect(Math.abs(sum(timing.deltas) - (timingMs(runs) * 90000) / 1000)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(sum(timing.deltas.subarray(0, 1000)) - 1000 * 66.81 * 90)).toBeLessThanOrEqual(0.5);
    expect(new Set(timing.deltas.subarray(0, 1000))).toEqual(new Set([6013, 6012]));
  });

  it('mixed common rates whose timescales do not fit together (29.97 and 15) fall back to 90 kHz', () => {
    const { timing } = planSampleTiming([[10, 1000 / 29.97], [10, 66.667]], starts(20), 20);
    expect(timing.kind === 'variable' && timing.timescale).toBe(90000);
  });

  it('a second field adds its time to its frame; a dropped unit to the frame before; units before the first sample are left out', () => {
    const { NONE, STARTS, JOINS } = SampleRole;
    const roles = Uint8Array.from([NONE, STARTS, JOINS, STARTS, JOINS, NONE, STARTS, JOINS]);
    const { timing } = planSampleTiming([[8, 20]], roles, 3);
    // Samples: 40 ms, 60 ms (a dropped field joined it), 40 ms — at 25 fps ticks of 90 kHz.
    expect(timing).toEqual({ kind: 'variable', timescale: 90000, deltas: Uint32Array.from([3600, 5400, 3600]) });
    expect(planSampleTiming([[4, 20]], Uint8Array.from([STARTS, JOINS, STARTS, JOINS]), 2).timing).toEqual({ kind: 'constant', fps: 25 });
  });

  it('a file with more frames than the timing (runs cut short): the last duration for the rest, and a warning', () => {
    const { timing, warnings } = planSampleTiming([[3, 100], [2, 200]], starts(7), 7);
    expect(warnings).toEqual(["the event's timing covers 5 frames but the file has 7 access units (cut short?): the last 2 take the last duration, 200 ms"]);
    expect(timing.kind === 'variable' && [...timing.deltas]).toEqual([9000, 9000, 9000, 18000, 18000, 18000, 18000]);
  });

  it('a file with fewer frames than the timing (cut by a crash): the runs as far as they go, and a warning', () => {
    const { timing, warnings } = planSampleTiming([[3, 100], [4, 200]], starts(4), 4);
    expect(warnings).toEqual(["the event's timing covers 7 frames but the file has 4 access units (cut short?): the durations of the missing ones are left out"]);
    expect(timing.kind === 'variable' && [...timing.deltas]).toEqual([9000, 9000, 9000, 18000]);
  });
});
