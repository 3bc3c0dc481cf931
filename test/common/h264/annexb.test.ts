// AnnexBParser: access units match ffmpeg's packets byte for byte, whatever the chunking.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AnnexBParser, type AccessUnit } from '../../../src/common/h264/annexb.js';
import { probe } from '../../helpers/env.js';
import { ALL_STREAMS, byName, ffprobePackets, FIXTURES, prng } from './fixtures.js';

function parseWhole(buf: Buffer): AccessUnit[] {
  const p = new AnnexBParser();
  return [...p.push(buf, 1000, 1), ...p.end()];
}

/** Feeds `buf` in chunks of 1..maxChunk bytes chosen by `seed`; returns the AUs and the chunk boundaries. */
function parseChunked(buf: Buffer, seed: number, maxChunk: number): AccessUnit[] {
  const next = prng(seed);
  const p = new AnnexBParser();
  const aus: AccessUnit[] = [];
  let n = 0;
  for (let pos = 0; pos < buf.length; n++) {
    const len = 1 + Math.floor(next() * maxChunk);
    // Copies, so no test can pass by accident through shared memory with `buf`.
    aus.push(...p.push(Buffer.from(buf.subarray(pos, pos + len)), n, n));
    pos += len;
  }
  aus.push(...p.end());
  return aus;
}

describe('AnnexBParser', () => {
  it.each(ALL_STREAMS.map((f) => [f.name, f] as const))('%s: access units equal ffmpeg packets (sizes, key flags) and ffprobe frame count', (_, f) => {
    const buf = fs.readFileSync(f.file);
    const aus = parseWhole(buf);
    const packets = ffprobePackets(f.file);
    expect(aus.map((a) => a.data.length)).toEqual(packets.map((p) => p.size));
    expect(aus.map((a) => a.keyframe)).toEqual(packets.map((p) => p.key));
    expect(aus.length).toBe(probe(f.file).frames);
    expect(aus.length).toBe(f.frames);
    expect(Buffer.concat(aus.map((a) => a.data)).equals(buf)).toBe(true);
  });

  it.each(FIXTURES.map((f) => [f.name, f] as const))('%s: random 1..N-byte chunks reproduce the stream with identical boundaries', (_, f) => {
    const buf = fs.readFileSync(f.file);
    const expected = parseWhole(buf).map((a) => a.data.length);
    for (const [seed, maxChunk] of [[1, 1], [2, 3], [3, 7], [4, 64], [5, 1500], [6, 40000]] as const) {
      const aus = parseChunked(buf, seed, maxChunk);
      expect(aus.map((a) => a.data.length), `seed ${seed} max ${maxChunk}`).toEqual(expected);
      expect(Buffer.concat(aus.map((a) => a.data)).equals(buf), `seed ${seed} max ${maxChunk}`).toBe(true);
    }
  });

  it('the test card in random chunks reproduces it byte for byte', () => {
    const f = byName('testcard.h264');
    const buf = fs.readFileSync(f.file);
    const aus = parseChunked(buf, 42, 5000);
    expect(aus.length).toBe(f.frames);
    expect(Buffer.concat(aus.map((a) => a.data)).equals(buf)).toBe(true);
    expect(aus.filter((a) => a.keyframe).length).toBe(f.frames / 12);
  });

  it('splits a 4-byte start code at every position across chunks', () => {
    const buf = fs.readFileSync(byName('one-frame-160x120.h264').file);
    const twice = Buffer.concat([buf, buf]);
    for (let cut = buf.length - 4; cut <= buf.length + 5; cut++) {
      const p = new AnnexBParser();
      const aus = [...p.push(twice.subarray(0, cut), 1, 1), ...p.push(twice.subarray(cut), 2, 2), ...p.end()];
      expect(aus.map((a) => a.data.length), `cut at ${cut}`).toEqual([buf.length, buf.length]);
      expect(aus[1]!.wallTime, `cut at ${cut}`).toBe(cut <= buf.length ? 2 : 1);
    }
  });

  it('stamps each access unit with the times of the chunk holding its first byte', () => {
    const buf = fs.readFileSync(byName('baseline-160x120.h264').file);
    const sizes = parseWhole(buf).map((a) => a.data.length);
    // One chunk per access unit, except that the third arrives in two pieces.
    const p = new AnnexBParser();
    const aus: AccessUnit[] = [];
    let pos = 0;
    sizes.forEach((size, i) => {
      if (i === 2) {
        aus.push(...p.push(buf.subarray(pos, pos + 10), 5000 + i, i));
        aus.push(...p.push(buf.subarray(pos + 10, pos + size), 9999, 99));
      } else {
        aus.push(...p.push(buf.subarray(pos, pos + size), 5000 + i, i));
      }
      pos += size;
    });
    aus.push(...p.end());
    expect(aus.map((a) => a.wallTime)).toEqual(sizes.map((_, i) => 5000 + i));
    expect(aus.map((a) => a.monoTime)).toEqual(sizes.map((_, i) => i));
  });

  it('returns an access unit inside one chunk as a subarray of it, and one spanning chunks as a copy', () => {
    const buf = fs.readFileSync(byName('baseline-160x120.h264').file);
    const [a, b] = parseWhole(buf);
    const p = new AnnexBParser();
    // Unpooled copies: mutating them afterwards shows whether the parser shares or copied their memory.
    const unpooled = (b: Buffer) => {
      const c = Buffer.alloc(b.length);
      b.copy(c);
      return c;
    };
    const chunk = unpooled(buf.subarray(0, a!.data.length + b!.data.length - 5));
    const out = p.push(chunk, 0, 0);
    expect(out).toHaveLength(1);
    chunk[0] = 0x77;
    expect(out[0]!.data[0]).toBe(0x77);
    const tail = unpooled(buf.subarray(chunk.length));
    const rest = p.push(tail, 0, 0);
    chunk.fill(0x55);
    tail.fill(0x55);
    expect(rest[0]!.data.equals(b!.data)).toBe(true);
  });

  it('heldFrom tells which chunk memory the parser no longer references', () => {
    const buf = fs.readFileSync(byName('baseline-160x120.h264').file);
    const sizes = parseWhole(buf).map((a) => a.data.length);
    const p = new AnnexBParser();
    const firstTwo = sizes[0]! + sizes[1]!;
    p.push(buf.subarray(0, firstTwo + 100), 0, 0);
    // Two access units are complete; the third is being collected from its first byte on.
    expect(p.heldFrom).toBe(firstTwo);
    p.push(buf.subarray(firstTwo + 100), 0, 0);
    p.end();
    expect(p.heldFrom).toBe(buf.length);
  });

  it('drops and counts bytes before the first start code', () => {
    const buf = fs.readFileSync(byName('baseline-160x120.h264').file);
    const garbage = Buffer.from([0x12, 0x00, 0x00, 0x34, 0xff, 0x00]);
    const p = new AnnexBParser();
    const aus = [...p.push(garbage, 0, 0), ...p.push(buf, 0, 0), ...p.end()];
    expect(Buffer.concat(aus.map((a) => a.data)).equals(buf)).toBe(true);
    expect(p.droppedBytes).toBe(garbage.length);
  });

  it('bounds memory on garbage without start codes: drops it, counts it, and resynchronises', () => {
    const p = new AnnexBParser({ maxAccessUnitBytes: 64 * 1024 });
    const junk = Buffer.alloc(1024 * 1024, 0xab);
    expect(p.push(junk, 0, 0)).toEqual([]);
    expect(p.droppedBytes).toBeGreaterThanOrEqual(junk.length - 3);
    // A start code and then megabytes of bytes without another start code: one oversized "NAL unit".
    const oversized = Buffer.concat([Buffer.from([0, 0, 0, 1, 0x65]), junk]);
    for (let i = 0; i < 4; i++) expect(p.push(i === 0 ? oversized : junk, 0, 0)).toEqual([]);
    expect(p.droppedBytes).toBeGreaterThan(4 * junk.length);
    const buf = fs.readFileSync(byName('baseline-160x120.h264').file);
    const aus = [...p.push(buf, 0, 0), ...p.end()];
    expect(aus.map((a) => a.data.length)).toEqual(parseWhole(buf).map((a) => a.data.length));
  });

  it('peekPending shows the access unit being collected once it holds a slice', () => {
    const buf = fs.readFileSync(byName('slices4-160x120.h264').file);
    const [first] = parseWhole(buf);
    const p = new AnnexBParser();
    // SPS, PPS and SEI only: no slice yet.
    const firstSlice = first!.data.indexOf(Buffer.from([0, 0, 1, 0x65]));
    expect(p.push(buf.subarray(0, firstSlice + 2), 0, 0)).toEqual([]);
    expect(p.peekPending()).toBeUndefined();
    // The whole first picture (four slices), without the next start code: complete as far as we can know.
    expect(p.push(buf.subarray(firstSlice + 2, first!.data.length), 0, 0)).toEqual([]);
    const pending = p.peekPending();
    expect(pending?.keyframe).toBe(true);
    expect(pending?.data.equals(first!.data)).toBe(true);
    expect(p.sps?.width).toBe(160);
  });

  it('keeps a stream with an end-of-stream NAL unit and a bare trailing start code byte for byte', () => {
    const buf = fs.readFileSync(byName('one-frame-160x120.h264').file);
    const withEnd = Buffer.concat([buf, Buffer.from([0, 0, 0, 1, 0x0b]), buf, Buffer.from([0, 0, 1])]);
    const aus = parseWhole(withEnd);
    expect(aus.map((a) => a.data.length)).toEqual([buf.length + 5, buf.length + 3]);
    expect(aus.map((a) => a.keyframe)).toEqual([true, true]);
  });
});
