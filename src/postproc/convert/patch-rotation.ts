// Patching the display rotation matrix into the track header of an MP4 written by another tool (MP4Box, ffmpeg).
import fs from 'node:fs/promises';
import type { Rotation } from '../../common/events.js';
import { matrixBytes, rotationMatrix } from '../../common/mp4/matrix.js';

interface BoxRef {
  type: string;
  /** Offset of the box header in the buffer. */
  start: number;
  /** Offset of the payload. */
  body: number;
  end: number;
}

function* children(buf: Buffer, from: number, to: number): Generator<BoxRef> {
  let pos = from;
  while (pos + 8 <= to) {
    let size = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    let body = pos + 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(pos + 8));
      body = pos + 16;
    } else if (size === 0) {
      size = to - pos;
    }
    if (size < body - pos || pos + size > to) return;
    yield { type, start: pos, body, end: pos + size };
    pos += size;
  }
}

function child(buf: Buffer, parent: BoxRef, type: string): BoxRef | undefined {
  for (const c of children(buf, parent.body, parent.end)) if (c.type === type) return c;
  return undefined;
}

/**
 * Rewrites, in place, the matrix of the first video track of an MP4 written by another tool
 * (MP4Box, ffmpeg), using the width and height in that track's header. Returns false when the
 * file has no video track header to patch.
 */
export async function patchTrackRotation(file: string, rotation: Rotation): Promise<boolean> {
  const fh = await fs.open(file, 'r+');
  try {
    const { size } = await fh.stat();
    const header = Buffer.alloc(16);
    for (let pos = 0; pos + 8 <= size; ) {
      await fh.read(header, 0, 16, pos);
      let boxSize = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      if (boxSize === 1) boxSize = Number(header.readBigUInt64BE(8));
      else if (boxSize === 0) boxSize = size - pos;
      if (boxSize < 8) return false;
      if (type === 'moov') {
        // moov holds only tables (a few bytes per sample), so reading it whole is fine.
        const moov = Buffer.alloc(boxSize);
        await fh.read(moov, 0, boxSize, pos);
        const root = [...children(moov, 0, boxSize)][0]!;
        for (const trak of children(moov, root.body, root.end)) {
          if (trak.type !== 'trak') continue;
          const mdia = child(moov, trak, 'mdia');
          const hdlr = mdia && child(moov, mdia, 'hdlr');
          if (!hdlr || moov.toString('latin1', hdlr.body + 8, hdlr.body + 12) !== 'vide') continue;
          const tkhd = child(moov, trak, 'tkhd');
          if (!tkhd) continue;
          // tkhd (8.3.2): version 1 has three 64-bit times instead of 32-bit ones.
          const version = moov[tkhd.body]!;
          const matrixAt = tkhd.body + (version === 1 ? 52 : 40);
          const width = moov.readUInt32BE(matrixAt + 36) / 0x10000;
          const height = moov.readUInt32BE(matrixAt + 40) / 0x10000;
          await fh.write(matrixBytes(rotationMatrix(rotation, width, height)), 0, 36, pos + matrixAt);
          return true;
        }
        return false;
      }
      pos += boxSize;
    }
    return false;
  } finally {
    await fh.close();
  }
}
