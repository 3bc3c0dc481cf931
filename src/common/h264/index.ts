// H.264 Annex B parsing shared by pancake and postproc: access units, parameter sets, slice headers, POC.
export { AnnexBParser, DEFAULT_MAX_ACCESS_UNIT_BYTES, type AccessUnit, type AnnexBParserOptions } from './annexb.js';
export { BitReader, H264SyntaxError, removeEmulationPrevention } from './bits.js';
export { hasSliceHeader, isVcl, iterateNalUnits, NalType, nalRefIdc, nalUnitType, startsAccessUnit } from './nal.js';
export { PocCalculator, type PictureOrder } from './poc.js';
export { parsePps, type PpsInfo } from './pps.js';
export { firstMbInSlice, parseSliceHeader, SliceType, type SliceHeader } from './slice.js';
export { hasRecoveryPoint, SEI_RECOVERY_POINT, seiPayloadTypes } from './sei.js';
export { codecString, parseSps, profileName, type SpsInfo, type SpsTiming } from './sps.js';
