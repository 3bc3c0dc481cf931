// ISO BMFF box primitives (ISO/IEC 14496-12 4.2): sized boxes, full boxes and big-endian fields.

/** Big-endian field writer that grows as needed; boxes are small (moov is a few bytes per sample). */
export class Fields {
  private buf: Buffer;
  private len = 0;

  constructor(capacity = 64) {
    this.buf = Buffer.alloc(capacity);
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): this {
    this.room(1);
    this.buf.writeUInt8(v, this.len);
    this.len += 1;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
    return this;
  }

  i16(v: number): this {
    this.room(2);
    this.buf.writeInt16BE(v, this.len);
    this.len += 2;
    return this;
  }

  u24(v: number): this {
    return this.u8((v >>> 16) & 0xff).u16(v & 0xffff);
  }

  u32(v: number): this {
    this.room(4);
    this.buf.writeUInt32BE(v, this.len);
    this.len += 4;
    return this;
  }

  i32(v: number): this {
    this.room(4);
    this.buf.writeInt32BE(v, this.len);
    this.len += 4;
    return this;
  }

  u64(v: number): this {
    this.room(8);
    this.buf.writeBigUInt64BE(BigInt(v), this.len);
    this.len += 8;
    return this;
  }

  /** A four-character code. */
  fourcc(code: string): this {
    if (code.length !== 4) throw new RangeError(`not a four-character code: ${code}`);
    this.room(4);
    this.buf.write(code, this.len, 'latin1');
    this.len += 4;
    return this;
  }

  zeros(n: number): this {
    this.room(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** A box: 32-bit size, type, then the payload parts (child boxes or fields). */
export function box(type: string, ...parts: Buffer[]): Buffer {
  const size = 8 + parts.reduce((n, p) => n + p.length, 0);
  if (size > 0xffffffff) throw new RangeError(`box ${type} too large for a 32-bit size`);
  const header = new Fields(8).u32(size).fourcc(type).done();
  return Buffer.concat([header, ...parts]);
}

/** A full box: a box whose payload starts with version (8 bits) and flags (24 bits). */
export function fullBox(type: string, version: number, flags: number, ...parts: Buffer[]): Buffer {
  return box(type, new Fields(4).u8(version).u24(flags).done(), ...parts);
}

/** Whether a value needs version 1 (64-bit) time fields. */
export function needs64(...values: number[]): boolean {
  return values.some((v) => v > 0xffffffff);
}
