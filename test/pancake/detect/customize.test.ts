// The shipped customize.ts: the original's time example and the frame-difference motion detector, on synthetic frames.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detect, firstTenSecondsOfMinute, MotionDetector, type Frame } from '../../../customize.js';
import { PROJECT_ROOT } from '../../../src/common/paths.js';
import { loadDetect } from '../../../src/pancake/detect/hook.js';

/** A grey frame (every channel = `level`) with an optional square of `size` pixels at `level + delta`. */
function frame(width: number, height: number, level: number, square?: { x: number; y: number; size: number; delta: number }): Frame {
  const data = new Uint8Array(width * height * 3).fill(level);
  if (square) {
    for (let y = square.y; y < square.y + square.size; y++) {
      for (let x = square.x; x < square.x + square.size; x++) data.fill(level + square.delta, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  }
  return { data, width, height, time: 0 };
}

describe('customize.ts', () => {
  it('keeps the original example: true during seconds 0–10 of each minute', () => {
    expect(firstTenSecondsOfMinute(new Date(2026, 0, 1, 12, 0, 0))).toBe(true);
    expect(firstTenSecondsOfMinute(new Date(2026, 0, 1, 12, 0, 10, 999))).toBe(true);
    expect(firstTenSecondsOfMinute(new Date(2026, 0, 1, 12, 0, 11))).toBe(false);
    expect(firstTenSecondsOfMinute(new Date(2026, 0, 1, 12, 0, 59))).toBe(false);
    expect(typeof detect()).toBe('boolean');
  });

  it('detects motion when at least 1 % of the pixels change by more than 25', () => {
    const m = new MotionDetector();
    expect(m.update(frame(100, 100, 100))).toBe(false); // the first frame has nothing to compare with
    expect(m.update(frame(100, 100, 100))).toBe(false);
    // A 10x10 square is exactly 1 % of 100x100.
    expect(m.update(frame(100, 100, 100, { x: 40, y: 40, size: 10, delta: 40 }))).toBe(true);
    expect(m.changed).toBeCloseTo(0.01);
    // Back to the plain frame: the square changed again.
    expect(m.update(frame(100, 100, 100))).toBe(true);
    expect(m.update(frame(100, 100, 100))).toBe(false);
  });

  it('ignores small areas and small changes (noise)', () => {
    const m = new MotionDetector();
    m.update(frame(100, 100, 100));
    expect(m.update(frame(100, 100, 100, { x: 0, y: 0, size: 9, delta: 200 }))).toBe(false); // 0.81 % of the picture
    m.update(frame(100, 100, 100));
    expect(m.update(frame(100, 100, 100, { x: 0, y: 0, size: 50, delta: 20 }))).toBe(false); // a quarter, but only by 20
    expect(m.update(frame(100, 100, 125))).toBe(false); // the whole picture brighter by exactly the threshold
    expect(m.update(frame(100, 100, 151))).toBe(true);
  });

  it('takes its threshold and area from options, and starts over when the frame size changes', () => {
    const m = new MotionDetector({ threshold: 5, minArea: 0.5 });
    m.update(frame(10, 10, 50));
    expect(m.update(frame(10, 10, 50, { x: 0, y: 0, size: 7, delta: 6 }))).toBe(false); // 49 %
    expect(m.update(frame(10, 10, 50, { x: 0, y: 0, size: 8, delta: 12 }))).toBe(true); // 64 %
    expect(m.update(frame(20, 20, 0))).toBe(false);
  });

  it('loads through pancake’s loader as shipped; detect(frame) is the motion detector', async () => {
    const hook = await loadDetect(path.join(PROJECT_ROOT, 'customize.ts'));
    expect(typeof hook()).toBe('boolean');
    expect(hook(frame(20, 20, 10))).toBe(false);
    expect(hook(frame(20, 20, 200))).toBe(true);
  });
});
