// The pre-roll of detection recording: a ring of whole GOPs (IDR to IDR) covering the last seconds of the stream.
import type { AccessUnit } from '../../common/h264/annexb.js';

/** One group of pictures: an IDR access unit (with its SPS/PPS) and the units up to the next IDR. */
export interface Gop {
  units: AccessUnit[];
  /** Monotonic ms of the IDR. */
  start: number;
  bytes: number;
}

export interface PreRollBufferOptions {
  /** At least this much stream is kept (from the start of the oldest GOP to the newest unit), in ms. */
  keepMs: number;
  /** A bound on memory whatever the bitrate: the oldest GOPs go first (the newest one always stays). */
  maxBytes?: number;
}

/**
 * Keeps whole GOPs only, so that any clip taken from it starts with SPS+PPS+IDR and decodes from its
 * first frame. Units before the first IDR are dropped. Shared with nothing: detection recording owns it.
 */
export class PreRollBuffer {
  private gops: Gop[] = [];
  private total = 0;
  private readonly keepMs: number;
  private readonly maxBytes: number;

  constructor(options: PreRollBufferOptions) {
    this.keepMs = options.keepMs;
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.total;
  }

  /** Milliseconds from the oldest IDR held to the newest unit (0 when empty). */
  get spanMs(): number {
    const first = this.gops[0];
    const last = this.gops.at(-1)?.units.at(-1);
    return first && last ? last.monoTime - first.start : 0;
  }

  push(unit: AccessUnit): void {
    if (unit.keyframe) this.gops.push({ units: [], start: unit.monoTime, bytes: 0 });
    const gop = this.gops.at(-1);
    if (!gop) return;
    gop.units.push(unit);
    gop.bytes += unit.data.length;
    this.total += unit.data.length;
    // The oldest GOP goes once the ones after it still cover keepMs: what is left always reaches
    // at least keepMs back, and at most one GOP more.
    while (this.gops.length >= 2 && unit.monoTime - this.gops[1]!.start >= this.keepMs) this.dropOldest();
    while (this.gops.length >= 2 && this.total > this.maxBytes) this.dropOldest();
  }

  private dropOldest(): void {
    this.total -= this.gops.shift()!.bytes;
  }

  /**
   * The units from the first GOP that starts at or after `fromMono` up to the newest one, in
   * stream order; empty when no IDR that late is held yet (the clip then starts at the next IDR).
   */
  since(fromMono: number): AccessUnit[] {
    const i = this.gops.findIndex((g) => g.start >= fromMono);
    if (i < 0) return [];
    return this.gops.slice(i).flatMap((g) => g.units);
  }

  /**
   * The pre-roll for a clip that should reach back to `fromMono`: the units from the newest GOP
   * that starts at or before it (so the pre-roll is at least that long whatever the GOP length),
   * up to the newest unit. Never from before `notBefore` (the end of the last recording): then
   * from the first GOP at or after it. When every GOP held starts later, from the oldest one.
   */
  covering(fromMono: number, notBefore = -Infinity): AccessUnit[] {
    let i = -1;
    for (let k = 0; k < this.gops.length && this.gops[k]!.start <= fromMono; k++) i = k;
    if (i < 0) i = 0;
    while (i < this.gops.length && this.gops[i]!.start < notBefore) i++;
    return this.gops.slice(i).flatMap((g) => g.units);
  }

  /** Forgets everything (the camera restarted: old GOPs belong to another run of the stream). */
  clear(): void {
    this.gops = [];
    this.total = 0;
  }
}
