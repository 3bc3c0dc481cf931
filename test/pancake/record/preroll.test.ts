// PreRollBuffer: whole GOPs only, at least keepMs of stream, bounded bytes, clips from an IDR.
import { describe, expect, it } from 'vitest';
import type { AccessUnit } from '../../../src/common/h264/annexb.js';
import { PreRollBuffer } from '../../../src/pancake/record/preroll.js';

/** Unit i of a 10 fps stream with an IDR every 10 units; `size` bytes each. */
function unit(i: number, size = 10): AccessUnit {
  return { data: Buffer.alloc(size, i % 256), keyframe: i % 10 === 0, wallTime: 1_000_000 + i * 100, monoTime: i * 100 };
}
const indexes = (units: AccessUnit[]): number[] => units.map((u) => u.monoTime / 100);

describe('PreRollBuffer', () => {
  it('drops units before the first IDR and keeps whole GOPs covering at least keepMs', () => {
    const ring = new PreRollBuffer({ keepMs: 3000 });
    for (let i = 5; i <= 72; i++) ring.push(unit(i));
    // Newest unit at 7.2 s: the GOP at 4 s still is needed (5 s … 7.2 s is less than 3 s), 3 s is not.
    expect(indexes(ring.since(0))[0]).toBe(40);
    expect(ring.spanMs).toBe(3200);
    expect(ring.bytes).toBe(33 * 10);
  });

  it('gives the units from the first IDR at or after a time; none when no IDR is that late', () => {
    const ring = new PreRollBuffer({ keepMs: 6000 });
    for (let i = 0; i <= 64; i++) ring.push(unit(i));
    expect(indexes(ring.since(2500))).toEqual(Array.from({ length: 35 }, (_, k) => 30 + k));
    expect(indexes(ring.since(6000))).toEqual([60, 61, 62, 63, 64]);
    expect(ring.since(6100)).toEqual([]);
  });

  it('keeps memory under maxBytes by dropping the oldest GOPs, never the newest', () => {
    const ring = new PreRollBuffer({ keepMs: 6000, maxBytes: 250 });
    for (let i = 0; i <= 39; i++) ring.push(unit(i));
    expect(ring.bytes).toBeLessThanOrEqual(250);
    expect(indexes(ring.since(0))[0]).toBe(20);
    const big = new PreRollBuffer({ keepMs: 6000, maxBytes: 5 });
    for (let i = 0; i <= 3; i++) big.push(unit(i));
    expect(indexes(big.since(0))).toEqual([0, 1, 2, 3]);
  });

  it('starts afresh after clear()', () => {
    const ring = new PreRollBuffer({ keepMs: 6000 });
    for (let i = 0; i <= 15; i++) ring.push(unit(i));
    ring.clear();
    ring.push(unit(16));
    expect(ring.since(0)).toEqual([]);
    expect(ring.bytes).toBe(0);
  });
});
