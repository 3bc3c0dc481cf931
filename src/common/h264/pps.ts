// H.264 picture parameter set: the fields a slice header depends on (H.264 7.3.2.2).
import { BitReader, H264SyntaxError } from './bits.js';
import { NalType, nalUnitType } from './nal.js';

/** Facts of a picture parameter set needed to read slice headers. */
export interface PpsInfo {
  ppsId: number;
  spsId: number;
  entropyCodingModeFlag: boolean;
  bottomFieldPicOrderInFramePresent: boolean;
  numSliceGroups: number;
  numRefIdxL0DefaultActive: number;
  numRefIdxL1DefaultActive: number;
  weightedPredFlag: boolean;
  weightedBipredIdc: number;
  deblockingFilterControlPresent: boolean;
  constrainedIntraPred: boolean;
  redundantPicCntPresent: boolean;
}

/**
 * Parses a picture parameter set up to redundant_pic_cnt_present_flag; the optional tail
 * (8x8 transform, scaling lists) does not affect slice headers up to dec_ref_pic_marking.
 * `nal` is the NAL unit without start code, header byte included.
 */
export function parsePps(nal: Uint8Array): PpsInfo {
  if (nal.length < 2 || nalUnitType(nal[0]!) !== NalType.PPS) throw new H264SyntaxError('not a PPS NAL unit');
  const r = new BitReader(nal, 1);
  const ppsId = r.ueMax(255, 'pic_parameter_set_id');
  const spsId = r.ueMax(31, 'seq_parameter_set_id');
  const entropyCodingModeFlag = r.flag();
  const bottomFieldPicOrderInFramePresent = r.flag();
  const numSliceGroups = r.ueMax(7, 'num_slice_groups_minus1') + 1;
  if (numSliceGroups > 1) {
    const mapType = r.ueMax(6, 'slice_group_map_type');
    if (mapType === 0) {
      for (let i = 0; i < numSliceGroups; i++) r.ue(); // run_length_minus1
    } else if (mapType === 2) {
      for (let i = 0; i < numSliceGroups - 1; i++) {
        r.ue(); // top_left
        r.ue(); // bottom_right
      }
    } else if (mapType >= 3 && mapType <= 5) {
      r.skip(1); // slice_group_change_direction_flag
      r.ue(); // slice_group_change_rate_minus1
    } else if (mapType === 6) {
      const picSizeInMapUnits = r.ue() + 1;
      const bits = Math.ceil(Math.log2(numSliceGroups));
      r.skip(picSizeInMapUnits * bits); // slice_group_id[]
    }
  }
  const numRefIdxL0DefaultActive = r.ueMax(31, 'num_ref_idx_l0_default_active_minus1') + 1;
  const numRefIdxL1DefaultActive = r.ueMax(31, 'num_ref_idx_l1_default_active_minus1') + 1;
  const weightedPredFlag = r.flag();
  const weightedBipredIdc = r.bits(2);
  r.se(); // pic_init_qp_minus26
  r.se(); // pic_init_qs_minus26
  r.se(); // chroma_qp_index_offset
  const deblockingFilterControlPresent = r.flag();
  const constrainedIntraPred = r.flag();
  const redundantPicCntPresent = r.flag();
  return {
    ppsId, spsId, entropyCodingModeFlag, bottomFieldPicOrderInFramePresent, numSliceGroups,
    numRefIdxL0DefaultActive, numRefIdxL1DefaultActive, weightedPredFlag, weightedBipredIdc,
    deblockingFilterControlPresent, constrainedIntraPred, redundantPicCntPresent,
  };
}
