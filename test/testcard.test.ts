// The built-in test card is what it claims: codec, size, rate, GOP structure, and a seamless loop.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TESTCARD_PATH } from '../src/common/paths.js';
import { decodeErrors, frameTypes, makeTmp, probe, removeTmp } from './helpers/env.js';

/** NAL unit types in file order, found by a plain start-code scan (independent of src/). */
function nalTypes(buf: Buffer): number[] {
  const types: number[] = [];
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
      types.push(buf[i + 3]! & 0x1f);
      i += 2;
    }
  }
  return types;
}

describe('test card', () => {
  let tmp: string | undefined;
  afterEach(() => removeTmp(tmp));

  it('is 640x480 Constrained Baseline H.264 at 12 fps, at least 20 s, at most 2 MB', () => {
    const p = probe(TESTCARD_PATH);
    expect(p.codec).toBe('h264');
    expect(p.profile).toBe('Constrained Baseline');
    expect([p.width, p.height]).toEqual([640, 480]);
    expect(p.frameRate).toBe('12/1');
    expect(p.frames).toBeGreaterThanOrEqual(20 * 12);
    expect(fs.statSync(TESTCARD_PATH).size).toBeLessThanOrEqual(2 * 1024 * 1024);
  });

  it('has an IDR every 12 frames and no B-frames', () => {
    const frames = frameTypes(TESTCARD_PATH);
    frames.forEach((f, i) => {
      expect(f.key, `frame ${i}`).toBe(i % 12 === 0);
      expect(f.pict, `frame ${i}`).toBe(i % 12 === 0 ? 'I' : 'P');
    });
  });

  it('has SPS and PPS right before every IDR, and no SEI', () => {
    const types = nalTypes(fs.readFileSync(TESTCARD_PATH));
    const idrs = types.flatMap((t, i) => (t === 5 ? [i] : []));
    expect(idrs.length).toBe(probe(TESTCARD_PATH).frames / 12);
    for (const i of idrs) expect(types.slice(i - 2, i)).toEqual([7, 8]);
    expect(types).not.toContain(6);
    expect(types[0]).toBe(7);
  });

  it('loops seamlessly: two copies back to back decode without a single error', () => {
    tmp = makeTmp();
    const card = fs.readFileSync(TESTCARD_PATH);
    const twice = path.join(tmp, 'twice.h264');
    fs.writeFileSync(twice, Buffer.concat([card, card]));
    expect(decodeErrors(twice)).toBe('');
    expect(probe(twice).frames).toBe(2 * probe(TESTCARD_PATH).frames);
  });

  it('is made by a committed script whose comment holds the exact command it runs', () => {
    const script = fs.readFileSync(path.join(path.dirname(TESTCARD_PATH), '..', 'scripts', 'make-testcard.sh'), 'utf8');
    const lines = script.split('\n');
    const commented = lines.filter((l) => l.startsWith('#   ')).map((l) => l.slice(4).trim());
    const start = lines.findIndex((l) => l.startsWith('ffmpeg '));
    const end = lines.findIndex((l, i) => i > start && !l.trimEnd().endsWith('\\'));
    const executed = lines.slice(start, end + 1).map((l) => l.trim().replaceAll('$font', '/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf'));
    expect(executed.length).toBeGreaterThan(5);
    expect(commented).toEqual(executed);
  });
});
