// Bit-level reading of H.264 RBSP data: emulation-prevention removal and Exp-Golomb codes (H.264 7.2, 7.4.1, 9.1).

/** A syntax error in an H.264 structure (truncated or malformed); `code` is stable for callers. */
export class H264SyntaxError extends Error {
  readonly code = 'ERR_H264_SYNTAX';
  constructor(message: string) {
    super(message);
    this.name = 'H264SyntaxError';
  }
}

/**
 * Removes emulation-prevention bytes: every 0x03 that follows two zero bytes inside a NAL unit
 * (H.264 7.4.1). Returns the input itself when there is nothing to remove.
 */
export function removeEmulationPrevention(nal: Uint8Array): Uint8Array {
  let zeros = 0;
  let first = -1;
  for (let i = 0; i < nal.length; i++) {
    const b = nal[i]!;
    if (zeros >= 2 && b === 3) {
      first = i;
      break;
    }
    zeros = b === 0 ? zeros + 1 : 0;
  }
  if (first < 0) return nal;
  const out = new Uint8Array(nal.length);
  out.set(nal.subarray(0, first), 0);
  let n = first;
  zeros = 0;
  for (let i = first + 1; i < nal.length; i++) {
    const b = nal[i]!;
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out[n++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}

/**
 * Reads bits MSB-first from NAL unit bytes. With `escaped` (the default) it skips
 * emulation-prevention bytes on the fly, so a slice header can be read without copying the NAL.
 */
export class BitReader {
  private pos: number;
  private cur = 0;
  private left = 0;
  private zeros = 0;
  private consumed = 0;

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    private readonly end = buf.length,
    private readonly escaped = true,
  ) {
    this.pos = start;
  }

  /** Bits read so far (emulation-prevention bytes not counted). */
  get bitsRead(): number {
    return this.consumed;
  }

  /** Whether at least one more bit can be read. */
  get hasMore(): boolean {
    return this.left > 0 || this.pos < this.end;
  }

  private load(): void {
    if (this.pos >= this.end) throw new H264SyntaxError('unexpected end of data');
    let b = this.buf[this.pos++]!;
    if (this.escaped && this.zeros >= 2 && b === 3) {
      this.zeros = 0;
      if (this.pos >= this.end) throw new H264SyntaxError('unexpected end of data');
      b = this.buf[this.pos++]!;
    }
    this.zeros = b === 0 ? this.zeros + 1 : 0;
    this.cur = b;
    this.left = 8;
  }

  /** u(1). */
  bit(): number {
    if (this.left === 0) this.load();
    this.left--;
    this.consumed++;
    return (this.cur >> this.left) & 1;
  }

  /** u(1) as a boolean. */
  flag(): boolean {
    return this.bit() === 1;
  }

  /** u(n), n ≤ 32. */
  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      // Multiplication instead of << keeps values up to 2^32 - 1 positive.
      v = v * 2 + this.bit();
    }
    return v;
  }

  /** Skips n bits. */
  skip(n: number): void {
    for (let i = 0; i < n; i++) this.bit();
  }

  /** ue(v): unsigned Exp-Golomb (9.1). */
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros > 31) throw new H264SyntaxError('Exp-Golomb code longer than 32 bits');
    }
    return zeros === 0 ? 0 : 2 ** zeros - 1 + this.bits(zeros);
  }

  /** se(v): signed Exp-Golomb (9.1.1). */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }

  /** ue(v) checked against an inclusive maximum, naming the syntax element in the error. */
  ueMax(max: number, name: string): number {
    const v = this.ue();
    if (v > max) throw new H264SyntaxError(`${name} out of range: ${v} > ${max}`);
    return v;
  }
}
