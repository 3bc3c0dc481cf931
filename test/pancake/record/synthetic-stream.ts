// Test helpers: a synthetic camera stream on a ManualClock, and reading back which units a file holds.
import fs from 'node:fs';
import type { ManualClock } from '../../../src/common/clock.js';
import type { AccessUnit } from '../../../src/common/h264/annexb.js';

/** A 12 fps stream with an IDR every 12 frames; each unit's bytes name it: `K00096;` or `P00097;`. */
export class SyntheticStream {
  index = 0;
  private readonly wallStart: number;

  /** `clock` must be fresh (monotonic 0). */
  constructor(
    private readonly clock: ManualClock,
    readonly fps = 12,
    readonly gop = 12,
  ) {
    this.wallStart = clock.now() - clock.monotonic();
  }

  /**
   * The next unit. Its times are exact multiples of the frame period (from the clock's start), not
   * read from the clock, whose sums of fractions may be off by a rounding error: a split exactly at
   * a whole second must stay exactly there.
   */
  next(): AccessUnit {
    const keyframe = this.index % this.gop === 0;
    const data = Buffer.from(`${keyframe ? 'K' : 'P'}${String(this.index).padStart(5, '0')};`);
    const at = (this.index * 1000) / this.fps;
    this.index++;
    return { data, keyframe, wallTime: this.wallStart + at, monoTime: at };
  }

  /** Pushes frames into `consumer` until the clock has reached `untilMs` (monotonic), one frame period apart. */
  runUntil(untilMs: number, consumer: (unit: AccessUnit) => void): void {
    // Frame i arrives at exactly i * 1000 / fps (no accumulated rounding).
    for (;;) {
      const at = (this.index * 1000) / this.fps;
      if (at > untilMs) break;
      this.clock.advance(at - this.clock.monotonic());
      consumer(this.next());
    }
    this.clock.advance(Math.max(0, untilMs - this.clock.monotonic()));
  }
}

/** The frame indexes a file written from a SyntheticStream holds, in order. */
export function framesIn(file: string): number[] {
  return fs.readFileSync(file, 'utf8').split(';').filter(Boolean).map((s) => Number(s.slice(1)));
}

/** The time frame `index` arrives at, in ms of the stream. */
export function frameTime(index: number, fps = 12): number {
  return (index * 1000) / fps;
}

/** `first..last` inclusive. */
export function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}
