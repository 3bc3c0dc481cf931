// The camera stream on a test clock: one down per outage, restarts 1 s then 2 s apart, up when frames flow, completed keyframes to every consumer.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/common/clock.js';
import { AnnexBParser, type AccessUnit } from '../../../src/common/h264/annexb.js';
import { createLogger } from '../../../src/common/log.js';
import type { CameraSource, SourceEnd } from '../../../src/pancake/camera/source.js';
import { CameraStream } from '../../../src/pancake/stream/camera-stream.js';
import type { StreamConsumer } from '../../../src/pancake/stream/consumer.js';
import { TESTCARD } from '../../common/h264/fixtures.js';

const logger = createLogger({ program: 'test', level: 'error' });
const UNITS = (() => {
  const p = new AnnexBParser();
  return [...p.push(fs.readFileSync(TESTCARD.file), 0, 0), ...p.end()].map((u) => u.data);
})();

/** A source the test drives: `send(n)` writes n units, `end(reason)` ends it by itself. */
class TestSource implements CameraSource {
  readonly description = 'test source';
  firstFrameGraceMs: number | undefined;
  onData: ((chunk: Buffer) => void) | undefined;
  onEnd: ((end: SourceEnd) => void) | undefined;
  closed = false;
  sent = 0;
  start(onData: (chunk: Buffer) => void, onEnd: (end: SourceEnd) => void): void {
    this.onData = onData;
    this.onEnd = onEnd;
  }
  send(n: number, transform: (unit: Buffer, index: number) => Buffer = (u) => u): void {
    for (let i = 0; i < n; i++, this.sent++) this.onData!(transform(UNITS[this.sent % UNITS.length]!, this.sent));
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  describeStall(seconds: number): string {
    return `test source silent for ${seconds} s`;
  }
}

function setup(grace?: number): { clock: ManualClock; stream: CameraStream; sources: TestSource[]; events: string[]; got: AccessUnit[]; downs: string[] } {
  const clock = new ManualClock();
  const sources: TestSource[] = [];
  const events: string[] = [];
  const got: AccessUnit[] = [];
  const downs: string[] = [];
  const stream = new CameraStream({
    factory: () => {
      const s = new TestSource();
      s.firstFrameGraceMs = grace;
      sources.push(s);
      return s;
    },
    stallMs: 5000, clock, logger,
    onDown: (reason) => events.push(`down ${reason} @${clock.monotonic()}`),
    onUp: () => events.push(`up @${clock.monotonic()}`),
  });
  const consumer: StreamConsumer = { push: (u) => got.push(u), cameraDown: (reason) => downs.push(reason) };
  stream.add(consumer);
  return { clock, stream, sources, events, got, downs };
}

describe('CameraStream', () => {
  it('a stall and a failed restart make one outage: down once, restarts after 1 s and 2 s, up when frames flow', async () => {
    const { clock, stream, sources, events, got, downs } = setup();
    stream.start();
    expect(stream.state).toBe('starting');
    sources[0]!.send(13);
    // The parser holds the newest unit until the next start code proves it complete.
    expect(got).toHaveLength(12);
    expect(stream.state).toBe('up');
    clock.advance(5000);
    expect(stream.state).toBe('down');
    expect(stream.reason).toBe('test source silent for 5 s');
    expect(sources[0]!.closed).toBe(true);
    clock.advance(1000);
    expect(sources).toHaveLength(2);
    sources[1]!.onEnd!({ reason: 'connection refused' });
    expect(stream.reason).toBe('connection refused');
    clock.advance(1999);
    expect(sources).toHaveLength(2);
    clock.advance(1);
    expect(sources).toHaveLength(3);
    sources[2]!.send(13);
    expect(events).toEqual(['down test source silent for 5 s @5000', 'up @8000']);
    expect(downs).toEqual(['test source silent for 5 s']);
    expect(stream.state).toBe('up');
    // A new run starts with a fresh parser: its first unit is a whole keyframe, nothing of the last run leaks in.
    expect(got[12]!.keyframe).toBe(true);
    expect(got[12]!.data.equals(UNITS[0]!)).toBe(true);
    await stream.close();
    clock.advance(60_000);
    expect(sources).toHaveLength(3);
  });

  it('keyframes without SPS/PPS reach consumers with them, and the early copy of a keyframe equals the unit that follows', async () => {
    const { clock, stream, sources } = setup();
    const early: Buffer[] = [];
    const full: AccessUnit[] = [];
    stream.add({ push: (u) => full.push(u), pushEarly: (data, keyframe) => keyframe && early.push(data), wantsEarly: () => true });
    stream.start();
    // Only the very first unit keeps its parameter sets (SPS 0x67, PPS 0x68 with 4-byte start codes in the test card).
    const strip = (u: Buffer, i: number): Buffer => {
      if (i === 0 || u[4] !== 0x67) return u;
      const slice = u.indexOf(Buffer.from([0, 0, 0, 1, 0x65]));
      return slice > 0 ? u.subarray(slice) : u;
    };
    for (let i = 0; i < 40; i++) {
      sources[0]!.send(1, strip);
      clock.advance(10); // no byte for 10 ms: the unit being received is offered early
    }
    const keys = full.filter((u) => u.keyframe);
    expect(keys.length).toBe(4);
    for (const k of keys) expect(k.data.subarray(0, 5)).toEqual(Buffer.from([0, 0, 0, 1, 0x67]));
    expect(Buffer.concat(full.map((u) => u.data)).equals(Buffer.concat(UNITS.slice(0, full.length)))).toBe(true);
    expect(early.length).toBeGreaterThanOrEqual(3);
    for (const e of early) expect(keys.some((k) => k.data.subarray(0, e.length).equals(e))).toBe(true);
    await stream.close();
  });

  it('a source that takes long for its first frame (an RTSP probe) gets its grace once per run, then the plain limit', async () => {
    const { clock, stream, sources, events } = setup(10_000);
    stream.start();
    clock.advance(14_000);
    expect(stream.state).toBe('starting');
    sources[0]!.send(13);
    expect(stream.state).toBe('up');
    clock.advance(5000);
    expect(events).toEqual(['down test source silent for 5 s @19000']);
    clock.advance(1000 + 14_999);
    expect(sources).toHaveLength(2);
    expect(events).toHaveLength(1);
    clock.advance(1);
    expect(events).toHaveLength(1);
    expect(stream.reason).toBe('test source silent for 15 s');
    await stream.close();
  });
});
