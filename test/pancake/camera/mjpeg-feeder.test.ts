// The fixed-rate feed on a ManualClock: exactly fps pictures a second, the newest JPEG each time, repeats and drops counted, a stall ends it.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/common/clock.js';
import { FixedRateFeeder } from '../../../src/pancake/camera/mjpeg/feeder.js';

const jpeg = (n: number): Buffer => Buffer.from([0xff, 0xd8, n, 0xff, 0xd9]);
const id = (b: Buffer): number => b[2]!;

function rig(options: { fps?: number; stallMs?: number; maxCatchUp?: number } = {}) {
  const clock = new ManualClock();
  const written: number[] = [];
  const stalls: number[] = [];
  const measured: number[] = [];
  const feeder = new FixedRateFeeder({
    clock, fps: options.fps ?? 10, stallMs: options.stallMs ?? 3000, maxCatchUp: options.maxCatchUp,
    write: (b) => written.push(id(b)),
    onStall: (ms) => stalls.push(ms),
    onMeasured: (fps) => measured.push(fps),
  });
  return { clock, feeder, written, stalls, measured };
}

describe('FixedRateFeeder', () => {
  it('writes nothing before the first JPEG, then that one at once', () => {
    const { clock, feeder, written } = rig();
    clock.advance(5000);
    expect(written).toEqual([]);
    feeder.offer(jpeg(1));
    expect(written).toEqual([1]);
  });

  it('a camera at the same rate: each JPEG once', () => {
    const { clock, feeder, written } = rig();
    feeder.offer(jpeg(1));
    clock.advance(50); // the camera's frames fall between the ticks
    for (let n = 2; n <= 20; n++) {
      feeder.offer(jpeg(n));
      clock.advance(100);
    }
    expect(written).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(feeder.repeated).toBe(0);
    expect(feeder.dropped).toBe(0);
  });

  it('a slower camera (4 fps into 10): repeats the newest; the count follows the clock', () => {
    const { clock, feeder, written } = rig();
    for (let n = 1; n <= 8; n++) {
      feeder.offer(jpeg(n));
      clock.advance(250);
    }
    // 2 s → 20 ticks after the first picture, plus the first.
    expect(written).toHaveLength(21);
    expect(written.slice(0, 7)).toEqual([1, 1, 1, 2, 2, 2, 3]); // a tick due when a JPEG arrives goes first
    expect(new Set(written)).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(feeder.repeated).toBe(21 - 8);
  });

  it('a faster camera (25 fps into 10): the newest at each tick, the rest dropped', () => {
    const { clock, feeder, written } = rig();
    for (let n = 1; n <= 50; n++) {
      feeder.offer(jpeg(n));
      clock.advance(40);
    }
    expect(written).toHaveLength(21);
    expect(written.slice(0, 4)).toEqual([1, 3, 5, 8]);
    expect(feeder.dropped).toBe(50 - 21);
  });

  it('a late tick writes the pictures it missed, so the count matches the time passed', () => {
    const { clock, feeder, written } = rig();
    feeder.offer(jpeg(1));
    // A blocked event loop: ManualClock runs the overdue tick once at the end of a jump.
    clock.advance(0);
    (clock as unknown as { timers: { at: number }[] }).timers.forEach((t) => (t.at += 450));
    clock.advance(550);
    expect(written).toHaveLength(6); // 0, 100, …, 500 ms
  });

  it('far behind (more than maxCatchUp): starts counting again instead of a burst', () => {
    const { clock, feeder, written } = rig({ maxCatchUp: 3 });
    feeder.offer(jpeg(1));
    (clock as unknown as { timers: { at: number }[] }).timers.forEach((t) => (t.at += 900));
    clock.advance(1000);
    expect(written).toHaveLength(2);
    feeder.offer(jpeg(2));
    clock.advance(300);
    expect(written).toEqual([1, 1, 2, 2, 2]);
  });

  it('stops repeating and reports once after stallMs without a JPEG', () => {
    const { clock, feeder, written, stalls } = rig({ stallMs: 2000 });
    feeder.offer(jpeg(1));
    clock.advance(1950);
    expect(written).toHaveLength(20);
    expect(stalls).toEqual([]);
    clock.advance(100);
    expect(stalls).toEqual([2000]);
    const count = written.length;
    clock.advance(5000);
    feeder.offer(jpeg(2));
    clock.advance(1000);
    expect(written).toHaveLength(count);
    expect(stalls).toHaveLength(1);
  });

  it('measures the camera rate over its first 2 s, once', () => {
    const { clock, feeder, measured } = rig();
    for (let n = 1; n <= 30; n++) {
      feeder.offer(jpeg(n));
      clock.advance(200); // 5 fps
    }
    expect(measured).toHaveLength(1);
    expect(measured[0]).toBeCloseTo(5, 5);
  });

  it('close: nothing more is written', () => {
    const { clock, feeder, written } = rig();
    feeder.offer(jpeg(1));
    feeder.close();
    clock.advance(1000);
    feeder.offer(jpeg(2));
    expect(written).toEqual([1]);
  });
});
