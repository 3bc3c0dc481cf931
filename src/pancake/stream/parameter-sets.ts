// The newest SPS and PPS of a stream, put in front of every keyframe that lacks them (cameras that send them once).
import type { AccessUnit } from '../../common/h264/annexb.js';
import { BitReader, H264SyntaxError } from '../../common/h264/bits.js';
import { isVcl, NalType, nalUnitType } from '../../common/h264/nal.js';

const START_CODE = Buffer.from([0, 0, 0, 1]);
/** The 3-byte start code to search for (a 4-byte one contains it). */
const START_CODE_3 = START_CODE.subarray(1);

/** One NAL unit found before the first slice of an access unit. */
interface LeadingNal {
  type: number;
  /** Offset of its start code (the zero_byte of a 4-byte one) in the unit. */
  start: number;
  /** Offset of its header byte. */
  header: number;
  end: number;
}

/**
 * The NAL units before the first slice of an access unit: parameter sets, AUD and SEI all come
 * there (H.264 7.4.1.2.3), so the scan stops at the first VCL NAL unit — one start code for an
 * ordinary picture.
 */
function leadingNals(data: Buffer): LeadingNal[] {
  const found: LeadingNal[] = [];
  let sc = data.indexOf(START_CODE_3);
  while (sc >= 0) {
    const header = sc + 3;
    if (header >= data.length) break;
    const type = nalUnitType(data[header]!);
    const start = sc > 0 && data[sc - 1] === 0 ? sc - 1 : sc;
    if (isVcl(type)) break;
    const next = data.indexOf(START_CODE_3, header + 1);
    let end = next < 0 ? data.length : next;
    while (end > header && data[end - 1] === 0) end--;
    found.push({ type, start, header, end });
    sc = next;
  }
  return found;
}

/** seq_parameter_set_id of an SPS, pic_parameter_set_id of a PPS (header byte first); undefined when unreadable. */
function parameterSetId(type: number, nal: Buffer): number | undefined {
  try {
    const r = new BitReader(nal.subarray(1));
    if (type === NalType.SPS) r.skip(24); // profile_idc, constraint flags, level_idc
    return r.ueMax(255, 'parameter set id');
  } catch (err) {
    if (err instanceof H264SyntaxError || err instanceof RangeError) return undefined;
    throw err;
  }
}

/**
 * Remembers the newest SPS and PPS of each id, and makes every keyframe self-contained: a keyframe
 * that does not carry them gets copies in front (after its AUD, if any). A keyframe seen before any
 * parameter set is not decodable from there, so it is passed on as an ordinary unit.
 */
export class ParameterSets {
  private readonly sps = new Map<number, Buffer>();
  private readonly pps = new Map<number, Buffer>();
  private insertedCount = 0;

  /** Keyframes that needed parameter sets put in front. */
  get inserted(): number {
    return this.insertedCount;
  }

  /** Forgets everything (a new camera run may use other parameter sets). */
  clear(): void {
    this.sps.clear();
    this.pps.clear();
  }

  /** Notes the unit's parameter sets; returns the unit as it must travel on. */
  complete(unit: AccessUnit): AccessUnit {
    const nals = leadingNals(unit.data);
    let hasSps = false;
    let hasPps = false;
    for (const nal of nals) {
      if (nal.type !== NalType.SPS && nal.type !== NalType.PPS) continue;
      const bytes = unit.data.subarray(nal.header, nal.end);
      const id = parameterSetId(nal.type, bytes);
      if (id === undefined) continue;
      const table = nal.type === NalType.SPS ? this.sps : this.pps;
      // A copy: the unit's bytes are a view into a read buffer that should not be kept alive.
      if (!table.get(id)?.equals(bytes)) table.set(id, Buffer.from(bytes));
      if (nal.type === NalType.SPS) hasSps = true;
      else hasPps = true;
    }
    if (!unit.keyframe || (hasSps && hasPps)) return unit;
    if (this.sps.size === 0 || this.pps.size === 0) return { ...unit, keyframe: false };
    // Missing SPS go first (after an AUD); missing PPS after the unit's own parameter sets, so an SPS always precedes the PPS that refers to it.
    const aud = nals[0]?.type === NalType.AUD ? nals[0] : undefined;
    const at = aud ? aud.end : 0;
    const own = nals.filter((n) => n.type === NalType.SPS || n.type === NalType.PPS).at(-1);
    const psEnd = own ? own.end : at;
    const parts: Buffer[] = [unit.data.subarray(0, at)];
    if (!hasSps) for (const s of this.sps.values()) parts.push(START_CODE, s);
    parts.push(unit.data.subarray(at, psEnd));
    if (!hasPps) for (const p of this.pps.values()) parts.push(START_CODE, p);
    parts.push(unit.data.subarray(psEnd));
    this.insertedCount++;
    return { ...unit, data: Buffer.concat(parts) };
  }
}
