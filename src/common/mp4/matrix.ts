// Display rotation as the track header matrix (ISO/IEC 14496-12 8.3.2, 6.2.2).
import type { Rotation } from '../events.js';

/**
 * The tkhd matrix {a b u, c d v, x y w} that shows a width x height picture rotated clockwise by
 * `rotation` degrees: a point (p, q) is displayed at (a·p + c·q + x, b·p + d·q + y). The translation
 * keeps the rotated picture in the positive quadrant. a..d, x, y are 16.16 fixed point; u, v, w 2.30.
 */
export function rotationMatrix(rotation: Rotation, width: number, height: number): number[] {
  const one = 0x10000;
  const w = 0x40000000;
  const px = (n: number) => Math.round(n * one);
  switch (rotation) {
    case 0: return [one, 0, 0, 0, one, 0, 0, 0, w];
    case 90: return [0, one, 0, -one, 0, 0, px(height), 0, w];
    case 180: return [-one, 0, 0, 0, -one, 0, px(width), px(height), w];
    case 270: return [0, -one, 0, one, 0, 0, 0, px(width), w];
  }
}

/** The matrix as the 36 bytes stored in mvhd and tkhd. */
export function matrixBytes(matrix: number[]): Buffer {
  const out = Buffer.alloc(36);
  matrix.forEach((v, i) => out.writeInt32BE(v, i * 4));
  return out;
}
