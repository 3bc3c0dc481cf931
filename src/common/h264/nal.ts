// H.264 NAL unit types and the NAL units of an Annex B byte stream (H.264 7.4.1, Annex B).

/** nal_unit_type values (H.264 Table 7-1) that this project names. */
export const NalType = {
  SLICE: 1,
  SLICE_DPA: 2,
  SLICE_DPB: 3,
  SLICE_DPC: 4,
  IDR: 5,
  SEI: 6,
  SPS: 7,
  PPS: 8,
  AUD: 9,
  END_OF_SEQUENCE: 10,
  END_OF_STREAM: 11,
  FILLER: 12,
  SPS_EXT: 13,
  PREFIX: 14,
  SUBSET_SPS: 15,
  DPS: 16,
  AUX_SLICE: 19,
  SLICE_EXT: 20,
} as const;

/** The nal_unit_type of a NAL unit's header byte. */
export function nalUnitType(header: number): number {
  return header & 0x1f;
}

/** The nal_ref_idc of a NAL unit's header byte. */
export function nalRefIdc(header: number): number {
  return (header >> 5) & 3;
}

/** Whether a nal_unit_type is a slice of the primary coded picture (VCL types 1–5). */
export function isVcl(type: number): boolean {
  return type >= 1 && type <= 5;
}

/** Whether a nal_unit_type carries a slice header (1, 2 and 5; partitions B and C do not). */
export function hasSliceHeader(type: number): boolean {
  return type === 1 || type === 2 || type === 5;
}

/**
 * Whether a NAL unit of this type, when it follows the last VCL NAL unit of a picture, starts a new
 * access unit (H.264 7.4.1.2.3): AUD, SPS, PPS, SEI and types 14–18.
 */
export function startsAccessUnit(type: number): boolean {
  return type === NalType.AUD || type === NalType.SPS || type === NalType.PPS || type === NalType.SEI || (type >= 14 && type <= 18);
}

const START_CODE = Buffer.from([0, 0, 1]);

/**
 * The NAL units of an Annex B buffer, as subarrays (no copy) without start codes and without the
 * zero bytes that may trail a NAL unit (a NAL unit never ends in 0x00). Bytes before the first
 * start code are ignored, and so are empty NAL units (a start code at the very end).
 */
export function* iterateNalUnits(buf: Buffer): Generator<Buffer> {
  let sc = buf.indexOf(START_CODE);
  while (sc >= 0) {
    const start = sc + 3;
    const next = buf.indexOf(START_CODE, start);
    let end = next < 0 ? buf.length : next;
    while (end > start && buf[end - 1] === 0) end--;
    if (end > start) yield buf.subarray(start, end);
    sc = next;
  }
}
