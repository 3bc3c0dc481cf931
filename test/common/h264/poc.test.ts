// Slice headers and picture order count: the display order they give equals ffmpeg's decoder output order.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AnnexBParser } from '../../../src/common/h264/annexb.js';
import { hasSliceHeader, iterateNalUnits, NalType, nalUnitType } from '../../../src/common/h264/nal.js';
import { PocCalculator } from '../../../src/common/h264/poc.js';
import { parsePps, type PpsInfo } from '../../../src/common/h264/pps.js';
import { parseSliceHeader, SliceType, type SliceHeader } from '../../../src/common/h264/slice.js';
import { parseSps, type SpsInfo } from '../../../src/common/h264/sps.js';
import { ALL_STREAMS, byName, ffprobeDisplayOrder } from './fixtures.js';

interface Picture {
  offset: number;
  slices: SliceHeader[];
  poc: number;
  startsPeriod: boolean;
}

/** Every access unit of a file with its slice headers and POC, in decoding order. */
function pictures(file: string): Picture[] {
  const buf = fs.readFileSync(file);
  const parser = new AnnexBParser();
  const spsById = new Map<number, SpsInfo>();
  const ppsById = new Map<number, PpsInfo>();
  const poc = new PocCalculator();
  const out: Picture[] = [];
  let offset = 0;
  for (const au of [...parser.push(buf, 0, 0), ...parser.end()]) {
    const slices: SliceHeader[] = [];
    for (const nal of iterateNalUnits(au.data)) {
      const type = nalUnitType(nal[0]!);
      if (type === NalType.SPS) spsById.set(parseSps(nal).spsId, parseSps(nal));
      if (type === NalType.PPS) ppsById.set(parsePps(nal).ppsId, parsePps(nal));
      if (hasSliceHeader(type)) slices.push(parseSliceHeader(nal, ppsById, spsById));
    }
    const order = poc.compute(slices[0]!, spsById.get(slices[0]!.spsId)!);
    out.push({ offset, slices, poc: order.poc, startsPeriod: order.startsPeriod });
    offset += au.data.length;
  }
  return out;
}

/** Output order implied by POC: all pictures of a period (IDR or mmco5 to the next) before the next period, by POC within it. */
function displayOrder(pics: Picture[]): number[] {
  const periods: Picture[][] = [];
  for (const p of pics) {
    if (p.startsPeriod || periods.length === 0) periods.push([]);
    periods[periods.length - 1]!.push(p);
  }
  return periods.flatMap((period) => [...period].sort((a, b) => a.poc - b.poc).map((p) => p.offset));
}

const fakeSps = (over: Partial<SpsInfo>): SpsInfo => ({ ...parseSps([...iterateNalUnits(fs.readFileSync(byName('baseline-160x120.h264').file))][0]!), ...over });

function header(over: Partial<SliceHeader>): SliceHeader {
  return {
    nalUnitType: 1, nalRefIdc: 1, idr: false, firstMbInSlice: 0, sliceType: SliceType.P, ppsId: 0, spsId: 0, colourPlaneId: 0,
    frameNum: 0, fieldPic: false, bottomField: false, idrPicId: 0, picOrderCntLsb: 0, deltaPicOrderCntBottom: 0,
    deltaPicOrderCnt: [0, 0], redundantPicCnt: 0, mmco5: false, ...over,
  };
}

describe('slice headers and POC', () => {
  it.each(ALL_STREAMS.map((f) => [f.name, f] as const))('%s: POC order equals ffmpeg output order', (_, f) => {
    const pics = pictures(f.file);
    expect(displayOrder(pics)).toEqual(ffprobeDisplayOrder(f.file));
  });

  it('the B-frame fixture really reorders (b-pyramid: I P B B), with weighted P slices parsed', () => {
    const pics = pictures(byName('high-bframes-160x120.h264').file);
    expect(pics.slice(0, 4).map((p) => p.slices[0]!.sliceType)).toEqual([SliceType.I, SliceType.P, SliceType.B, SliceType.B]);
    expect(pics.slice(0, 4).map((p) => p.poc)).toEqual([0, 6, 2, 4]);
    expect(pics.filter((p) => p.startsPeriod).length).toBe(2);
  });

  it('a multi-slice picture holds its four slices, one picture per access unit', () => {
    const pics = pictures(byName('slices4-160x120.h264').file);
    for (const p of pics) {
      expect(p.slices.length).toBe(4);
      expect(p.slices[0]!.firstMbInSlice).toBe(0);
      const mbs = p.slices.map((s) => s.firstMbInSlice);
      expect([...mbs].sort((a, b) => a - b)).toEqual(mbs);
      expect(new Set(p.slices.map((s) => s.frameNum)).size).toBe(1);
    }
  });

  it('type 0: LSB wrap-around in both directions (8.2.1.1)', () => {
    const sps = fakeSps({ picOrderCntType: 0, log2MaxPocLsb: 4 });
    const calc = new PocCalculator();
    const seq = [
      header({ idr: true, nalUnitType: 5, picOrderCntLsb: 0 }),
      header({ picOrderCntLsb: 8 }),
      header({ picOrderCntLsb: 0 }), // 16: wrapped forward
      header({ picOrderCntLsb: 12, nalRefIdc: 0 }), // 12: a B picture before it, back across the wrap
      header({ picOrderCntLsb: 2 }), // 18
    ];
    expect(seq.map((h) => calc.compute(h, sps).poc)).toEqual([0, 8, 16, 12, 18]);
  });

  it('type 1: expected POC from the reference frame cycle, non-reference offset and deltas (8.2.1.2)', () => {
    const sps = fakeSps({ picOrderCntType: 1, log2MaxFrameNum: 4, offsetForRefFrame: [6], offsetForNonRefPic: -4, offsetForTopToBottomField: 0 });
    const calc = new PocCalculator();
    // I0 P3 B1 B2 P6 B4 B5 with POC = 2 x display index.
    const seq = [
      header({ idr: true, nalUnitType: 5, frameNum: 0 }),
      header({ frameNum: 1 }),
      header({ frameNum: 2, nalRefIdc: 0 }),
      header({ frameNum: 2, nalRefIdc: 0, deltaPicOrderCnt: [2, 0] }),
      header({ frameNum: 2 }),
      header({ frameNum: 3, nalRefIdc: 0 }),
      header({ frameNum: 3, nalRefIdc: 0, deltaPicOrderCnt: [2, 0] }),
    ];
    expect(seq.map((h) => calc.compute(h, sps).poc)).toEqual([0, 6, 2, 4, 12, 8, 10]);
  });

  it('type 2: frame_num wrap-around adds MaxFrameNum (8.2.1.3)', () => {
    const sps = fakeSps({ picOrderCntType: 2, log2MaxFrameNum: 4 });
    const calc = new PocCalculator();
    const nums = [0, ...Array.from({ length: 17 }, (_, i) => (i + 1) % 16)];
    const pocs = nums.map((frameNum, i) => calc.compute(header({ idr: i === 0, nalUnitType: i === 0 ? 5 : 1, frameNum }), sps).poc);
    expect(pocs).toEqual(nums.map((_, i) => 2 * i));
  });

  it('memory_management_control_operation 5 starts a new period at POC 0, for types 0 and 2', () => {
    const t0 = fakeSps({ picOrderCntType: 0, log2MaxPocLsb: 8 });
    const c0 = new PocCalculator();
    const r0 = [
      header({ idr: true, nalUnitType: 5, picOrderCntLsb: 0 }),
      header({ picOrderCntLsb: 4 }),
      header({ picOrderCntLsb: 8, mmco5: true }),
      header({ picOrderCntLsb: 4 }),
    ].map((h) => c0.compute(h, t0));
    expect(r0.map((r) => [r.poc, r.startsPeriod])).toEqual([[0, true], [4, false], [0, true], [4, false]]);

    const t2 = fakeSps({ picOrderCntType: 2, log2MaxFrameNum: 4 });
    const c2 = new PocCalculator();
    const r2 = [
      header({ idr: true, nalUnitType: 5, frameNum: 0 }),
      header({ frameNum: 1 }),
      header({ frameNum: 2, mmco5: true }),
      header({ frameNum: 1 }),
    ].map((h) => c2.compute(h, t2));
    expect(r2.map((r) => [r.poc, r.startsPeriod])).toEqual([[0, true], [2, false], [0, true], [2, false]]);
  });
});
