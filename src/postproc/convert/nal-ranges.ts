// Where the NAL units of an MP4's samples lie in the Annex B file, packed as varints: a few bytes per NAL unit, read back in order.

/** Bytes per block of the packed list: blocks are added as needed, never copied. */
const BLOCK_BYTES = 1 << 16;
/** The longest varint: 8 groups of 7 bits cover any file offset below 2^56. */
const MAX_VARINT_BYTES = 8;

/**
 * The byte ranges [start, start + length) of a file, in increasing order and not overlapping,
 * kept as the distance from the end of the previous range and the length, each a varint (about
 * four bytes per range for NAL units of video), in blocks that are never reallocated.
 */
export class NalRanges {
  private readonly blocks: Uint8Array[] = [];
  private block = new Uint8Array(BLOCK_BYTES);
  private used = 0;
  private lastEnd = 0;
  /** Ranges added. */
  count = 0;
  /** Bytes the ranges cover together. */
  totalLength = 0;

  /** Adds a range; it must start at or after the end of the previous one. */
  add(start: number, length: number): void {
    if (start < this.lastEnd || length < 0 || !Number.isSafeInteger(start) || !Number.isSafeInteger(length)) {
      throw new RangeError(`NAL range [${start}, ${start + length}) does not follow the previous one (ends at ${this.lastEnd})`);
    }
    if (this.used + 2 * MAX_VARINT_BYTES > this.block.length) {
      this.blocks.push(this.block.subarray(0, this.used));
      this.block = new Uint8Array(BLOCK_BYTES);
      this.used = 0;
    }
    this.varint(start - this.lastEnd);
    this.varint(length);
    this.lastEnd = start + length;
    this.count++;
    this.totalLength += length;
  }

  private varint(v: number): void {
    // Arithmetic rather than bit operations: offsets may pass 2^32.
    while (v >= 0x80) {
      this.block[this.used++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.block[this.used++] = v;
  }

  /** A cursor over the ranges in order, from the first. */
  cursor(): NalRangeCursor {
    return new NalRangeCursor([...this.blocks, this.block.subarray(0, this.used)]);
  }
}

/** Reads {@link NalRanges} in order: each {@link next} sets `start` and `length` of the next range. */
export class NalRangeCursor {
  start = 0;
  length = 0;
  private index = 0;
  private pos = 0;
  private end = 0;

  constructor(private readonly blocks: Uint8Array[]) {}

  /** Moves to the next range; false when there is none. */
  next(): boolean {
    let block = this.blocks[this.index];
    while (block && this.pos >= block.length) {
      block = this.blocks[++this.index];
      this.pos = 0;
    }
    if (!block) return false;
    this.start = this.end + this.varint(block);
    this.length = this.varint(block);
    this.end = this.start + this.length;
    return true;
  }

  private varint(block: Uint8Array): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = block[this.pos++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
    }
  }
}
