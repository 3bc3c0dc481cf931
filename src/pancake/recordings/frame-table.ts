// Where every access unit of one .h264 recording lies and what it becomes in an MP4: built while recording (or by one scan), kept beside the index.
import type { AccessUnit } from '../../common/h264/annexb.js';
import { iterateNalUnits, NalType, nalUnitType } from '../../common/h264/nal.js';
import { parseSps } from '../../common/h264/sps.js';
import { presentationOrder, SampleReader, type FirstParameterSets, type SampleTable } from '../../common/mp4/samples.js';
import { SampleRole } from '../../common/mp4/timing.js';

// flags byte of an access unit: its role (2 bits), then single bits.
const ROLE_MASK = 0x03;
const SYNC = 0x04;
const PERIOD = 0x08;
const HAS_SPS = 0x10;

const MAGIC = 0x50465431; // 'PFT1'

/** Grows by doubling; values are read by index, so a reader holding an old length never sees a torn value. */
class Column<T extends Uint8Array | Uint32Array | Int32Array | Float64Array> {
  length = 0;
  constructor(public data: T) {}

  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new (this.data.constructor as new (n: number) => T)(Math.max(256, this.data.length * 2));
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }

  view(n = this.length): T {
    return this.data.subarray(0, n) as T;
  }
}

/** An MP4 sample table of the first units of a file, and the map from samples back to the file's bytes. */
export interface MappedSamples {
  table: SampleTable;
  /** Access units covered (the first `units` of the file). */
  units: number;
}

/**
 * Per access unit of a file, in file order: its byte length in the file, the bytes it adds to its
 * MP4 sample, its picture order count and flags (role, sync, period start, carries an SPS). The
 * decisions come from the shared {@link SampleReader}, so a recording served by pancake has the
 * same samples as postproc's converter makes of it. About 13 bytes per frame; the frames themselves
 * are never kept.
 */
export class FrameTable {
  private readonly reader = new SampleReader();
  private readonly rawLengths = new Column(new Uint32Array(256));
  private readonly sampleBytes = new Column(new Uint32Array(256));
  private readonly pocs = new Column(new Int32Array(256));
  private readonly flags = new Column(new Uint8Array(256));
  private firstSets: FirstParameterSets | undefined;
  /** File offset of the end of each unit. */
  private readonly ends = new Column(new Float64Array(256));

  /** `firstOffset`: where the first access unit starts in the file (bytes before its start code are not part of any unit). */
  constructor(readonly firstOffset = 0) {}

  /** Access units noted. */
  get units(): number {
    return this.flags.length;
  }

  /** The parameter sets of the first sample, once there is one. */
  get first(): FirstParameterSets | undefined {
    return this.firstSets ?? this.reader.first;
  }

  /** Notes the next access unit of the file (exactly the bytes written for it). */
  add(au: Pick<AccessUnit, 'data' | 'keyframe'>): void {
    const d = this.reader.read(au);
    let hasSps = false;
    if (au.keyframe) for (const nal of iterateNalUnits(au.data)) if (nalUnitType(nal[0]!) === NalType.SPS) hasSps = true;
    this.ends.push(this.offset(this.units) + au.data.length);
    this.rawLengths.push(au.data.length);
    this.sampleBytes.push(d.role === SampleRole.NONE ? 0 : d.bytes);
    this.pocs.push(d.poc);
    this.flags.push(d.role | (d.sync ? SYNC : 0) | (d.startsPeriod ? PERIOD : 0) | (hasSps ? HAS_SPS : 0));
  }

  role(i: number): number {
    return this.flags.data[i]! & ROLE_MASK;
  }

  /** Whether unit `i` starts a sample that is a random-access point. */
  isSyncSample(i: number): boolean {
    const f = this.flags.data[i]!;
    return (f & ROLE_MASK) === SampleRole.STARTS && (f & SYNC) !== 0;
  }

  poc(i: number): number {
    return this.pocs.data[i]!;
  }

  /** Whether unit `i` starts a new picture order count period (IDR, MMCO 5). */
  startsPeriod(i: number): boolean {
    return (this.flags.data[i]! & PERIOD) !== 0;
  }

  hasSps(i: number): boolean {
    return (this.flags.data[i]! & HAS_SPS) !== 0;
  }

  rawLength(i: number): number {
    return this.rawLengths.data[i]!;
  }

  /** File offset of unit `i` (i may equal `units`: the end of the last). */
  offset(i: number): number {
    return i === 0 ? this.firstOffset : this.ends.data[i - 1]!;
  }

  /** How many leading units lie wholly within the first `bytes` bytes of the file (a live file's written part). */
  unitsWithin(bytes: number): number {
    let lo = 0;
    let hi = this.units;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offset(mid) <= bytes) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * The MP4 sample table of the first `units` access units, as {@link SampleTableBuilder} makes it
   * of the same bytes; undefined when they hold no sample yet.
   */
  samples(units = this.units): MappedSamples | undefined {
    const first = this.first;
    if (!first) return undefined;
    const sizes: number[] = [];
    const samplePocs: number[] = [];
    const starts: number[] = [];
    const sync: number[] = [];
    let mdatBytes = 0;
    let kept = 0;
    for (let i = 0; i < units; i++) {
      const f = this.flags.data[i]!;
      const role = f & ROLE_MASK;
      if (role === SampleRole.NONE) continue;
      kept++;
      const bytes = this.sampleBytes.data[i]!;
      mdatBytes += bytes;
      if (role === SampleRole.JOINS && sizes.length > 0) {
        sizes[sizes.length - 1]! += bytes;
        samplePocs[samplePocs.length - 1] = Math.min(samplePocs.at(-1)!, this.pocs.data[i]!);
        continue;
      }
      sizes.push(bytes);
      samplePocs.push(this.pocs.data[i]!);
      starts.push(f & PERIOD ? 1 : 0);
      if (f & SYNC) sync.push(sizes.length);
    }
    if (sizes.length === 0) return undefined;
    const { compositionFrames, delayFrames } = presentationOrder(Int32Array.from(samplePocs), Uint8Array.from(starts));
    return {
      units,
      table: {
        ...first, sizes: Uint32Array.from(sizes), syncSamples: Uint32Array.from(sync), compositionFrames, delayFrames, mdatBytes,
        roles: this.flags.view(units).map((f) => f & ROLE_MASK), accessUnits: units, keptAccessUnits: kept, warnings: [],
      },
    };
  }

  /** The table as bytes for its file beside the index: `coveredBytes` is the size of the .h264 it describes. */
  serialize(coveredBytes: number): Buffer {
    const first = this.first;
    const sps = first?.spsNal ?? Buffer.alloc(0);
    const pps = first?.ppsNal ?? Buffer.alloc(0);
    const n = this.units;
    const head = Buffer.alloc(32);
    head.writeUInt32BE(MAGIC, 0);
    head.writeUInt32BE(n, 4);
    head.writeDoubleBE(coveredBytes, 8);
    head.writeDoubleBE(this.firstOffset, 16);
    head.writeUInt32BE(sps.length, 24);
    head.writeUInt32BE(pps.length, 28);
    const column = (a: Uint32Array | Int32Array) => {
      const b = Buffer.alloc(n * 4);
      for (let i = 0; i < n; i++) b.writeUInt32BE(a[i]! >>> 0, i * 4);
      return b;
    };
    return Buffer.concat([head, sps, pps, column(this.rawLengths.view()), column(this.sampleBytes.view()), column(this.pocs.view()), Buffer.from(this.flags.view())]);
  }

  /** Reads {@link serialize}'s bytes; undefined when they are not a table (torn, another version). */
  static parse(buf: Buffer): { table: FrameTable; coveredBytes: number } | undefined {
    if (buf.length < 32 || buf.readUInt32BE(0) !== MAGIC) return undefined;
    const n = buf.readUInt32BE(4);
    const coveredBytes = buf.readDoubleBE(8);
    const spsLen = buf.readUInt32BE(24);
    const ppsLen = buf.readUInt32BE(28);
    let at = 32;
    if (buf.length !== at + spsLen + ppsLen + n * 13) return undefined;
    const table = new FrameTable(buf.readDoubleBE(16));
    const spsNal = Buffer.from(buf.subarray(at, at + spsLen));
    at += spsLen;
    const ppsNal = Buffer.from(buf.subarray(at, at + ppsLen));
    at += ppsLen;
    if (spsLen > 0) {
      try {
        table.firstSets = { sps: parseSps(spsNal), spsNal, ppsNal };
      } catch {
        return undefined;
      }
    }
    const cols = [table.rawLengths, table.sampleBytes, table.pocs] as Column<Uint32Array | Int32Array>[];
    for (const col of cols) {
      col.data = col === table.pocs ? new Int32Array(n) : new Uint32Array(n);
      for (let i = 0; i < n; i++) col.data[i] = col === table.pocs ? buf.readInt32BE(at + i * 4) : buf.readUInt32BE(at + i * 4);
      col.length = n;
      at += n * 4;
    }
    table.flags.data = Uint8Array.from(buf.subarray(at, at + n));
    table.flags.length = n;
    table.ends.data = new Float64Array(n);
    let end = table.firstOffset;
    for (let i = 0; i < n; i++) table.ends.data[i] = end += table.rawLengths.data[i]!;
    table.ends.length = n;
    return { table, coveredBytes };
  }
}
