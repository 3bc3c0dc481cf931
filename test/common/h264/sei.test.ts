// SEI payloads, and access units that are random-access points without an IDR (open GOP, recovery point SEI).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnnexBParser } from '../../../src/common/h264/annexb.js';
import { iterateNalUnits, nalUnitType } from '../../../src/common/h264/nal.js';
import { hasRecoveryPoint, seiPayloadTypes } from '../../../src/common/h264/sei.js';
import { FIXTURE_DIR, TESTCARD } from './fixtures.js';

const OPEN_GOP = path.join(FIXTURE_DIR, 'opengop-noidr-160x120.h264');

function units(file: string): { keyframe: boolean; types: number[] }[] {
  const parser = new AnnexBParser();
  const data = fs.readFileSync(file);
  // Cut into odd-sized chunks: a SEI may be split anywhere.
  const out = [];
  for (let i = 0; i < data.length; i += 777) out.push(...parser.push(data.subarray(i, i + 777), 0, 0));
  out.push(...parser.end());
  return out.map((u) => ({ keyframe: u.keyframe, types: [...iterateNalUnits(u.data)].map((n) => nalUnitType(n[0]!)) }));
}

describe('SEI', () => {
  it('reads payload types, across emulation prevention, and stops at the trailing bits', () => {
    // type 6 (recovery point, 2 bytes), then type 5 of 300 bytes (0xFF extension of the size), then trailing bits.
    const payload5 = Buffer.alloc(300, 0x11);
    const sei = Buffer.concat([Buffer.from([0x06, 6, 2, 0x84, 0x00, 5, 0xff, 300 - 255]), payload5, Buffer.from([0x80])]);
    expect(seiPayloadTypes(sei)).toEqual([6, 5]);
    expect(hasRecoveryPoint(sei)).toBe(true);
    // 00 00 03 00 inside a payload is one escaped 00 00 00: the size counts the unescaped bytes.
    const escaped = Buffer.from([0x06, 5, 4, 0, 0, 3, 0, 0x42, 6, 1, 0x80, 0x80]);
    expect(seiPayloadTypes(escaped)).toEqual([5, 6]);
    expect(hasRecoveryPoint(Buffer.from([0x06, 5, 1, 0x00, 0x80]))).toBe(false);
    // A payload cut short: what is whole is read, nothing is invented.
    expect(seiPayloadTypes(Buffer.from([0x06, 6, 10, 1, 2]))).toEqual([]);
  });

  it('an open-GOP stream with no IDR: every I-picture with a recovery point is a keyframe, nothing else is', () => {
    const all = units(OPEN_GOP);
    expect(all.some((u) => u.types.includes(5))).toBe(false);
    const keys = all.filter((u) => u.keyframe);
    expect(keys).toHaveLength(3);
    for (const k of keys) expect(k.types.slice(0, 4)).toEqual([7, 8, 6, 1]);
    expect(all[0]!.keyframe).toBe(true);
  });

  it('the test card is unchanged: keyframes are its IDRs', () => {
    const all = units(TESTCARD.file);
    expect(all.filter((u) => u.keyframe).length).toBe(24);
    for (const u of all) expect(u.keyframe).toBe(u.types.includes(5));
  });
});
