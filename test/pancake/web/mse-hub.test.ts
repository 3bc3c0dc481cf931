// The MSE hub with real access units (test card, B-frame fixtures): where a viewer starts, ack pacing, skips to keyframes, cuts before anchors, and MP4 that ffmpeg decodes in order.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AnnexBParser, type AccessUnit } from '../../../src/common/h264/annexb.js';
import { iterateNalUnits, NalType, nalUnitType } from '../../../src/common/h264/nal.js';
import { parseSps, type SpsInfo } from '../../../src/common/h264/sps.js';
import { SampleReader } from '../../../src/common/mp4/samples.js';
import { PROJECT_ROOT } from '../../../src/common/paths.js';
import { MseHub, spsReordering } from '../../../src/pancake/web/mse-hub.js';
import { FRAME_MP4, HEADER_BYTES } from '../../../src/pancake/web/protocol.js';
import { liveMode } from '../../../src/pancake/web/server.js';
import type { ViewerSocket } from '../../../src/pancake/web/viewers.js';
import { decodeErrors, makeTmp, probe, removeTmp } from '../../helpers/env.js';
import { topLevelBoxes } from '../../common/mp4/mp4-facts.js';
import { BitWriter, nalUnit } from '../../common/h264/bitwriter.js';
import { FIXTURE_DIR } from '../../common/h264/fixtures.js';

/** The bundled test card (640x480, 12 fps, an IDR every 12 frames), as a camera at 12 fps would deliver it. */
function testCardUnits(): AccessUnit[] {
  const parser = new AnnexBParser();
  const units = [...parser.push(fs.readFileSync(path.join(PROJECT_ROOT, 'testcard', 'testcard.h264')), 0, 0), ...parser.end()];
  return units.map((u, i) => ({ ...u, wallTime: 1_000_000 + i * (1000 / 12), monoTime: i * (1000 / 12) }));
}

interface Sent {
  kind: number;
  keyframe: boolean;
  seq: number;
  wall: number;
  payload: Buffer;
}

/** A socket that records the messages it was sent. */
function fakeSocket(): ViewerSocket & { sent: Sent[] } {
  const sent: Sent[] = [];
  const send = (data: Buffer) => sent.push({ kind: data[0]!, keyframe: (data[1]! & 1) === 1, seq: data.readUInt32BE(4), wall: data.readDoubleBE(8), payload: data.subarray(HEADER_BYTES) });
  return { sent, readyState: 1, bufferedAmount: 0, terminate: () => {}, send } as unknown as ViewerSocket & { sent: Sent[] };
}

const boxTypes = (payload: Buffer): string[] => {
  const types: string[] = [];
  for (let pos = 0; pos + 8 <= payload.length; pos += payload.readUInt32BE(pos)) types.push(payload.toString('latin1', pos + 4, pos + 8));
  return types;
};

describe('MSE hub', () => {
  const units = testCardUnits();
  const keyframes = units.flatMap((u, i) => (u.keyframe ? [i] : []));
  let tmp: string;
  beforeEach(() => {
    tmp = makeTmp('mse-hub-test-');
  });
  afterEach(() => removeTmp(tmp));

  it('has a test card with several GOPs', () => {
    expect(keyframes.length).toBeGreaterThanOrEqual(3);
    expect(keyframes[0]).toBe(0);
  });

  it('starts a viewer that joins mid-GOP at the newest keyframe, with the init segment, and keeps at most 3 fragments in flight', () => {
    const hub = new MseHub(3);
    const k = keyframes[1]!;
    for (const u of units.slice(0, k + 5)) hub.push(u); // nobody watching yet
    const socket = fakeSocket();
    const viewer = hub.addViewer(socket);
    expect(socket.sent.map((m) => m.seq)).toEqual([k, k + 1, k + 2]);
    expect(socket.sent.every((m) => m.kind === FRAME_MP4)).toBe(true);
    expect(socket.sent.map((m) => m.keyframe)).toEqual([true, false, false]);
    expect(boxTypes(socket.sent[0]!.payload)).toEqual(['ftyp', 'moov', 'moof', 'mdat']);
    expect(boxTypes(socket.sent[1]!.payload)).toEqual(['moof', 'mdat']);
    hub.ack(viewer, k);
    expect(socket.sent.map((m) => m.seq)).toEqual([k, k + 1, k + 2, k + 3]);
    hub.ack(viewer, k + 1);
    hub.ack(viewer, k + 2);
    hub.ack(viewer, k + 3);
    expect(socket.sent.at(-1)!.seq).toBe(k + 4); // all the hub has
    hub.push(units[k + 5]!);
    expect(socket.sent.at(-1)!.seq).toBe(k + 5);
  });

  it('moves a viewer that stops acknowledging on to the next keyframe, while another gets every fragment', () => {
    const hub = new MseHub(3);
    hub.push(units[0]!);
    const slow = fakeSocket();
    const fast = fakeSocket();
    const slowViewer = hub.addViewer(slow);
    const fastViewer = hub.addViewer(fast);
    hub.ack(fastViewer, 0);
    const k = keyframes[1]!;
    for (let i = 1; i <= k + 2; i++) {
      hub.push(units[i]!);
      hub.ack(fastViewer, i);
    }
    expect(fast.sent.map((m) => m.seq)).toEqual(units.slice(0, k + 3).map((_, i) => i));
    expect(slow.sent.map((m) => m.seq)).toEqual([0, 1, 2]);
    hub.ack(slowViewer, 0);
    expect(slow.sent.map((m) => m.seq)).toEqual([0, 1, 2, k]); // 3 … k-1 skipped, not queued
    expect(slow.sent.at(-1)!.keyframe).toBe(true);
    expect(boxTypes(slow.sent.at(-1)!.payload).slice(0, 2)).toEqual(['ftyp', 'moov']);
    expect(slowViewer.skipped).toBe(k - 3);
    expect(hub.unwrappable).toBe(0);
  });

  it('sends MP4 that ffmpeg decodes frame for frame, the same after the last viewer left and a new one came', () => {
    const hub = new MseHub(3);
    const socket = fakeSocket();
    const viewer = hub.addViewer(socket);
    const end = keyframes[2]!;
    for (const u of units.slice(0, end)) {
      hub.push(u);
      for (const m of socket.sent) hub.ack(viewer, m.seq);
    }
    hub.removeViewer(viewer);
    const payloads = socket.sent.map((m) => m.payload);
    expect(payloads.length).toBe(end);
    // One GOP as a browser in sequence mode would take it: the init segment, then its fragments.
    const gop = path.join(tmp, 'gop.mp4');
    fs.writeFileSync(gop, Buffer.concat(payloads.slice(0, keyframes[1]!)));
    expect(topLevelBoxes(gop).slice(0, 4).map((b) => b.type)).toEqual(['ftyp', 'moov', 'moof', 'mdat']);
    expect(decodeErrors(gop)).toBe('');
    const facts = probe(gop);
    expect([facts.codec, facts.width, facts.height, facts.frames]).toEqual(['h264', 640, 480, keyframes[1]!]);
    // Durations follow the units' arrival, 12 per second; the very first unit had no interval yet (1/30 s).
    expect(facts.duration).toBeCloseTo((keyframes[1]! - 1) / 12 + 1 / 30, 2);

    // Nobody watches now; a new viewer gets the current GOP wrapped again, from its keyframe.
    for (const u of units.slice(end, end + 4)) hub.push(u);
    const late = fakeSocket();
    const lateViewer = hub.addViewer(late);
    for (let i = 0; i < 4; i++) for (const m of late.sent) hub.ack(lateViewer, m.seq);
    expect(late.sent.map((m) => m.seq)).toEqual([end, end + 1, end + 2, end + 3]);
    const again = path.join(tmp, 'late.mp4');
    fs.writeFileSync(again, Buffer.concat(late.sent.map((m) => m.payload)));
    expect(decodeErrors(again)).toBe('');
    expect(probe(again).frames).toBe(4);
  });

  it('wraps nothing before the first keyframe', () => {
    const hub = new MseHub(3);
    const socket = fakeSocket();
    hub.addViewer(socket);
    for (const u of units.slice(1, keyframes[1]!)) hub.push(u);
    expect(socket.sent).toEqual([]);
    hub.push(units[keyframes[1]!]!);
    expect(socket.sent.map((m) => m.keyframe)).toEqual([true]);
  });
});

describe('the websocket ?mode=', () => {
  it.each([
    ['mse', 'mse'],
    ['jpeg', 'jpeg'],
    ['h264', 'h264'],
    [null, 'h264'],
    ['MSE', 'h264'],
    ['toString', 'h264'],
  ] as const)('%j → %j', (value, mode) => {
    expect(liveMode(value)).toBe(mode);
  });
});

/** A fixture's access units as a camera at 10 fps would deliver them; `sps` may rewrite each SPS NAL unit. */
function fixtureUnits(name: string, sps: (nal: Buffer) => Buffer = (nal) => nal): AccessUnit[] {
  const parser = new AnnexBParser();
  const units = [...parser.push(fs.readFileSync(path.join(FIXTURE_DIR, name)), 0, 0), ...parser.end()];
  const startCode = Buffer.from([0, 0, 0, 1]);
  return units.map((u, i) => {
    const nals = [...iterateNalUnits(u.data)].map((nal) => (nalUnitType(nal[0]!) === NalType.SPS ? sps(nal) : nal));
    return { ...u, data: Buffer.concat(nals.flatMap((nal) => [startCode, nal])), wallTime: 2_000_000 + i * 100, monoTime: i * 100 };
  });
}

/** Each unit's picture order count (all of these fixtures' units are frames). */
function pocsOf(units: AccessUnit[]): number[] {
  const reader = new SampleReader();
  return units.map((u) => reader.read(u).poc);
}

/**
 * The SPS rebuilt without VUI, so without bitstream_restriction: a stream that does not say
 * whether it reorders, as the Pi's encoder and many IP cameras send it (4:2:0, no scaling lists).
 */
function withoutVui(nal: Buffer): Buffer {
  const s: SpsInfo = parseSps(nal);
  expect([s.chromaFormatIdc, s.scalingMatrixPresent, s.picOrderCntType === 1]).toEqual([1, false, false]);
  const w = new BitWriter().bits(8, s.profileIdc).bits(8, s.constraintFlags).bits(8, s.levelIdc).ue(s.spsId);
  if (s.profileIdc >= 100) w.ue(1).ue(s.bitDepthLuma - 8).ue(s.bitDepthChroma - 8).flag(0).flag(0);
  w.ue(s.log2MaxFrameNum - 4).ue(s.picOrderCntType);
  if (s.picOrderCntType === 0) w.ue(s.log2MaxPocLsb - 4);
  w.ue(s.maxNumRefFrames).flag(s.gapsInFrameNumAllowed).ue(s.widthInMbs - 1).ue(s.frameHeightInMbs / (s.frameMbsOnly ? 1 : 2) - 1).flag(s.frameMbsOnly);
  if (!s.frameMbsOnly) w.flag(s.mbAdaptiveFrameField);
  w.flag(s.direct8x8Inference);
  const { left, right, top, bottom } = s.crop;
  const unitY = s.frameMbsOnly ? 2 : 4;
  w.flag(left + right + top + bottom > 0);
  if (left + right + top + bottom > 0) w.ue(left / 2).ue(right / 2).ue(top / unitY).ue(bottom / unitY);
  w.flag(0); // vui_parameters_present_flag
  return nalUnit(nal[0]! >> 5, NalType.SPS, w.rbsp());
}

/** A top-level box's payload range in `data` (after its 8-byte header), or undefined. */
function boxAt(data: Buffer, type: string, from = 0, to = data.length): { start: number; end: number } | undefined {
  for (let pos = from; pos + 8 <= to; pos += data.readUInt32BE(pos)) {
    if (data.toString('latin1', pos + 4, pos + 8) === type) return { start: pos + 8, end: pos + data.readUInt32BE(pos) };
  }
  return undefined;
}

/** The samples of a live message's fragment: decoding and presentation times in ticks, read back from tfdt and trun (minus the init segment's edit). */
function fragmentSamples(payload: Buffer, editShift: number): { dts: number; pts: number }[] {
  const moof = boxAt(payload, 'moof')!;
  const traf = boxAt(payload, 'traf', moof.start + 16, moof.end)!; // after mfhd (16 bytes)
  const tfdt = boxAt(payload, 'tfdt', boxAt(payload, 'tfhd', traf.start, traf.end)!.end, traf.end)!;
  const trun = boxAt(payload, 'trun', tfdt.end, traf.end)!;
  let dts = payload[tfdt.start] === 1 ? Number(payload.readBigUInt64BE(tfdt.start + 4)) : payload.readUInt32BE(tfdt.start + 4);
  const version = payload[trun.start]!;
  const flags = payload.readUIntBE(trun.start + 1, 3);
  expect(flags & 0x700).toBe(0x700); // per-sample duration, size, flags
  const count = payload.readUInt32BE(trun.start + 4);
  const perSample = 12 + (flags & 0x800 ? 4 : 0);
  const samples: { dts: number; pts: number }[] = [];
  for (let i = 0, at = trun.start + 12; i < count; i++, at += perSample) {
    const offset = flags & 0x800 ? (version === 1 ? payload.readInt32BE(at + 12) : payload.readUInt32BE(at + 12)) : 0;
    samples.push({ dts, pts: dts + offset - editShift });
    dts += payload.readUInt32BE(at);
  }
  return samples;
}

/** The media time the init segment's edit list skips (0 without one). */
function editShiftOf(init: Buffer): number {
  const at = init.indexOf('elst', 0, 'latin1');
  if (at < 0) return 0;
  return init[at + 4] === 1 ? Number(init.readBigInt64BE(at + 20)) : init.readInt32BE(at + 16);
}

/** Pushes every unit to a hub whose one viewer acknowledges everything at once: the messages it was sent. */
function watchAll(units: AccessUnit[], hub = new MseHub(3)): { socket: ReturnType<typeof fakeSocket>; hub: MseHub } {
  const socket = fakeSocket();
  const viewer = hub.addViewer(socket);
  let acked = 0;
  for (const u of units) {
    hub.push(u);
    while (acked < socket.sent.length) hub.ack(viewer, socket.sent[acked++]!.seq);
  }
  expect(viewer.skipped).toBe(0);
  return { socket, hub };
}

/** The messages split into GOPs (each from a keyframe message), with each message's samples. */
function gopsOf(sent: Sent[]): { init: Buffer; fragments: { sent: Sent; samples: { dts: number; pts: number }[] }[] }[] {
  const gops: { init: Buffer; fragments: { sent: Sent; samples: { dts: number; pts: number }[] }[] }[] = [];
  let shift = 0;
  for (const m of sent) {
    if (m.keyframe) {
      const moov = boxAt(m.payload, 'moov')!;
      const init = m.payload.subarray(0, moov.end);
      shift = editShiftOf(init);
      gops.push({ init, fragments: [] });
    }
    gops.at(-1)!.fragments.push({ sent: m, samples: fragmentSamples(m.payload, shift) });
  }
  return gops;
}

/** ffprobe's decoded pictures of a GOP file in output order: their pts. */
function presentedPts(file: string): number[] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'frame=pts', '-of', 'json', file], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return (JSON.parse(r.stdout) as { frames: { pts: number }[] }).frames.map((f) => f.pts);
}

describe('MSE hub with B-frames', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = makeTmp('mse-hub-b-test-');
  });
  afterEach(() => removeTmp(tmp));

  /**
   * Checks the messages of whole GOPs: each fragment presents a run of pictures right after the
   * one before (in POC order), its time is its first unit's and its number its last unit's, and
   * the GOP as a browser gets it decodes with ffmpeg with pictures in increasing pts.
   */
  function expectInOrder(units: AccessUnit[], sent: Sent[], from = 0): number[][] {
    const pocs = pocsOf(units);
    const cuts: number[][] = [];
    let unit = from;
    for (const [g, gop] of gopsOf(sent).entries()) {
      const gopStart = unit;
      let shown = -Infinity;
      for (const { sent: m, samples } of gop.fragments) {
        const indices = samples.map((_, k) => unit + k);
        cuts.push(indices);
        unit += samples.length;
        expect([m.seq, m.wall]).toEqual([indices.at(-1)!, units[indices[0]!]!.wallTime]);
        // Pictures in presentation order are pictures in POC order, and none before the last fragment's.
        const byPts = indices.map((i, k) => ({ poc: pocs[i]!, pts: samples[k]!.pts })).sort((a, b) => a.pts - b.pts);
        expect(byPts.map((p) => p.poc)).toEqual(indices.map((i) => pocs[i]!).sort((a, b) => a - b));
        expect(byPts[0]!.pts).toBeGreaterThan(shown);
        expect(byPts[0]!.pts).toBe(samples[0]!.dts); // it presents the very time it decodes
        shown = byPts.at(-1)!.pts;
      }
      expect(gop.fragments[0]!.samples[0]!.pts).toBe(0); // the IDR at 0
      const file = path.join(tmp, `gop${g}.mp4`);
      fs.writeFileSync(file, Buffer.concat([gop.init, ...gop.fragments.map((f) => f.sent.payload.subarray(f.sent.keyframe ? gop.init.length : 0))]));
      expect(decodeErrors(file)).toBe('');
      const pts = presentedPts(file);
      expect(pts).toHaveLength(unit - gopStart);
      expect(pts).toEqual([...pts].sort((a, b) => a - b));
      expect(new Set(pts).size).toBe(pts.length);
    }
    return cuts;
  }

  const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('IBBP (x264, its SPS says 2 reordered frames): a fragment per anchor, pictures in POC order across fragments, what is held at a keyframe closes the old GOP', () => {
    const units = fixtureUnits('high-bframes-160x120.h264');
    expect(pocsOf(units).slice(0, 7)).toEqual([0, 6, 2, 4, 12, 8, 10]);
    const { socket } = watchAll(units);
    const cuts = expectInOrder(units, socket.sent);
    // I0 | P6 B2 B4 | P12 B8 B10 | … | P28 B26, sent when the next IDR came; the second GOP's last anchor is still held.
    expect(cuts).toEqual([[0], range(1, 3), range(4, 6), range(7, 9), range(10, 12), range(13, 14),
      [15], range(16, 18), range(19, 21), range(22, 24), range(25, 27)]);
    // The flushed fragment belongs to the old GOP: no init segment, decoding on from the fragment before.
    const flushed = socket.sent[5]!;
    expect([flushed.keyframe, boxTypes(flushed.payload)]).toEqual([false, ['moof', 'mdat']]);
    expect(socket.sent[6]!.keyframe).toBe(true);
  });

  it('pyramid B-frames (x264 b-pyramid, 3 B-frames): I0 | P8 B4 b2 b6 | P16 …, in POC order', () => {
    const units = fixtureUnits('pyramid-160x120.h264');
    expect(pocsOf(units).slice(0, 6)).toEqual([0, 8, 4, 2, 6, 16]);
    const { socket } = watchAll(units);
    expect(expectInOrder(units, socket.sent)).toEqual([[0], range(1, 4), range(5, 8), range(9, 12), range(13, 15),
      [16], range(17, 20), range(21, 24), range(25, 28)]);
  });

  it('a viewer joining mid-GOP gets the GOP so far cut before anchors, then the rest', () => {
    const units = fixtureUnits('high-bframes-160x120.h264');
    const hub = new MseHub(100);
    for (const u of units.slice(0, 20)) hub.push(u); // nobody watching: nothing wrapped
    const socket = fakeSocket();
    hub.addViewer(socket);
    expect(socket.sent.map((m) => m.seq)).toEqual([15, 18]); // I0 | P6 B2 B4 | P12 held
    for (const u of units.slice(20)) hub.push(u);
    expect(expectInOrder(units, socket.sent, 15)).toEqual([[15], range(16, 18), range(19, 21), range(22, 24), range(25, 27)]);
  });

  it('B-frames in a stream whose SPS does not say: found in the GOP a viewer joins, that GOP is wrapped again in order', () => {
    const units = fixtureUnits('high-bframes-160x120.h264', withoutVui);
    const hub = new MseHub(100);
    for (const u of units.slice(0, 5)) hub.push(u); // I0 P6 B2 B4 P12: B2 shows the reordering
    const socket = fakeSocket();
    hub.addViewer(socket);
    for (const u of units.slice(5)) hub.push(u);
    expect(expectInOrder(units, socket.sent)).toEqual([[0], range(1, 3), range(4, 6), range(7, 9), range(10, 12), range(13, 14),
      [15], range(16, 18), range(19, 21), range(22, 24), range(25, 27)]);
  });

  it('B-frames in a stream whose SPS does not say, seen while watching: one fragment per unit until then, cut before anchors from then on, for good', () => {
    const units = fixtureUnits('high-bframes-160x120.h264', withoutVui);
    expect(spsReordering(parseSps([...iterateNalUnits(units[0]!.data)].find((n) => nalUnitType(n[0]!) === NalType.SPS)!))).toBeUndefined();
    const { socket } = watchAll(units);
    const sizes = gopsOf(socket.sent).map((g) => g.fragments.map((f) => f.samples.length));
    // I0 | P6 (sent before B2 showed the order) | B2 B4 | P12 B8 B10 …; the next GOP held from its IDR.
    expect(sizes).toEqual([[1, 1, 2, 3, 3, 3, 2], [1, 3, 3, 3, 3]]);
    expect(expectInOrder(units, socket.sent.slice(7), 15)).toHaveLength(5);
  });

  it.each([
    ['main-162x122.h264', 'Main, max_num_reorder_frames 0', (nal: Buffer) => nal, false],
    ['main-162x122.h264', 'Main without bitstream_restriction', withoutVui, undefined],
    ['baseline-160x120.h264', 'Constrained Baseline', withoutVui, false],
  ] as const)('no B-frames (%s, %s): one fragment per unit, sent at once', (name, _, sps, reordering) => {
    const units = fixtureUnits(name, sps);
    expect(spsReordering(parseSps([...iterateNalUnits(units[0]!.data)].find((n) => nalUnitType(n[0]!) === NalType.SPS)!))).toBe(reordering);
    const hub = new MseHub(100);
    const socket = fakeSocket();
    hub.addViewer(socket);
    for (const [i, u] of units.entries()) {
      hub.push(u);
      expect(socket.sent.at(-1)?.seq).toBe(i); // this unit's fragment, before the next unit
    }
    expect(expectInOrder(units, socket.sent)).toEqual(units.map((_, i) => [i]));
  });

  it('what the SPS says of reordering: x264 with B-frames may, Baseline and x264 without cannot', () => {
    const first = (name: string) => parseSps([...iterateNalUnits(fs.readFileSync(path.join(FIXTURE_DIR, name)))].find((n) => nalUnitType(n[0]!) === NalType.SPS)!);
    expect(spsReordering(first('high-bframes-160x120.h264'))).toBe(true);
    expect(spsReordering(first('pyramid-160x120.h264'))).toBe(true);
    expect(spsReordering(first('mbaff-160x120.h264'))).toBe(false);
    expect(spsReordering(first('baseline-160x120.h264'))).toBe(false);
    expect(spsReordering({ ...first('high422-10bit-cqm-160x120.h264'), constraintFlags: 0x10, maxNumReorderFrames: 2 })).toBe(false); // High 4:2:2 Intra
  });
});
