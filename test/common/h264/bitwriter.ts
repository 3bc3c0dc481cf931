// Test-only writer of H.264 syntax (bits, Exp-Golomb, emulation prevention) for hand-built parameter sets.

/** Writes bits MSB-first, as the spec's syntax tables read them. */
export class BitWriter {
  private bitsOut: number[] = [];

  bits(n: number, value: number): this {
    for (let i = n - 1; i >= 0; i--) this.bitsOut.push(Math.floor(value / 2 ** i) % 2);
    return this;
  }

  flag(v: boolean | number): this {
    return this.bits(1, v ? 1 : 0);
  }

  ue(value: number): this {
    const v = value + 1;
    const len = Math.floor(Math.log2(v));
    return this.bits(len, 0).bits(len + 1, v);
  }

  se(value: number): this {
    return this.ue(value > 0 ? 2 * value - 1 : -2 * value);
  }

  /** rbsp_trailing_bits, then the bytes. */
  rbsp(): Buffer {
    this.bitsOut.push(1);
    while (this.bitsOut.length % 8 !== 0) this.bitsOut.push(0);
    const out = Buffer.alloc(this.bitsOut.length / 8);
    this.bitsOut.forEach((b, i) => {
      if (b) out[i >> 3]! |= 0x80 >> (i & 7);
    });
    return out;
  }
}

/** Inserts emulation-prevention bytes (7.4.1): 0x03 after two zeros when the next byte is 0..3. */
export function escapeRbsp(rbsp: Buffer): Buffer {
  const out: number[] = [];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out);
}

/** A NAL unit: header byte, then the escaped RBSP. */
export function nalUnit(refIdc: number, type: number, rbsp: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(refIdc << 5) | type]), escapeRbsp(rbsp)]);
}
