// SEI messages (H.264 7.3.2.3, D.1): which payloads a SEI NAL unit carries, and the recovery point.
import { removeEmulationPrevention } from './bits.js';

/** SEI payloadType of the recovery point message (D.1.8): a random-access point without an IDR. */
export const SEI_RECOVERY_POINT = 6;

/**
 * The payload types of a SEI NAL unit (`nal` starts at its header byte, emulation prevention
 * included). Stops at the RBSP trailing bits or at a payload that runs past the end (a cut unit).
 */
export function seiPayloadTypes(nal: Uint8Array): number[] {
  const rbsp = removeEmulationPrevention(nal.subarray(1));
  const types: number[] = [];
  let i = 0;
  // 0x80 is rbsp_trailing_bits: nothing follows the last message.
  while (i < rbsp.length && rbsp[i] !== 0x80) {
    let type = 0;
    while (i < rbsp.length && rbsp[i] === 0xff) type += rbsp[i++]!;
    if (i >= rbsp.length) break;
    type += rbsp[i++]!;
    let size = 0;
    while (i < rbsp.length && rbsp[i] === 0xff) size += rbsp[i++]!;
    if (i >= rbsp.length) break;
    size += rbsp[i++]!;
    if (i + size > rbsp.length) break;
    types.push(type);
    i += size;
  }
  return types;
}

/** Whether a SEI NAL unit holds a recovery point: its access unit is where a decoder may start (open GOP, intra refresh). */
export function hasRecoveryPoint(nal: Uint8Array): boolean {
  return seiPayloadTypes(nal).includes(SEI_RECOVERY_POINT);
}
