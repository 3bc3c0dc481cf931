// H.264 slice headers, read as far as picture order count and memory_management_control_operation 5 need (H.264 7.3.3).
import { BitReader, H264SyntaxError } from './bits.js';
import { hasSliceHeader, NalType, nalRefIdc, nalUnitType } from './nal.js';
import type { PpsInfo } from './pps.js';
import type { SpsInfo } from './sps.js';

/** slice_type % 5 (Table 7-6). */
export const SliceType = { P: 0, B: 1, I: 2, SP: 3, SI: 4 } as const;

/** The slice header fields that decide picture boundaries and picture order. */
export interface SliceHeader {
  nalUnitType: number;
  nalRefIdc: number;
  /** IdrPicFlag: nal_unit_type 5. */
  idr: boolean;
  firstMbInSlice: number;
  /** slice_type % 5, see {@link SliceType}. */
  sliceType: number;
  ppsId: number;
  spsId: number;
  colourPlaneId: number;
  frameNum: number;
  fieldPic: boolean;
  bottomField: boolean;
  idrPicId: number;
  picOrderCntLsb: number;
  deltaPicOrderCntBottom: number;
  deltaPicOrderCnt: [number, number];
  redundantPicCnt: number;
  /** Whether dec_ref_pic_marking holds memory_management_control_operation 5 (resets frame_num and POC). */
  mmco5: boolean;
}

/**
 * Reads first_mb_in_slice only: enough to tell whether a slice starts a new picture. Needs no
 * parameter sets; returns undefined when the bytes end before the value does.
 */
export function firstMbInSlice(nal: Uint8Array, end = nal.length): number | undefined {
  try {
    return new BitReader(nal, 1, end).ue();
  } catch (err) {
    if (err instanceof H264SyntaxError) return undefined;
    throw err;
  }
}

/**
 * Parses a slice header (NAL unit types 1, 2 and 5) up to and including dec_ref_pic_marking.
 * Throws H264SyntaxError when it is truncated or refers to a parameter set not seen yet.
 */
export function parseSliceHeader(nal: Uint8Array, ppsById: ReadonlyMap<number, PpsInfo>, spsById: ReadonlyMap<number, SpsInfo>): SliceHeader {
  if (nal.length < 2) throw new H264SyntaxError('slice NAL unit too short');
  const type = nalUnitType(nal[0]!);
  if (!hasSliceHeader(type)) throw new H264SyntaxError(`NAL unit type ${type} has no slice header`);
  const refIdc = nalRefIdc(nal[0]!);
  const idr = type === NalType.IDR;
  const r = new BitReader(nal, 1);
  const firstMb = r.ue();
  const sliceType = r.ueMax(9, 'slice_type') % 5;
  const ppsId = r.ueMax(255, 'pic_parameter_set_id');
  const pps = ppsById.get(ppsId);
  if (!pps) throw new H264SyntaxError(`slice refers to unknown PPS ${ppsId}`);
  const sps = spsById.get(pps.spsId);
  if (!sps) throw new H264SyntaxError(`PPS ${ppsId} refers to unknown SPS ${pps.spsId}`);

  const colourPlaneId = sps.separateColourPlane ? r.bits(2) : 0;
  const frameNum = r.bits(sps.log2MaxFrameNum);
  let fieldPic = false;
  let bottomField = false;
  if (!sps.frameMbsOnly) {
    fieldPic = r.flag();
    if (fieldPic) bottomField = r.flag();
  }
  const idrPicId = idr ? r.ue() : 0;
  let picOrderCntLsb = 0;
  let deltaPicOrderCntBottom = 0;
  const deltaPicOrderCnt: [number, number] = [0, 0];
  if (sps.picOrderCntType === 0) {
    picOrderCntLsb = r.bits(sps.log2MaxPocLsb);
    if (pps.bottomFieldPicOrderInFramePresent && !fieldPic) deltaPicOrderCntBottom = r.se();
  }
  if (sps.picOrderCntType === 1 && !sps.deltaPicOrderAlwaysZero) {
    deltaPicOrderCnt[0] = r.se();
    if (pps.bottomFieldPicOrderInFramePresent && !fieldPic) deltaPicOrderCnt[1] = r.se();
  }
  const redundantPicCnt = pps.redundantPicCntPresent ? r.ue() : 0;

  // The rest is read to reach dec_ref_pic_marking, and so that a header cut short is noticed.
  const isB = sliceType === SliceType.B;
  const isP = sliceType === SliceType.P || sliceType === SliceType.SP;
  if (isB) r.skip(1); // direct_spatial_mv_pred_flag
  let numRefL0 = pps.numRefIdxL0DefaultActive;
  let numRefL1 = pps.numRefIdxL1DefaultActive;
  if ((isP || isB) && r.flag()) {
    numRefL0 = r.ueMax(31, 'num_ref_idx_l0_active_minus1') + 1;
    if (isB) numRefL1 = r.ueMax(31, 'num_ref_idx_l1_active_minus1') + 1;
  }
  if (sliceType !== SliceType.I && sliceType !== SliceType.SI) {
    skipRefPicListModification(r);
    if (isB) skipRefPicListModification(r);
  }
  if ((pps.weightedPredFlag && isP) || (pps.weightedBipredIdc === 1 && isB)) {
    skipPredWeightTable(r, sps.chromaArrayType, numRefL0, isB ? numRefL1 : 0);
  }
  let mmco5 = false;
  if (refIdc !== 0) {
    if (idr) {
      r.skip(2); // no_output_of_prior_pics_flag, long_term_reference_flag
    } else if (r.flag()) {
      // adaptive_ref_pic_marking_mode_flag: a list of operations ended by 0.
      for (let n = 0; ; n++) {
        if (n > 66) throw new H264SyntaxError('too many memory_management_control_operations');
        const op = r.ueMax(6, 'memory_management_control_operation');
        if (op === 0) break;
        if (op === 5) mmco5 = true;
        if (op === 1 || op === 3) r.ue(); // difference_of_pic_nums_minus1
        if (op === 2) r.ue(); // long_term_pic_num
        if (op === 3 || op === 6) r.ue(); // long_term_frame_idx
        if (op === 4) r.ue(); // max_long_term_frame_idx_plus1
      }
    }
  }

  return {
    nalUnitType: type, nalRefIdc: refIdc, idr, firstMbInSlice: firstMb, sliceType, ppsId, spsId: sps.spsId,
    colourPlaneId, frameNum, fieldPic, bottomField, idrPicId, picOrderCntLsb, deltaPicOrderCntBottom,
    deltaPicOrderCnt, redundantPicCnt, mmco5,
  };
}

// 7.3.3.1 for one list: modification_of_pic_nums_idc values until 3.
function skipRefPicListModification(r: BitReader): void {
  if (!r.flag()) return;
  for (let n = 0; ; n++) {
    if (n > 33) throw new H264SyntaxError('too many ref_pic_list_modification entries');
    const idc = r.ueMax(5, 'modification_of_pic_nums_idc');
    if (idc === 3) return;
    r.ue(); // abs_diff_pic_num_minus1, long_term_pic_num or abs_diff_view_idx_minus1
  }
}

// 7.3.3.2
function skipPredWeightTable(r: BitReader, chromaArrayType: number, numRefL0: number, numRefL1: number): void {
  r.ue(); // luma_log2_weight_denom
  if (chromaArrayType !== 0) r.ue(); // chroma_log2_weight_denom
  for (const count of [numRefL0, numRefL1]) {
    for (let i = 0; i < count; i++) {
      if (r.flag()) {
        r.se(); // luma_weight
        r.se(); // luma_offset
      }
      if (chromaArrayType !== 0 && r.flag()) {
        for (let j = 0; j < 4; j++) r.se(); // chroma_weight, chroma_offset for Cb and Cr
      }
    }
  }
}
