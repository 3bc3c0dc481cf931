// Frame timing of a recording: runs that add up to the time covered, rates that follow the camera's.
import { describe, expect, it } from 'vitest';
import { MAX_TIMING_RUNS } from '../../../src/common/events.js';
import { announcedFps, averageFps, FrameTiming, timingDurationMs } from '../../../src/pancake/record/frame-timing.js';

/** Arrival times of `frames` frames at `fps` from `start`, with a deterministic jitter of ±`jitter` ms. */
function arrivals(start: number, fps: number, frames: number, jitter = 0): number[] {
  return Array.from({ length: frames }, (_, i) => start + (i * 1000) / fps + (jitter ? ((i * 7919) % 11) / 5 - 1 : 0) * jitter);
}

function timed(times: number[], fallbackMs = 1000 / 12): ReturnType<FrameTiming['finish']> {
  const t = new FrameTiming();
  for (const ms of times) t.add(ms);
  return t.finish(fallbackMs);
}

describe('FrameTiming', () => {
  it('a steady 12 fps camera: one run, the exact rate', () => {
    const runs = timed(arrivals(0, 12, 12 * 60));
    expect(runs).toHaveLength(1);
    expect(runs[0]![0]).toBe(720);
    expect(runs[0]![1]).toBeCloseTo(1000 / 12, 3);
    expect(announcedFps(runs)).toBe(12);
  });

  it('15 fps for 10 s, then 7 fps for 10 s: two runs at those rates, covering the wall-clock time', () => {
    const times = [...arrivals(0, 15, 150), ...arrivals(10_000, 7, 70)];
    const runs = timed(times);
    expect(runs.map(([n]) => n).reduce((a, b) => a + b)).toBe(220);
    expect(runs).toHaveLength(2);
    expect(1000 / runs[0]![1]).toBeCloseTo(15, 1);
    expect(1000 / runs[1]![1]).toBeCloseTo(7, 1);
    // The file covers 20 s: its last frame lasts a frame time of its own rate.
    expect(Math.abs(timingDurationMs(runs) - 20_000)).toBeLessThan(1000 / 7 * 0.05 + 1);
    expect(announcedFps(runs)).toBeCloseTo(11, 1);
  });

  it('network jitter of ±20 ms does not split a steady rate into many runs, and the total stays exact', () => {
    const times = arrivals(5000, 25, 25 * 900, 20);
    const runs = timed(times);
    expect(runs.length).toBeLessThanOrEqual(3);
    // 900 s of frames: the total is off by no more than the jitter of the first and last arrival.
    expect(Math.abs(timingDurationMs(runs) - 900_000)).toBeLessThan(45);
    expect(announcedFps(runs)).toBe(25);
  });

  it('one frame lasts the nominal frame time; a rate just off a whole number is announced as is', () => {
    expect(timed([42], 100)).toEqual([[1, 100]]);
    const runs = timed(arrivals(0, 29.97 * 0.98, 600));
    expect(averageFps(runs)).toBeCloseTo(29.37, 1);
    expect(announcedFps(runs)).toBeCloseTo(29.37, 1);
  });

  it('a rate that changes every second for hours still fits an event: at most MAX_TIMING_RUNS runs, the same total', () => {
    const times: number[] = [];
    let t = 0;
    for (let second = 0; second < 5000; second++) {
      const fps = second % 2 ? 10 : 20;
      for (let i = 0; i < fps; i++) times.push((t += 1000 / fps));
    }
    const runs = timed(times);
    expect(runs.length).toBeLessThanOrEqual(MAX_TIMING_RUNS);
    expect(runs.reduce((n, [c]) => n + c, 0)).toBe(times.length);
    expect(Math.abs(timingDurationMs(runs) - 5_000_000)).toBeLessThan(100);
  });
});
