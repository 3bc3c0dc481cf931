// H.264 sequence parameter set: picture size, profile/level, and what slice headers and POC need (H.264 7.3.2.1, E.1).
import { BitReader, H264SyntaxError } from './bits.js';
import { NalType, nalUnitType } from './nal.js';

/** VUI timing (H.264 E.2.1): a frame lasts 2 * numUnitsInTick / timeScale seconds for progressive video. */
export interface SpsTiming {
  numUnitsInTick: number;
  timeScale: number;
  fixedFrameRate: boolean;
}

/** Facts of a sequence parameter set. */
export interface SpsInfo {
  /** Displayed width in pixels (after cropping). */
  width: number;
  /** Displayed height in pixels (after cropping). */
  height: number;
  profileIdc: number;
  /** The byte holding constraint_set0..5 flags and the reserved bits, as in the codec string. */
  constraintFlags: number;
  levelIdc: number;
  /** RFC 6381 codec string 'avc1.PPCCLL' in upper-case hex, e.g. 'avc1.42C01E'. */
  codec: string;
  /** A readable profile name as ffprobe prints it ("Constrained Baseline", "High", …). */
  profileName: string;

  spsId: number;
  chromaFormatIdc: number;
  separateColourPlane: boolean;
  /** ChromaArrayType: 0 for monochrome or separate colour planes, else chroma_format_idc. */
  chromaArrayType: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  /** Whether the SPS carried scaling lists (they are skipped, not kept). */
  scalingMatrixPresent: boolean;

  log2MaxFrameNum: number;
  picOrderCntType: number;
  /** log2_max_pic_order_cnt_lsb (pic_order_cnt_type 0). */
  log2MaxPocLsb: number;
  /** pic_order_cnt_type 1 fields. */
  deltaPicOrderAlwaysZero: boolean;
  offsetForNonRefPic: number;
  offsetForTopToBottomField: number;
  offsetForRefFrame: number[];

  maxNumRefFrames: number;
  gapsInFrameNumAllowed: boolean;
  frameMbsOnly: boolean;
  mbAdaptiveFrameField: boolean;
  direct8x8Inference: boolean;
  /** Size in macroblocks: width, and height of the frame (both fields for interlaced). */
  widthInMbs: number;
  frameHeightInMbs: number;
  /** Cropping in pixels (already multiplied by the crop units). */
  crop: { left: number; right: number; top: number; bottom: number };

  /** VUI facts, when the SPS has VUI and it parses. */
  sarWidth?: number;
  sarHeight?: number;
  timing?: SpsTiming;
  maxNumReorderFrames?: number;
  maxDecFrameBuffering?: number;
}

// Profiles whose SPS carries chroma_format_idc, bit depths and scaling lists (7.3.2.1.1).
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

// Aspect ratios of aspect_ratio_idc 1..16 (Table E-1).
const SAR_TABLE: [number, number][] = [
  [0, 0], [1, 1], [12, 11], [10, 11], [16, 11], [40, 33], [24, 11], [20, 11], [32, 11],
  [80, 33], [18, 11], [15, 11], [64, 33], [160, 99], [4, 3], [3, 2], [2, 1],
];

/**
 * Parses a sequence parameter set. `nal` is the NAL unit without start code, header byte included,
 * emulation-prevention bytes still in place. A malformed VUI does not fail the SPS (some encoders
 * write broken VUI); its facts are then simply absent.
 */
export function parseSps(nal: Uint8Array): SpsInfo {
  if (nal.length < 4 || nalUnitType(nal[0]!) !== NalType.SPS) throw new H264SyntaxError('not an SPS NAL unit');
  const r = new BitReader(nal, 1);
  const profileIdc = r.bits(8);
  const constraintFlags = r.bits(8);
  const levelIdc = r.bits(8);
  const spsId = r.ueMax(31, 'seq_parameter_set_id');

  let chromaFormatIdc = 1;
  let separateColourPlane = false;
  let bitDepthLuma = 8;
  let bitDepthChroma = 8;
  let scalingMatrixPresent = false;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ueMax(3, 'chroma_format_idc');
    if (chromaFormatIdc === 3) separateColourPlane = r.flag();
    bitDepthLuma = 8 + r.ueMax(6, 'bit_depth_luma_minus8');
    bitDepthChroma = 8 + r.ueMax(6, 'bit_depth_chroma_minus8');
    r.skip(1); // qpprime_y_zero_transform_bypass_flag
    scalingMatrixPresent = r.flag();
    if (scalingMatrixPresent) {
      const lists = chromaFormatIdc !== 3 ? 8 : 12;
      for (let i = 0; i < lists; i++) {
        if (r.flag()) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
  }

  const log2MaxFrameNum = 4 + r.ueMax(12, 'log2_max_frame_num_minus4');
  const picOrderCntType = r.ueMax(2, 'pic_order_cnt_type');
  let log2MaxPocLsb = 0;
  let deltaPicOrderAlwaysZero = false;
  let offsetForNonRefPic = 0;
  let offsetForTopToBottomField = 0;
  const offsetForRefFrame: number[] = [];
  if (picOrderCntType === 0) {
    log2MaxPocLsb = 4 + r.ueMax(12, 'log2_max_pic_order_cnt_lsb_minus4');
  } else if (picOrderCntType === 1) {
    deltaPicOrderAlwaysZero = r.flag();
    offsetForNonRefPic = r.se();
    offsetForTopToBottomField = r.se();
    const n = r.ueMax(255, 'num_ref_frames_in_pic_order_cnt_cycle');
    for (let i = 0; i < n; i++) offsetForRefFrame.push(r.se());
  }
  const maxNumRefFrames = r.ue();
  const gapsInFrameNumAllowed = r.flag();
  const widthInMbs = r.ue() + 1;
  const heightInMapUnits = r.ue() + 1;
  const frameMbsOnly = r.flag();
  const mbAdaptiveFrameField = frameMbsOnly ? false : r.flag();
  const direct8x8Inference = r.flag();
  const frameHeightInMbs = (2 - (frameMbsOnly ? 1 : 0)) * heightInMapUnits;

  // Crop units (7.4.2.1.1): chroma subsampling sets the step, and field coding doubles it vertically.
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const subWidthC = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
  const subHeightC = chromaArrayType === 1 ? 2 : 1;
  const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC;
  const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC) * (2 - (frameMbsOnly ? 1 : 0));
  const crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (r.flag()) {
    crop.left = r.ue() * cropUnitX;
    crop.right = r.ue() * cropUnitX;
    crop.top = r.ue() * cropUnitY;
    crop.bottom = r.ue() * cropUnitY;
  }
  const width = widthInMbs * 16 - crop.left - crop.right;
  const height = frameHeightInMbs * 16 - crop.top - crop.bottom;
  if (width <= 0 || height <= 0) throw new H264SyntaxError(`cropping leaves no picture (${width}x${height})`);

  const info: SpsInfo = {
    width, height, profileIdc, constraintFlags, levelIdc,
    codec: codecString(profileIdc, constraintFlags, levelIdc),
    profileName: profileName(profileIdc, constraintFlags),
    spsId, chromaFormatIdc, separateColourPlane, chromaArrayType, bitDepthLuma, bitDepthChroma, scalingMatrixPresent,
    log2MaxFrameNum, picOrderCntType, log2MaxPocLsb, deltaPicOrderAlwaysZero, offsetForNonRefPic,
    offsetForTopToBottomField, offsetForRefFrame, maxNumRefFrames, gapsInFrameNumAllowed, frameMbsOnly,
    mbAdaptiveFrameField, direct8x8Inference, widthInMbs, frameHeightInMbs, crop,
  };
  if (r.flag()) {
    try {
      parseVui(r, info);
    } catch (err) {
      if (!(err instanceof H264SyntaxError)) throw err;
      // A truncated or non-conforming VUI leaves the picture facts valid; keep what was read.
    }
  }
  return info;
}

/** 'avc1.PPCCLL' (RFC 6381 3.3) from profile_idc, the constraint byte and level_idc. */
export function codecString(profileIdc: number, constraintFlags: number, levelIdc: number): string {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');
  return `avc1.${hex(profileIdc)}${hex(constraintFlags)}${hex(levelIdc)}`;
}

/** The profile name as ffprobe reports it (Annex A), for messages and tests. */
export function profileName(profileIdc: number, constraintFlags: number): string {
  const set1 = (constraintFlags & 0x40) !== 0;
  const set3 = (constraintFlags & 0x10) !== 0;
  switch (profileIdc) {
    case 66: return set1 ? 'Constrained Baseline' : 'Baseline';
    case 77: return 'Main';
    case 88: return 'Extended';
    case 100: return 'High';
    case 110: return set3 ? 'High 10 Intra' : 'High 10';
    case 122: return set3 ? 'High 4:2:2 Intra' : 'High 4:2:2';
    case 244: return set3 ? 'High 4:4:4 Intra' : 'High 4:4:4 Predictive';
    case 44: return 'CAVLC 4:4:4';
    default: return `profile ${profileIdc}`;
  }
}

// 7.3.2.1.1.1: the lists are delta-coded; reading them is the only way to find where they end.
function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

function skipHrd(r: BitReader): void {
  const cpbCnt = r.ueMax(31, 'cpb_cnt_minus1') + 1;
  r.skip(8); // bit_rate_scale, cpb_size_scale
  for (let i = 0; i < cpbCnt; i++) {
    r.ue(); // bit_rate_value_minus1
    r.ue(); // cpb_size_value_minus1
    r.skip(1); // cbr_flag
  }
  r.skip(20); // four 5-bit delay/offset lengths
}

// E.1.1
function parseVui(r: BitReader, info: SpsInfo): void {
  if (r.flag()) {
    const idc = r.bits(8);
    if (idc === 255) {
      info.sarWidth = r.bits(16);
      info.sarHeight = r.bits(16);
    } else if (idc > 0 && idc < SAR_TABLE.length) {
      [info.sarWidth, info.sarHeight] = SAR_TABLE[idc]!;
    }
  }
  if (r.flag()) r.skip(1); // overscan_appropriate_flag
  if (r.flag()) {
    r.skip(4); // video_format, video_full_range_flag
    if (r.flag()) r.skip(24); // colour_primaries, transfer_characteristics, matrix_coefficients
  }
  if (r.flag()) {
    r.ue(); // chroma_sample_loc_type_top_field
    r.ue(); // chroma_sample_loc_type_bottom_field
  }
  if (r.flag()) {
    const numUnitsInTick = r.bits(32);
    const timeScale = r.bits(32);
    const fixedFrameRate = r.flag();
    if (numUnitsInTick > 0 && timeScale > 0) info.timing = { numUnitsInTick, timeScale, fixedFrameRate };
  }
  const nalHrd = r.flag();
  if (nalHrd) skipHrd(r);
  const vclHrd = r.flag();
  if (vclHrd) skipHrd(r);
  if (nalHrd || vclHrd) r.skip(1); // low_delay_hrd_flag
  r.skip(1); // pic_struct_present_flag
  if (r.flag()) {
    r.skip(1); // motion_vectors_over_pic_boundaries_flag
    r.ue(); // max_bytes_per_pic_denom
    r.ue(); // max_bits_per_mb_denom
    r.ue(); // log2_max_mv_length_horizontal
    r.ue(); // log2_max_mv_length_vertical
    info.maxNumReorderFrames = r.ue();
    info.maxDecFrameBuffering = r.ue();
  }
}
