// MP4 boxes of the built-in muxer at sizes no test file reaches: 64-bit chunk offsets, times and mdat size.
import { describe, expect, it } from 'vitest';
import { avcDecoderConfiguration, mdatHeader, moovBox, type VideoTrack } from '../../../src/common/mp4/movie.js';
import { matrixBytes, rotationMatrix } from '../../../src/common/mp4/matrix.js';

/** Finds a box by path (e.g. 'trak/mdia/minf/stbl/stco') inside a moov buffer; returns its payload. */
function find(moov: Buffer, boxPath: string): Buffer | undefined {
  let scope = moov.subarray(8);
  for (const name of boxPath.split('/')) {
    let found: Buffer | undefined;
    for (let pos = 0; pos + 8 <= scope.length; ) {
      const size = scope.readUInt32BE(pos);
      if (scope.toString('latin1', pos + 4, pos + 8) === name) {
        found = scope.subarray(pos + 8, pos + size);
        break;
      }
      pos += size;
    }
    if (!found) return undefined;
    scope = found;
  }
  return scope;
}

const SPS = Buffer.from('6764001facd9405005bb011000000300100000030300f1831960', 'hex');
const PPS = Buffer.from('68ebe3cb22c0', 'hex');

function track(over: Partial<VideoTrack>): VideoTrack {
  return {
    width: 1280, height: 720, rotation: 0, avcC: avcDecoderConfiguration(SPS, PPS, 1, 8, 8), timescale: 90000, sampleDelta: 3000,
    sizes: Uint32Array.from([1000, 200, 300]), syncSamples: Uint32Array.from([1]), editMediaTime: 0, samplesPerChunk: 2, ...over,
  };
}

describe('moov', () => {
  it('32-bit offsets, stsc for chunks of 2 + a last chunk of 1, no ctts/edts without reordering', () => {
    const moov = moovBox(track({}), 1000);
    const stco = find(moov, 'trak/mdia/minf/stbl/stco')!;
    expect([stco.readUInt32BE(4), stco.readUInt32BE(8), stco.readUInt32BE(12)]).toEqual([2, 1000, 2200]);
    const stsc = find(moov, 'trak/mdia/minf/stbl/stsc')!;
    expect([...Array(7)].map((_, i) => stsc.readUInt32BE(4 + i * 4))).toEqual([2, 1, 2, 1, 2, 1, 1]);
    expect(find(moov, 'trak/mdia/minf/stbl/ctts')).toBeUndefined();
    expect(find(moov, 'trak/edts')).toBeUndefined();
    expect(find(moov, 'mvhd')![0]).toBe(0);
  });

  it('switches to co64 when a chunk starts beyond 4 GiB', () => {
    const moov = moovBox(track({}), 2 ** 32 - 1100);
    expect(find(moov, 'trak/mdia/minf/stbl/stco')).toBeUndefined();
    const co64 = find(moov, 'trak/mdia/minf/stbl/co64')!;
    expect(co64.readUInt32BE(4)).toBe(2);
    expect(Number(co64.readBigUInt64BE(8))).toBe(2 ** 32 - 1100);
    expect(Number(co64.readBigUInt64BE(16))).toBe(2 ** 32 + 100);
  });

  it('uses version 1 (64-bit) times when the duration does not fit 32 bits', () => {
    const moov = moovBox(track({ sampleDelta: 2 ** 31 }), 100);
    const mvhd = find(moov, 'mvhd')!;
    expect(mvhd[0]).toBe(1);
    // version 1: creation (8), modification (8), timescale (4), duration (8)
    expect(Number(mvhd.readBigUInt64BE(24))).toBe(3 * 2 ** 31);
    expect(find(moov, 'trak/tkhd')![0]).toBe(1);
    expect(find(moov, 'trak/mdia/mdhd')![0]).toBe(1);
  });

  it('writes run-length ctts and an edit list that starts presentation at 0', () => {
    const moov = moovBox(track({ sizes: Uint32Array.from([5, 5, 5, 5, 5]), compositionOffsets: Uint32Array.from([3000, 9000, 0, 0, 3000]), editMediaTime: 3000 }), 100);
    const ctts = find(moov, 'trak/mdia/minf/stbl/ctts')!;
    expect([...Array(9)].map((_, i) => ctts.readUInt32BE(4 + i * 4))).toEqual([4, 1, 3000, 1, 9000, 2, 0, 1, 3000]);
    const elst = find(moov, 'trak/edts/elst')!;
    expect([elst.readUInt32BE(4), elst.readUInt32BE(8), elst.readUInt32BE(12), elst.readUInt16BE(16)]).toEqual([1, 15000, 3000, 1]);
  });

  it('one stts entry for equal durations; run-length stts and the summed duration for per-sample durations', () => {
    const plain = find(moovBox(track({}), 100), 'trak/mdia/minf/stbl/stts')!;
    expect([...Array(3)].map((_, i) => plain.readUInt32BE(4 + i * 4))).toEqual([1, 3, 3000]);
    const sizes = Uint32Array.from([5, 5, 5, 5, 5]);
    const moov = moovBox(track({ sizes, sampleDelta: 0, sampleDeltas: Uint32Array.from([6000, 6000, 12857, 12857, 6000]) }), 100);
    const stts = find(moov, 'trak/mdia/minf/stbl/stts')!;
    expect([...Array(7)].map((_, i) => stts.readUInt32BE(4 + i * 4))).toEqual([3, 2, 6000, 2, 12857, 1, 6000]);
    // mvhd version 0: creation, modification, timescale, duration.
    expect(find(moov, 'mvhd')!.readUInt32BE(16)).toBe(43714);
    expect(find(moov, 'trak/mdia/mdhd')!.readUInt32BE(16)).toBe(43714);
  });

  it('mdat has a 64-bit size when its payload reaches 4 GiB', () => {
    expect(mdatHeader(1000)).toEqual(Buffer.from('000003f06d646174', 'hex'));
    const big = mdatHeader(5e9);
    expect(big.length).toBe(16);
    expect(big.readUInt32BE(0)).toBe(1);
    expect(Number(big.readBigUInt64BE(8))).toBe(5e9 + 16);
  });

  it('avcC carries profile/level from the SPS and, for High, chroma format and bit depths', () => {
    const avcC = avcDecoderConfiguration(SPS, PPS, 1, 8, 8);
    expect([...avcC.subarray(0, 6)]).toEqual([1, 0x64, 0x00, 0x1f, 0xff, 0xe1]);
    expect(avcC.subarray(8, 8 + SPS.length)).toEqual(SPS);
    expect([...avcC.subarray(-4)]).toEqual([0xfd, 0xf8, 0xf8, 0]);
    const baseline = avcDecoderConfiguration(Buffer.from([0x67, 0x42, 0xc0, 0x1e, 0xab]), PPS, 1, 8, 8);
    expect(baseline.length).toBe(6 + 2 + 5 + 1 + 2 + PPS.length);
  });
});

describe('rotationMatrix', () => {
  it.each([
    [0, [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000]],
    [90, [0, 0x10000, 0, -0x10000, 0, 0, 720 * 0x10000, 0, 0x40000000]],
    [180, [-0x10000, 0, 0, 0, -0x10000, 0, 1280 * 0x10000, 720 * 0x10000, 0x40000000]],
    [270, [0, -0x10000, 0, 0x10000, 0, 0, 0, 1280 * 0x10000, 0x40000000]],
  ] as const)('%s degrees clockwise for 1280x720', (rotation, m) => {
    expect(rotationMatrix(rotation, 1280, 720)).toEqual(m);
    expect(matrixBytes(rotationMatrix(rotation, 1280, 720)).readInt32BE(12)).toBe(m[3]);
  });
});
