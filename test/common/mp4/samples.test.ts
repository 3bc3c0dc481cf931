// Sample decisions and presentation order, on hand-built streams where ffmpeg cannot make the case (PAFF fields).
import { describe, expect, it } from 'vitest';
import type { AccessUnit } from '../../../src/common/h264/annexb.js';
import { NalType } from '../../../src/common/h264/nal.js';
import { keepsNal, presentationOrder, SampleTableBuilder } from '../../../src/common/mp4/samples.js';
import { BitWriter, nalUnit } from '../h264/bitwriter.js';

describe('presentationOrder', () => {
  it('is absent when pictures are presented in decoding order', () => {
    expect(presentationOrder(Int32Array.from([0, 2, 4, 0, 2]), Uint8Array.from([1, 0, 0, 1, 0]))).toEqual({ delayFrames: 0 });
  });

  it('I P B B | I P B B: offsets shifted by the one-frame delay, periods kept apart', () => {
    const pocs = Int32Array.from([0, 6, 2, 4, 0, 6, 2, 4]);
    const starts = Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0]);
    // Slots: I0→0, P→3, B→1, B→2; offset = slot - index + 1.
    expect(presentationOrder(pocs, starts)).toEqual({ compositionFrames: Uint32Array.from([1, 3, 0, 0, 1, 3, 0, 0]), delayFrames: 1 });
  });

  it('b-pyramid (I P Bref b b) needs a delay of two frames', () => {
    const pocs = Int32Array.from([0, 8, 4, 2, 6]);
    const r = presentationOrder(pocs, Uint8Array.from([1, 0, 0, 0, 0]));
    expect(r.delayFrames).toBe(2);
    // Presentation time = (index + offset - delay): 0, 4, 2, 1, 3.
    expect([...r.compositionFrames!].map((c, i) => i + c - r.delayFrames)).toEqual([0, 4, 2, 1, 3]);
  });
});

describe('keepsNal', () => {
  it('drops access unit delimiters and filler, keeps parameter sets, SEI and slices', () => {
    expect([1, 5, 6, 7, 8, 9, 10, 11, 12].map(keepsNal)).toEqual([true, true, true, true, true, false, true, true, false]);
  });
});

// A Main-profile SPS for 176x144 field coding (frame_mbs_only_flag 0), POC type 2, and its PPS.
const SPS = nalUnit(3, NalType.SPS, new BitWriter().bits(8, 77).bits(8, 0).bits(8, 30).ue(0)
  .ue(0).ue(2) // log2_max_frame_num 4, pic_order_cnt_type 2
  .ue(1).flag(0).ue(10).ue(4).flag(0).flag(0).flag(1) // refs, gaps, 11 MBs wide, 5 map units (10 MB rows), frame_mbs_only 0, mbaff 0, direct8x8
  .flag(0).flag(0).rbsp());
const PPS = nalUnit(3, NalType.PPS, new BitWriter().ue(0).ue(0).flag(0).flag(0).ue(0).ue(0).ue(0).flag(0).bits(2, 0).se(0).se(0).se(0).flag(1).flag(0).flag(0).rbsp());

/** A field slice: header fields up to dec_ref_pic_marking, then a few bytes standing for slice data. */
function fieldSlice(idr: boolean, frameNum: number, bottom: boolean): Buffer {
  const w = new BitWriter().ue(0).ue(idr ? 7 : 5).ue(0).bits(4, frameNum).flag(1).flag(bottom);
  if (idr) w.ue(0); // idr_pic_id
  if (!idr) w.flag(0).flag(0); // num_ref_idx_active_override_flag, ref_pic_list_modification_flag_l0
  if (idr) w.flag(0).flag(0);
  else w.flag(0); // adaptive_ref_pic_marking_mode_flag
  w.bits(16, 0xabcd);
  return nalUnit(2, idr ? NalType.IDR : NalType.SLICE, w.rbsp());
}

function au(keyframe: boolean, ...nals: Buffer[]): AccessUnit {
  return { data: Buffer.concat(nals.flatMap((n) => [Buffer.from([0, 0, 0, 1]), n])), keyframe, wallTime: 0, monoTime: 0 };
}

describe('SampleTableBuilder', () => {
  it('joins the two fields of a frame into one sample (PAFF), sync on the IDR frame', () => {
    const b = new SampleTableBuilder();
    const aus = [
      au(true, SPS, PPS, fieldSlice(true, 0, false)),
      au(false, fieldSlice(false, 0, true)),
      au(false, fieldSlice(false, 1, false)),
      au(false, fieldSlice(false, 1, true)),
      au(false, fieldSlice(false, 2, false)),
      au(false, fieldSlice(false, 2, true)),
    ];
    for (const a of aus) b.add(a);
    const t = b.finish();
    const size = (a: AccessUnit) => a.data.length; // 4-byte start codes become 4-byte lengths
    expect([...t.sizes]).toEqual([size(aus[0]!) + size(aus[1]!), size(aus[2]!) + size(aus[3]!), size(aus[4]!) + size(aus[5]!)]);
    expect([...t.syncSamples]).toEqual([1]);
    expect(t.compositionFrames).toBeUndefined();
    expect([t.sps.width, t.sps.height, t.sps.frameMbsOnly]).toEqual([176, 160, false]);
    expect(t.keptAccessUnits).toBe(6);
  });

  it('decides per access unit, so a second pass copies exactly the units the first pass counted', () => {
    const b = new SampleTableBuilder();
    const p = au(false, fieldSlice(false, 1, false));
    const broken = au(false, Buffer.from([0x21])); // a slice NAL unit cut after its header byte
    for (const a of [p, au(true, SPS, PPS, fieldSlice(true, 0, false)), p, broken]) b.add(a);
    const t = b.finish();
    expect([0, 1, 2, 3].map((i) => b.keeps(i))).toEqual([false, true, true, false]);
    expect(t.warnings).toEqual([
      'skipped 1 access units before the first IDR picture',
      expect.stringMatching(/^dropped the incomplete last access unit \(file cut short\?\): /),
    ]);
  });
});
