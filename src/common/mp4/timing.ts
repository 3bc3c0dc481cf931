// Frame rates as exact fractions, the MP4 timescale that makes every sample duration an integer, and real (variable) frame timing.
import type { TimingRun } from '../events.js';

/** A frame rate num/den frames per second, in lowest terms. */
export interface FrameRate {
  num: number;
  den: number;
}

/** Timescale (ticks per second) and the duration of one frame in ticks, both integers. */
export interface Timebase {
  timescale: number;
  sampleDelta: number;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * The exact fraction a frame rate stands for: 30 → 30/1, 7.5 → 15/2, 29.97 → 2997/100,
 * 30000/1001 as a float → 30000/1001. Denominators up to 10000 are tried, smallest first; the
 * rate must lie in (0, 1000].
 */
export function frameRate(fps: number): FrameRate {
  if (!Number.isFinite(fps) || fps <= 0 || fps > 1000) throw new RangeError(`frame rate out of range: ${fps}`);
  let best: FrameRate = { num: Math.round(fps * 10000), den: 10000 };
  for (let den = 1; den <= 10000; den++) {
    const num = Math.round(fps * den);
    if (Math.abs(num / den - fps) <= 1e-9 * fps) {
      best = { num, den };
      break;
    }
  }
  const g = gcd(best.num, best.den);
  return { num: best.num / g, den: best.den / g };
}

/**
 * The timescale for a frame rate: 90000 (the usual video clock) when a frame is a whole number of
 * its ticks, else num·1000/den with 1000-tick frames when that is whole, else num itself (with
 * den-tick frames: 60000/1001 → 60000 and 1001).
 */
export function timebase(rate: FrameRate): Timebase {
  if ((90000 * rate.den) % rate.num === 0) return { timescale: 90000, sampleDelta: (90000 * rate.den) / rate.num };
  if ((rate.num * 1000) % rate.den === 0) return { timescale: (rate.num * 1000) / rate.den, sampleDelta: 1000 };
  return { timescale: rate.num, sampleDelta: rate.den };
}

// ---- Real frame timing (variable frame rate) -----------------------------------------------

/** Frames the runs cover. */
export function timingFrames(runs: readonly TimingRun[]): number {
  let frames = 0;
  for (const [count] of runs) frames += count;
  return frames;
}

/** Milliseconds the runs cover: the sum of count × durationMs. */
export function timingMs(runs: readonly TimingRun[]): number {
  let ms = 0;
  for (const [count, duration] of runs) ms += count * duration;
  return ms;
}

/** The average frame rate of the runs: frames × 1000 / total milliseconds (what MP4Box and ffmpeg are given). */
export function averageFps(runs: readonly TimingRun[]): number {
  return (timingFrames(runs) * 1000) / timingMs(runs);
}

// Denominators of the frame rates cameras use (7.5 = 15/2, 2/3 fps), besides the NTSC rates
// k·1000/1001 (29.97…), and how close a duration must be to one: a duration written with three
// decimals (66.667) is within 1e-5 of its rate.
const SNAP_DENOMINATORS = [1, 2, 3, 4, 5, 6, 8, 10];
const SNAP_TOLERANCE = 1e-4;

/**
 * The common frame rate a frame duration stands for, when it is within 0.01 % of one:
 * 66.667 → 15/1, 142.857 → 7/1, 133.333 → 15/2, 33.367 → 30000/1001; undefined for 66.81 (a
 * measured 14.97 fps is no common rate) or outside (0, 1000] fps.
 */
export function snapRate(durationMs: number): FrameRate | undefined {
  const fps = 1000 / durationMs;
  if (!Number.isFinite(fps) || fps <= 0 || fps > 1000) return undefined;
  const candidates: FrameRate[] = SNAP_DENOMINATORS.map((den) => ({ num: Math.round(fps * den), den }));
  candidates.push({ num: Math.round((fps * 1001) / 1000) * 1000, den: 1001 });
  for (const { num, den } of candidates) {
    if (num < 1 || num / den > 1000) continue;
    if (Math.abs(num / den - fps) <= SNAP_TOLERANCE * fps) {
      const g = gcd(num, den);
      return { num: num / g, den: den / g };
    }
  }
  return undefined;
}

/** Largest timescale chosen to time mixed common rates exactly (15 and 7 fps need 630000). */
export const MAX_EXACT_TIMESCALE = 1_000_000;
/** The timescale when durations are no common rate: the usual 90 kHz video clock, 11 µs steps. */
export const FALLBACK_TIMESCALE = 90000;

/** What each access unit of a stream is in the MP4: see {@link SampleRole}. */
export const SampleRole = {
  /** Not in the MP4: skipped before the first IDR, or dropped. */
  NONE: 0,
  /** Starts a new sample. */
  STARTS: 1,
  /** Joins the sample before it (the second field of a field pair). */
  JOINS: 2,
} as const;

/** How the samples of a file are timed: one frame rate (today's exact timing), or per-sample durations. */
export type SampleTiming =
  | { kind: 'constant'; fps: number }
  | { kind: 'variable'; timescale: number; deltas: Uint32Array };

function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

/**
 * Per-sample durations from an event's timing runs. Pure.
 *
 * `roles` says, per access unit in file order, what it became (see {@link SampleRole}). A sample
 * lasts as long as its access units: the second field of a pair adds its time to the first's, and
 * a dropped access unit's time goes to the sample before it, so the MP4 still covers the time the
 * file covers; units skipped before the first sample are not shown and their time is left out.
 *
 * When the runs cover a different number of access units than the file has (a file cut by a
 * crash), the runs are used as far as they go and the last run's duration for the rest, with a
 * warning.
 *
 * Every sample lasting the same → `constant` with that rate (a common rate when it is one, so the
 * MP4 is the same as at that fps). Otherwise `variable` on a timescale that times every common rate
 * exactly (the LCM of their timescales, 630000 for 15 and 7 fps) when at most
 * {@link MAX_EXACT_TIMESCALE}, else at 90000 with each sample's start rounded from the exact sum of
 * the durations before it, so rounding never adds up to drift.
 */
export function planSampleTiming(runs: readonly TimingRun[], roles: Uint8Array, samples: number): { timing: SampleTiming; warnings: string[] } {
  if (runs.length === 0 || samples < 1) throw new RangeError('planSampleTiming: no runs or no samples');
  const warnings: string[] = [];
  const covered = timingFrames(runs);
  if (covered !== roles.length) {
    const last = runs[runs.length - 1]![1];
    warnings.push(`the event's timing covers ${covered} frames but the file has ${roles.length} access units (cut short?): ` +
      (covered > roles.length ? 'the durations of the missing ones are left out' : `the last ${roles.length - covered} take the last duration, ${last} ms`));
  }

  // The exact ticks of each run's duration, when every one is a common rate and one timescale fits all.
  const rates = new Map<number, FrameRate>();
  let timescale: number | undefined = 1;
  for (const [, duration] of runs) {
    if (rates.has(duration)) continue;
    const rate = snapRate(duration);
    if (!rate) {
      timescale = undefined;
      break;
    }
    rates.set(duration, rate);
    timescale = lcm(timescale!, timebase(rate).timescale);
    if (timescale > MAX_EXACT_TIMESCALE) {
      timescale = undefined;
      break;
    }
  }

  // Milliseconds (and exact ticks) of each sample.
  const ms = new Float64Array(samples);
  const ticks = timescale === undefined ? undefined : new Float64Array(samples);
  let run = 0;
  let left = runs[0]![0];
  let sample = -1;
  for (let i = 0; i < roles.length; i++) {
    while (left === 0 && run < runs.length - 1) left = runs[++run]![0];
    if (left > 0) left--;
    const duration = runs[run]![1];
    const role = roles[i]!;
    if (role === SampleRole.STARTS) sample++;
    if (sample < 0 || sample >= samples) continue;
    ms[sample] += duration;
    if (ticks) {
      const rate = rates.get(duration)!;
      ticks[sample] += (timescale! * rate.den) / rate.num;
    }
  }

  const first = ms[0]!;
  let constant = true;
  for (let s = 1; s < samples && constant; s++) if (Math.abs(ms[s]! - first) > 1e-9 * first) constant = false;
  if (constant) {
    const rate = snapRate(first);
    const fps = rate ? rate.num / rate.den : 1000 / first;
    if (fps <= 1000) return { timing: { kind: 'constant', fps }, warnings };
  }

  const deltas = new Uint32Array(samples);
  if (ticks) {
    for (let s = 0; s < samples; s++) deltas[s] = Math.min(0xffffffff, ticks[s]!);
    return { timing: { kind: 'variable', timescale: timescale!, deltas }, warnings };
  }
  let sum = 0;
  let previous = 0;
  for (let s = 0; s < samples; s++) {
    sum += ms[s]!;
    const at = Math.round((sum * FALLBACK_TIMESCALE) / 1000);
    deltas[s] = Math.min(0xffffffff, at - previous);
    previous = at;
  }
  return { timing: { kind: 'variable', timescale: FALLBACK_TIMESCALE, deltas }, warnings };
}
