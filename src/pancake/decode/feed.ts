// Which access units a decoder child is fed, and which of its output pictures are delivered with which time (pure).

/** The facts of an access unit the feed decides on. */
export interface FedUnit {
  keyframe: boolean;
  wallTime: number;
}

/** Pictures in flight are bounded: ffmpeg drops a picture now and then on a corrupt unit. */
const MAX_IN_FLIGHT = 256;

/**
 * Decides, unit by unit, what goes to ffmpeg, and remembers for every unit fed whether its decoded
 * picture is wanted, so output pictures (which come in feeding order, one per unit) can be matched
 * to the wall-clock time of their unit.
 *
 * Feeding starts at an IDR. In keyframes-only mode an IDR is fed together with the one unit after
 * it, whose picture is dropped: the ffmpeg command-line tool (5.1) holds back its newest decoded
 * picture until the next one is decoded, so without that extra unit a keyframe would reach detect()
 * one GOP late (a second) instead of one frame late. Decoding one P-frame per GOP costs about a
 * fifth of decoding the keyframe itself; the units that are not fed cost nothing at all.
 */
export class DecoderFeed {
  private synced = false;
  private afterKeyframe = false;
  /** For each unit fed and not yet matched to a picture: its time, or undefined if its picture is dropped. */
  private inFlight: (number | undefined)[] = [];

  constructor(private readonly keyframesOnly: boolean) {}

  /** Whether `unit` is written to ffmpeg; records what its picture will be. */
  take(unit: FedUnit): boolean {
    if (!this.synced) {
      if (!unit.keyframe) return false;
      this.synced = true;
    }
    let wanted: boolean;
    if (unit.keyframe) {
      wanted = true;
      this.afterKeyframe = true;
    } else if (!this.keyframesOnly) {
      wanted = true;
    } else if (this.afterKeyframe) {
      this.afterKeyframe = false;
      wanted = false;
    } else {
      return false;
    }
    this.inFlight.push(wanted ? unit.wallTime : undefined);
    if (this.inFlight.length > MAX_IN_FLIGHT) this.inFlight.shift();
    return true;
  }

  /** ffmpeg wrote its next picture: the wall time to deliver it with, or undefined to drop it. */
  picture(): number | undefined {
    return this.inFlight.shift();
  }

  /** Feeding falls behind (ffmpeg is too slow): skip the rest of this GOP, go on at the next IDR. */
  skipToKeyframe(): void {
    this.synced = false;
    this.afterKeyframe = false;
  }

  /** A new ffmpeg child: nothing is in flight, and feeding starts at the next IDR. */
  reset(): void {
    this.skipToKeyframe();
    this.inFlight = [];
  }
}

const START_CODE = Buffer.from([0, 0, 1]);

/** An access unit delimiter (nal_unit_type 9, primary_pic_type 0): written after every unit fed. */
export const ACCESS_UNIT_DELIMITER = Buffer.from([0, 0, 0, 1, 0x09, 0x10]);

/**
 * The unit without a leading access unit delimiter, if it has one. The decoder writes a delimiter
 * after each unit instead (so ffmpeg's parser sees at once that the unit is complete, rather than
 * when the next one arrives); a stream whose units already begin with one would otherwise get two
 * in a row, an empty access unit.
 */
export function withoutLeadingAud(data: Buffer): Buffer {
  if (data[0] !== 0 || data[1] !== 0) return data;
  const header = data[2] === 1 ? 3 : data[2] === 0 && data[3] === 1 ? 4 : -1;
  if (header < 0 || (data[header]! & 0x1f) !== 9) return data;
  const next = data.indexOf(START_CODE, header + 1);
  if (next < 0) return data.subarray(data.length);
  // A 4-byte start code of the next NAL unit begins with the zero before its 00 00 01.
  return data.subarray(next > 0 && data[next - 1] === 0 ? next - 1 : next);
}
