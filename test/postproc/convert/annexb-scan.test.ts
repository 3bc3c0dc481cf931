// AccessUnitScanner and scanFile: the same access units and NAL units as AnnexBParser + iterateNalUnits, at the file offsets they came from, whatever the windows.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnnexBParser } from '../../../src/common/h264/annexb.js';
import { iterateNalUnits } from '../../../src/common/h264/nal.js';
import { AccessUnitScanner, type ScannedAccessUnit } from '../../../src/postproc/convert/annexb-scan.js';
import { scanFile } from '../../../src/postproc/convert/file-io.js';
import { ALL_STREAMS, byName, FIXTURE_DIR, prng } from '../../common/h264/fixtures.js';

/** An access unit as plain data: its NAL units' bytes (copied) and where they start, and the key flag. */
interface Unit {
  nals: string[];
  offsets: number[];
  keyframe: boolean;
}

function copy(au: ScannedAccessUnit): Unit {
  return { nals: au.nals.map((n) => n.toString('hex')), offsets: [...au.offsets], keyframe: au.keyframe };
}

/** What AnnexBParser (one push) and iterateNalUnits make of the bytes; offsets found by position in the access unit. */
function reference(buf: Buffer, maxAccessUnitBytes?: number, chunks?: number[]): Omit<Unit, 'offsets'>[] {
  const parser = new AnnexBParser(maxAccessUnitBytes === undefined ? {} : { maxAccessUnitBytes });
  const aus = [];
  let pos = 0;
  for (const len of chunks ?? [buf.length]) {
    aus.push(...parser.push(Buffer.from(buf.subarray(pos, pos + len)), 0, 0));
    pos += len;
  }
  aus.push(...parser.end());
  return aus.map((au) => ({ nals: [...iterateNalUnits(au.data)].map((n) => n.toString('hex')), keyframe: au.keyframe }));
}

/**
 * Scans `buf` in windows that each add the next chunk (lengths from `chunks`) to what the
 * scanner still needs, as scanFile does. The windows are copies, so nothing can pass through
 * memory shared with `buf`.
 */
function scanned(buf: Buffer, chunks: number[], maxAccessUnitBytes?: number): Unit[] {
  const units: Unit[] = [];
  const scanner = new AccessUnitScanner((au) => units.push(copy(au)), maxAccessUnitBytes);
  let keep = 0;
  let pos = 0;
  for (const len of chunks) {
    pos = Math.min(buf.length, pos + len);
    keep = scanner.scan(Buffer.from(buf.subarray(keep, pos)), keep);
  }
  scanner.end();
  return units;
}

function randomChunks(total: number, seed: number, maxChunk: number): number[] {
  const next = prng(seed);
  const chunks: number[] = [];
  for (let sum = 0; sum < total; ) {
    const len = 1 + Math.floor(next() * maxChunk);
    chunks.push(len);
    sum += len;
  }
  return chunks;
}

/** Streams made to hit the corners: start codes of 3 and 4 bytes, zeros, empty NAL units, garbage, an end of sequence. */
function cornerStreams(): [string, Buffer][] {
  const base = fs.readFileSync(byName('baseline-160x120.h264').file);
  const bframes = fs.readFileSync(byName('high-bframes-160x120.h264').file);
  const sc = (...bytes: number[]) => Buffer.from(bytes);
  return [
    ['garbage before the first start code', Buffer.concat([Buffer.alloc(1000, 7), base])],
    ['zeros between NAL units', Buffer.concat([base.subarray(0, 500), Buffer.alloc(7), base.subarray(500)])],
    ['trailing zeros', Buffer.concat([bframes, Buffer.alloc(5)])],
    ['end of sequence between two streams', Buffer.concat([base, sc(0, 0, 0, 1, 0x0a), base])],
    ['an empty NAL unit first', Buffer.concat([sc(0, 0, 1), base])],
    ['an access unit delimiter', Buffer.concat([sc(0, 0, 0, 1, 0x09, 0xf0), base])],
    ['a start code at the very end', Buffer.concat([base, sc(0, 0, 1)])],
    ['cut inside a slice header', base.subarray(0, base.length - 900)],
  ];
}

// The open-GOP stream (recovery point SEIs, no IDR; sei.test.ts has its own tests) is not among ALL_STREAMS.
const OPEN_GOP = path.join(FIXTURE_DIR, 'opengop-noidr-160x120.h264');
const streams: [string, Buffer][] = [
  ...ALL_STREAMS.map((f) => [f.name, fs.readFileSync(f.file)] as [string, Buffer]),
  [path.basename(OPEN_GOP), fs.readFileSync(OPEN_GOP)],
  ...cornerStreams(),
];

describe('AccessUnitScanner', () => {
  it.each(streams)('%s: access units, NAL units and key flags as AnnexBParser and iterateNalUnits, in windows of 1 byte to the whole file', (_, buf) => {
    const expected = reference(buf);
    expect(expected.length).toBeGreaterThan(0);
    const whole = scanned(buf, [buf.length]);
    expect(whole.map(({ nals, keyframe }) => ({ nals, keyframe }))).toEqual(expected);
    // Every NAL unit lies in the file where its offset says.
    for (const unit of whole) {
      unit.nals.forEach((hex, i) => expect(buf.subarray(unit.offsets[i]!, unit.offsets[i]! + hex.length / 2).toString('hex')).toBe(hex));
    }
    for (const chunks of [randomChunks(buf.length, 1, 7), randomChunks(buf.length, 2, 300), randomChunks(buf.length, 3, 20_000)]) {
      expect(scanned(buf, chunks)).toEqual(whole);
    }
  });

  it('drops an access unit that grows past the limit, and goes on at the next start code, as AnnexBParser does', () => {
    const base = fs.readFileSync(byName('baseline-160x120.h264').file);
    // A NAL unit of type 26 (no boundary) full of bytes without start codes: the last picture grows past 4000 bytes.
    const buf = Buffer.concat([base, Buffer.from([0, 0, 1, 0x1a]), Buffer.alloc(6000, 0x5a), base]);
    const chunks = Array.from({ length: Math.ceil(buf.length / 1000) }, () => 1000);
    const expected = reference(buf, 4000, chunks);
    const units = scanned(buf, chunks, 4000);
    expect(units.map(({ nals, keyframe }) => ({ nals, keyframe }))).toEqual(expected);
    // The stream after the garbage is all there; the picture the garbage joined is gone.
    expect(units.length).toBe(reference(Buffer.concat([base, base])).length - 1);
  });

  it('an access unit is complete once the next one\'s first slice header is in, not at its end: a limit just above the first picture keeps it', () => {
    const buf = fs.readFileSync(byName('baseline-160x120.h264').file);
    const first = new AnnexBParser().push(Buffer.from(buf), 0, 0)[0]!.data.length;
    // The first window ends 200 bytes into the second picture; the limit lies between.
    const chunks = [first + 200, buf.length];
    const expected = reference(buf, first + 150, chunks);
    expect(expected.length).toBe(30);
    expect(scanned(buf, chunks, first + 150).map(({ nals, keyframe }) => ({ nals, keyframe }))).toEqual(expected);
  });

  it('refuses a window that does not continue the last one', () => {
    const scanner = new AccessUnitScanner(() => undefined);
    const buf = fs.readFileSync(byName('baseline-160x120.h264').file);
    const keep = scanner.scan(buf.subarray(0, 1000), 0);
    expect(() => scanner.scan(buf.subarray(keep + 1, 2000), keep + 1)).toThrow(RangeError);
    expect(() => scanner.scan(buf.subarray(keep, 999), keep)).toThrow(RangeError);
  });
});

describe('scanFile', () => {
  it.each([[64], [1000], [1 << 20]])('reads the test card in chunks of %s bytes (access units longer than a chunk grow the window): the same access units as one window over the whole file', async (chunkBytes) => {
    const file = byName('testcard.h264').file;
    const buf = fs.readFileSync(file);
    const expected = scanned(buf, [buf.length]);
    const units: Unit[] = [];
    const fh = await fs.promises.open(file, 'r');
    try {
      await scanFile(fh, new AccessUnitScanner((au) => units.push(copy(au))), undefined, chunkBytes);
    } finally {
      await fh.close();
    }
    expect(units.length).toBe(288);
    expect(units).toEqual(expected);
  });

  it('stops with the abort reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    controller.abort(reason);
    const fh = await fs.promises.open(byName('testcard.h264').file, 'r');
    try {
      await expect(scanFile(fh, new AccessUnitScanner(() => undefined), controller.signal, 4096)).rejects.toBe(reason);
    } finally {
      await fh.close();
    }
  });
});
