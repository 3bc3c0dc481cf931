// Real frame durations of a recording, from arrival times: runs of [frames, ms per frame] for the MP4.
//
// Network cameras have no fixed frame rate (many halve it at night), so a file's frames are timed
// from when they arrived. Arrival over a network jitters by tens of milliseconds; what matters for
// playback is the rate, so the times are measured over windows of about a second and neighbouring
// windows of nearly the same rate are merged. The runs add up exactly to the time the file covers.

import { MAX_FRAME_DURATION_MS, MAX_TIMING_RUNS, type TimingRun } from '../../common/events.js';

export type { TimingRun };

/** Windows whose rates differ by less than this fraction are merged into one run. */
const MERGE_TOLERANCE = 0.05;
/** The length of a measuring window. */
const WINDOW_MS = 1000;

/** Collects arrival times (monotonic ms) of one file's frames, in file order. */
export class FrameTiming {
  private readonly runs: TimingRun[] = [];
  private first = -1;
  private windowStart = 0;
  private windowFrames = 0;
  private last = 0;
  private count = 0;

  /** Frames noted so far. */
  get frames(): number {
    return this.count;
  }

  add(monoMs: number): void {
    this.count++;
    if (this.first < 0) {
      this.first = this.windowStart = this.last = monoMs;
      this.windowFrames = 1;
      return;
    }
    // Time never runs backwards here, but a clock is a clock: keep the runs positive.
    const t = Math.max(monoMs, this.last);
    if (t - this.windowStart >= WINDOW_MS) {
      this.addRun(this.windowFrames, (t - this.windowStart) / this.windowFrames);
      this.windowStart = t;
      this.windowFrames = 0;
    }
    this.windowFrames++;
    this.last = t;
  }

  /**
   * The runs for the whole file. The last frame has no successor to time it by: it lasts as long
   * as the frames before it (or `fallbackMs`, the nominal frame time, in a file of one frame).
   */
  finish(fallbackMs: number): TimingRun[] {
    const runs = this.runs.map((r): TimingRun => [r[0], r[1]]);
    if (this.windowFrames > 0) {
      const ms = this.windowFrames > 1 ? (this.last - this.windowStart) / (this.windowFrames - 1) : (runs.at(-1)?.[1] ?? fallbackMs);
      merge(runs, this.windowFrames, ms > 0 ? ms : fallbackMs);
    }
    // A camera whose rate wanders all the time: halve the detail until the event stays small.
    while (runs.length > MAX_TIMING_RUNS) {
      const coarse: TimingRun[] = [];
      for (let i = 0; i < runs.length; i += 2) {
        const [a, b] = [runs[i]!, runs[i + 1]];
        coarse.push(b ? [a[0] + b[0], (a[0] * a[1] + b[0] * b[1]) / (a[0] + b[0])] : a);
      }
      runs.splice(0, runs.length, ...coarse);
    }
    // Three decimals of a millisecond are plenty; never rounded down to nothing, never past what an event may carry.
    return runs.map(([n, ms]) => [n, Math.min(MAX_FRAME_DURATION_MS, Math.max(0.001, Math.round(ms * 1000) / 1000))]);
  }

  private addRun(count: number, ms: number): void {
    merge(this.runs, count, ms);
  }
}

function merge(runs: TimingRun[], count: number, ms: number): void {
  const prev = runs.at(-1);
  if (prev && Math.abs(ms - prev[1]) <= prev[1] * MERGE_TOLERANCE) {
    // The weighted mean keeps the total time exact.
    prev[1] = (prev[0] * prev[1] + count * ms) / (prev[0] + count);
    prev[0] += count;
  } else {
    runs.push([count, ms]);
  }
}

/** The time the runs cover, in ms. */
export function timingDurationMs(runs: readonly TimingRun[]): number {
  return runs.reduce((sum, [n, ms]) => sum + n * ms, 0);
}

/** Frames per second over the runs (the file's real average rate), to 3 decimals. */
export function averageFps(runs: readonly TimingRun[]): number {
  const frames = runs.reduce((sum, [n]) => sum + n, 0);
  const ms = timingDurationMs(runs);
  return ms > 0 ? Math.round((frames * 1e6) / ms) / 1000 : 0;
}

/**
 * The rate to announce for a file: its real average, or the whole number it is within 1 % of (a
 * camera set to 12 fps measures 11.997 over a file; the runs keep the exact times either way).
 */
export function announcedFps(runs: readonly TimingRun[]): number {
  const fps = averageFps(runs);
  const whole = Math.round(fps);
  return whole > 0 && Math.abs(fps - whole) <= whole * 0.01 ? whole : fps;
}
