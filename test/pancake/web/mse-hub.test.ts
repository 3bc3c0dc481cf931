// The MSE hub with the test card's real access units: where a viewer starts, ack pacing, skips to keyframes, and MP4 that ffmpeg decodes.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AnnexBParser, type AccessUnit } from '../../../src/common/h264/annexb.js';
import { PROJECT_ROOT } from '../../../src/common/paths.js';
import { MseHub } from '../../../src/pancake/web/mse-hub.js';
import { FRAME_MP4, HEADER_BYTES } from '../../../src/pancake/web/protocol.js';
import { liveMode } from '../../../src/pancake/web/server.js';
import type { ViewerSocket } from '../../../src/pancake/web/viewers.js';
import { decodeErrors, makeTmp, probe, removeTmp } from '../../helpers/env.js';
import { topLevelBoxes } from '../../common/mp4/mp4-facts.js';

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
  payload: Buffer;
}

/** A socket that records the messages it was sent. */
function fakeSocket(): ViewerSocket & { sent: Sent[] } {
  const sent: Sent[] = [];
  const send = (data: Buffer) => sent.push({ kind: data[0]!, keyframe: (data[1]! & 1) === 1, seq: data.readUInt32BE(4), payload: data.subarray(HEADER_BYTES) });
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
