// What a recording keeps of a batch that a full disk cut short: the access units that reached it whole.
import { describe, expect, it } from 'vitest';
import { wholeUnits } from '../../../src/pancake/record/h264-file.js';

describe('wholeUnits', () => {
  const batch = [Buffer.alloc(100), Buffer.alloc(50), Buffer.alloc(200)];
  it.each([
    [0, 0], [99, 0], [100, 100], [149, 100], [150, 150], [349, 150], [350, 350], [1000, 350],
  ])('%i bytes written: keep %i', (written, kept) => {
    expect(wholeUnits(batch, written)).toBe(kept);
  });
});
