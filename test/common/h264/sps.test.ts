// SPS/PPS parsing and the bit reader: facts agree with ffprobe and with hand-built parameter sets.
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BitReader, H264SyntaxError, removeEmulationPrevention } from '../../../src/common/h264/bits.js';
import { iterateNalUnits, NalType, nalUnitType } from '../../../src/common/h264/nal.js';
import { parsePps } from '../../../src/common/h264/pps.js';
import { parseSps, type SpsInfo } from '../../../src/common/h264/sps.js';
import { BitWriter, nalUnit } from './bitwriter.js';
import { ALL_STREAMS, byName } from './fixtures.js';

function firstSps(file: string): SpsInfo {
  for (const nal of iterateNalUnits(fs.readFileSync(file))) if (nalUnitType(nal[0]!) === NalType.SPS) return parseSps(nal);
  throw new Error('no SPS');
}

function ffprobeStream(file: string): Record<string, string> {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=profile,level,width,height,has_b_frames,pix_fmt', '-of', 'json', file], { encoding: 'utf8' });
  return (JSON.parse(r.stdout) as { streams: Record<string, string>[] }).streams[0]!;
}

describe('BitReader', () => {
  it('reads Exp-Golomb codes (9.1)', () => {
    // 1 | 010 | 011 | 00100 | 00111 | 010 | 011 | 1 -> ue 0,1,2,3,6 then se +1,-1
    const r = new BitReader(Buffer.from([0b10100110, 0b01000011, 0b10100111]), 0, 3, false);
    expect([r.ue(), r.ue(), r.ue(), r.ue(), r.ue(), r.se(), r.se()]).toEqual([0, 1, 2, 3, 6, 1, -1]);
    expect(() => new BitReader(Buffer.from([0, 0, 0, 0, 0]), 0, 5, false).ue()).toThrow(H264SyntaxError);
  });

  it('reads 32-bit fields as unsigned numbers', () => {
    expect(new BitReader(Buffer.from([0xff, 0xff, 0xff, 0xfe]), 0, 4, false).bits(32)).toBe(0xfffffffe);
  });

  it('skips emulation-prevention bytes on the fly, and removeEmulationPrevention drops them', () => {
    const escaped = Buffer.from([0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03]);
    expect(Buffer.from(removeEmulationPrevention(escaped))).toEqual(Buffer.from([0, 0, 1, 0, 0, 0, 0]));
    const r = new BitReader(escaped);
    expect(r.bits(24)).toBe(1);
    expect(r.bits(32)).toBe(0);
    const plain = Buffer.from([1, 2, 3]);
    expect(removeEmulationPrevention(plain)).toBe(plain);
  });
});

describe('parseSps', () => {
  it.each(ALL_STREAMS.map((f) => [f.name, f] as const))('%s: size, profile, level and codec string agree with ffprobe', (_, f) => {
    const sps = firstSps(f.file);
    const p = ffprobeStream(f.file);
    expect([sps.width, sps.height]).toEqual([Number(p.width), Number(p.height)]);
    expect(sps.profileName).toBe(p.profile);
    expect(sps.levelIdc).toBe(Number(p.level));
    expect(sps.codec).toBe(f.codec);
    expect(sps.maxNumReorderFrames ?? 0).toBe(Number(p.has_b_frames));
  });

  it('reads the test card as Constrained Baseline level 3.0, avc1.42C01E', () => {
    const sps = firstSps(byName('testcard.h264').file);
    expect(sps).toMatchObject({ profileIdc: 66, constraintFlags: 0xc0, levelIdc: 30, codec: 'avc1.42C01E', width: 640, height: 480, picOrderCntType: 2 });
  });

  it('applies cropping in chroma units: 4:2:0 frame (162x122), MBAFF (field units) and 4:2:2', () => {
    expect(firstSps(byName('main-162x122.h264').file)).toMatchObject({ widthInMbs: 11, frameHeightInMbs: 8, crop: { left: 0, right: 14, top: 0, bottom: 6 } });
    expect(firstSps(byName('mbaff-160x120.h264').file)).toMatchObject({ frameMbsOnly: false, mbAdaptiveFrameField: true, crop: { bottom: 8 }, height: 120 });
    expect(firstSps(byName('high422-10bit-cqm-160x120.h264').file)).toMatchObject({ chromaFormatIdc: 2, bitDepthLuma: 10, bitDepthChroma: 10, crop: { bottom: 8 }, height: 120 });
  });

  it('reads x264 VUI timing (time_scale = 2 x fps) and the B-frame stream POC type 0', () => {
    const sps = firstSps(byName('high-bframes-160x120.h264').file);
    expect(sps.timing).toEqual({ numUnitsInTick: 1, timeScale: 20, fixedFrameRate: false });
    expect(sps.picOrderCntType).toBe(0);
  });

  it('skips scaling lists, reads VUI with HRD, SAR and bitstream restriction (hand-built High SPS)', () => {
    const w = new BitWriter().bits(8, 100).bits(8, 0).bits(8, 40).ue(3); // profile, constraints, level 4.0, sps id 3
    w.ue(1).ue(0).ue(0).flag(0); // chroma_format_idc, bit depths, qpprime
    w.flag(1); // seq_scaling_matrix_present_flag
    for (let i = 0; i < 8; i++) {
      w.flag(1);
      const size = i < 6 ? 16 : 64;
      // List 0: -8 makes nextScale 0 at once (use the default list); the others ramp up to the end.
      if (i === 0) w.se(-8);
      else for (let j = 0; j < size; j++) w.se(j === 0 ? 8 : 1);
    }
    w.ue(0).ue(0).ue(2); // log2_max_frame_num_minus4, pic_order_cnt_type 0, log2_max_poc_lsb_minus4
    w.ue(4).flag(0).ue(119).ue(67).flag(1).flag(1); // refs, gaps, 120x68 MBs, frame_mbs_only, direct_8x8
    w.flag(1).ue(0).ue(0).ue(0).ue(4); // cropping: bottom 4 * 2 = 8
    w.flag(1); // vui_parameters_present_flag
    w.flag(1).bits(8, 255).bits(16, 4).bits(16, 3); // SAR 4:3
    w.flag(0).flag(0).flag(0); // overscan, video signal, chroma loc
    w.flag(1).bits(32, 1001).bits(32, 60000).flag(1); // timing
    w.flag(1).ue(0).bits(4, 1).bits(4, 2).ue(999).ue(1999).flag(0).bits(5, 23).bits(5, 23).bits(5, 23).bits(5, 24); // NAL HRD
    w.flag(0).flag(0).flag(0); // VCL HRD, low_delay, pic_struct
    w.flag(1).flag(1).ue(2).ue(1).ue(16).ue(16).ue(2).ue(4); // bitstream restriction
    const sps = parseSps(nalUnit(3, NalType.SPS, w.rbsp()));
    expect(sps).toMatchObject({
      spsId: 3, scalingMatrixPresent: true, width: 1920, height: 1080, codec: 'avc1.640028', profileName: 'High',
      log2MaxPocLsb: 6, sarWidth: 4, sarHeight: 3, timing: { numUnitsInTick: 1001, timeScale: 60000, fixedFrameRate: true },
      maxNumReorderFrames: 2, maxDecFrameBuffering: 4,
    });
  });

  it('reads pic_order_cnt_type 1 cycles; a truncated VUI keeps the picture facts', () => {
    const w = new BitWriter().bits(8, 77).bits(8, 0x40).bits(8, 31).ue(0);
    w.ue(1).ue(1).flag(0).se(-4).se(1).ue(2).se(6).se(-2); // log2_max_frame_num 5, POC type 1, cycle [6, -2]
    w.ue(2).flag(0).ue(19).ue(14).flag(1).flag(1).flag(0); // 320x240
    w.flag(1).flag(1).bits(8, 255); // VUI: extended SAR, then the bytes end
    const sps = parseSps(nalUnit(3, NalType.SPS, w.rbsp()));
    expect(sps).toMatchObject({ picOrderCntType: 1, offsetForNonRefPic: -4, offsetForTopToBottomField: 1, offsetForRefFrame: [6, -2], width: 320, height: 240 });
    expect(sps.timing).toBeUndefined();
  });

  it('rejects a NAL unit that is not an SPS, and an SPS cut short', () => {
    const nal = [...iterateNalUnits(fs.readFileSync(byName('baseline-160x120.h264').file))];
    expect(() => parseSps(nal[1]!)).toThrow(H264SyntaxError);
    expect(() => parseSps(nal[0]!.subarray(0, 6))).toThrow(H264SyntaxError);
  });
});

describe('parsePps', () => {
  it('reads the ids and entropy coding of x264 streams (CAVLC baseline, CABAC main)', () => {
    const pps = (name: string) => parsePps([...iterateNalUnits(fs.readFileSync(byName(name).file))].find((n) => nalUnitType(n[0]!) === NalType.PPS)!);
    expect(pps('baseline-160x120.h264')).toMatchObject({ ppsId: 0, spsId: 0, entropyCodingModeFlag: false, numSliceGroups: 1 });
    expect(pps('main-162x122.h264')).toMatchObject({ ppsId: 0, spsId: 0, entropyCodingModeFlag: true });
    expect(pps('high-bframes-160x120.h264')).toMatchObject({ weightedPredFlag: true, weightedBipredIdc: 2, numRefIdxL0DefaultActive: 1 });
  });
});
