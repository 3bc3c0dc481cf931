// Test helper: what an H.264 Annex B recording starts with (the NAL units of its first picture), read from its bytes.
import fs from 'node:fs';
import { isVcl, iterateNalUnits, nalUnitType } from '../../src/common/h264/index.js';

/** NAL unit types of `data` up to and including the first slice (AUD 9, SEI 6, SPS 7, PPS 8, IDR 5, …). */
export function leadingNalTypes(data: Buffer): number[] {
  const types: number[] = [];
  for (const nal of iterateNalUnits(data)) {
    const type = nalUnitType(nal[0]!);
    types.push(type);
    if (isVcl(type)) break;
  }
  return types;
}

/**
 * Whether a file (or buffer) starts decodable: an SPS, then a PPS, then an IDR slice as its first
 * picture; access unit delimiters and SEI may come in between, nothing else.
 */
export function startsWithSpsPpsIdr(fileOrData: string | Buffer): boolean {
  const data = typeof fileOrData === 'string' ? fs.readFileSync(fileOrData) : fileOrData;
  const types = leadingNalTypes(data).filter((t) => t !== 9 && t !== 6);
  return types.join(',') === '7,8,5';
}
