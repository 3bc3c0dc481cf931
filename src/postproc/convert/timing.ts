// Frame rates as exact fractions, and the MP4 timescale that makes every sample duration an integer.

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
