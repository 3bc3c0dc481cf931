// NalRanges: byte ranges packed as varints come back exactly, past 2^32 and across blocks; out-of-order ranges are refused.
import { describe, expect, it } from 'vitest';
import { NalRanges } from '../../../src/postproc/convert/nal-ranges.js';
import { prng } from '../../common/h264/fixtures.js';

function readAll(ranges: NalRanges): [number, number][] {
  const out: [number, number][] = [];
  const cursor = ranges.cursor();
  while (cursor.next()) out.push([cursor.start, cursor.length]);
  return out;
}

describe('NalRanges', () => {
  it('is empty until a range is added', () => {
    const ranges = new NalRanges();
    expect(readAll(ranges)).toEqual([]);
    expect([ranges.count, ranges.totalLength]).toEqual([0, 0]);
  });

  it('gives back 200 000 ranges (several blocks) with gaps and lengths from 0 to 2^24, and offsets past 2^40 and 2^48', () => {
    const next = prng(7);
    const expected: [number, number][] = [];
    const ranges = new NalRanges();
    let pos = 0;
    for (let i = 0; i < 200_000; i++) {
      // Jumps: a skipped stretch of the file, and offsets past 32 and 48 bits.
      if (i === 100_000) pos = Math.max(pos, 2 ** 40 - 5);
      if (i === 150_000) pos = 2 ** 48 + 3;
      pos += [0, 3, 4, 127, 128, 20_000][Math.floor(next() * 6)]!;
      const length = i % 1000 === 0 ? 2 ** 24 : Math.floor(next() * 70_000);
      expected.push([pos, length]);
      ranges.add(pos, length);
      pos += length;
    }
    expect(ranges.count).toBe(200_000);
    expect(ranges.totalLength).toBe(expected.reduce((sum, [, l]) => sum + l, 0));
    expect(readAll(ranges)).toEqual(expected);
    // A second cursor starts again from the first range.
    const again = ranges.cursor();
    expect(again.next() && [again.start, again.length]).toEqual(expected[0]);
  });

  it('refuses a range that overlaps or precedes the one before', () => {
    const ranges = new NalRanges();
    ranges.add(10, 5);
    expect(() => ranges.add(14, 1)).toThrow(RangeError);
    expect(() => ranges.add(2, 1)).toThrow(RangeError);
    ranges.add(15, 0);
    expect(readAll(ranges)).toEqual([[10, 5], [15, 0]]);
  });
});
