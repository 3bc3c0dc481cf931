// Keyframes without SPS/PPS get the newest ones in front: a stream that sends them once records like one that repeats them.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnnexBParser, type AccessUnit } from '../../../src/common/h264/annexb.js';
import { iterateNalUnits, nalUnitType } from '../../../src/common/h264/nal.js';
import { ParameterSets } from '../../../src/pancake/stream/parameter-sets.js';
import { FIXTURE_DIR, TESTCARD } from '../../common/h264/fixtures.js';

function parse(file: string): AccessUnit[] {
  const parser = new AnnexBParser();
  return [...parser.push(fs.readFileSync(file), 0, 0), ...parser.end()];
}

/** The unit without its SPS and PPS NAL units (as a camera sends keyframes after the first), other bytes as they were. */
function stripParameterSets(unit: AccessUnit): AccessUnit {
  const d = unit.data;
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = 0; i + 3 < d.length; i++) {
    if (d[i] !== 0 || d[i + 1] !== 0 || d[i + 2] !== 1) continue;
    const start = i > 0 && d[i - 1] === 0 ? i - 1 : i;
    const next = d.indexOf(Buffer.from([0, 0, 1]), i + 3);
    const end = next < 0 ? d.length : next > 0 && d[next - 1] === 0 ? next - 1 : next;
    if ([7, 8].includes(nalUnitType(d[i + 3]!))) {
      parts.push(d.subarray(from, start));
      from = end;
    }
    i += 2;
  }
  parts.push(d.subarray(from));
  return { ...unit, data: Buffer.concat(parts) };
}

const types = (u: AccessUnit): number[] => [...iterateNalUnits(u.data)].map((n) => nalUnitType(n[0]!));

describe('ParameterSets', () => {
  it('a test card with SPS/PPS only before its first IDR comes out as the test card: byte for byte', () => {
    const original = parse(TESTCARD.file);
    const sent = original.map((u, i) => (i === 0 ? u : stripParameterSets(u)));
    expect(sent.filter((u) => u.keyframe && types(u).includes(7))).toHaveLength(1);
    const sets = new ParameterSets();
    const out = sent.map((u) => sets.complete(u));
    expect(Buffer.concat(out.map((u) => u.data)).equals(fs.readFileSync(TESTCARD.file))).toBe(true);
    expect(sets.inserted).toBe(23);
  });

  it('units that carry their own are passed on untouched (the same buffer)', () => {
    const sets = new ParameterSets();
    for (const u of parse(TESTCARD.file)) expect(sets.complete(u)).toBe(u);
    expect(sets.inserted).toBe(0);
  });

  it('after an access unit delimiter, in SPS-before-PPS order; a missing PPS goes after the unit’s own SPS', () => {
    const units = parse(path.join(FIXTURE_DIR, 'high-bframes-160x120.h264'));
    expect(types(units[0]!).slice(0, 3)).toEqual([9, 7, 8]);
    const sets = new ParameterSets();
    sets.complete(units[0]!);
    const key = units.slice(1).find((u) => u.keyframe)!;
    expect(types(stripParameterSets(key))).not.toContain(7);
    expect(types(sets.complete(stripParameterSets(key)))).toEqual(types(key));
    const noPps = { ...key, data: Buffer.concat([...iterateNalUnits(key.data)].filter((n) => nalUnitType(n[0]!) !== 8).flatMap((n) => [Buffer.from([0, 0, 1]), n])) };
    expect(types(sets.complete(noPps))).toEqual(types(key));
  });

  it('a keyframe before any parameter set is passed on as an ordinary unit (nothing can decode from it)', () => {
    const sets = new ParameterSets();
    const first = stripParameterSets(parse(TESTCARD.file)[0]!);
    const out = sets.complete(first);
    expect(out.keyframe).toBe(false);
    expect(out.data).toBe(first.data);
  });
});
