// Edge and all detection recording on a synthetic 12 fps stream (IDR every second) and a test clock: files, frames, events.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/common/clock.js';
import { createLogger } from '../../../src/common/log.js';
import type { FinishedRecording } from '../../../src/pancake/record/continuous.js';
import { AllRecorder, EdgeRecorder, type DetectionRecorder } from '../../../src/pancake/record/detection.js';
import { RecordingJournal } from '../../../src/pancake/record/journal.js';
import { detectionBaseName } from '../../../src/pancake/record/naming.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';
import { framesIn, frameTime, range, SyntheticStream } from './synthetic-stream.js';

const logger = createLogger({ program: 'test', level: 'error' });
const sps = { width: 640, height: 480 } as Parameters<DetectionRecorder['push']>[1];

type Event = { file: string; frames: number[]; detection?: boolean; start: number; end: number } | { detection: false; time: number };

let tmp: string;
let clock: ManualClock;
let stream: SyntheticStream;
let events: Event[];
let journal: RecordingJournal;

beforeEach(() => {
  tmp = makeTmp();
  clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  stream = new SyntheticStream(clock);
  events = [];
  journal = new RecordingJournal(path.join(tmp, 'journal'));
});
afterEach(() => removeTmp(tmp));

const onFinished = (f: FinishedRecording): void => {
  events.push({ file: path.basename(f.path), frames: framesIn(f.path), ...(f.detection === undefined ? {} : { detection: f.detection }), start: f.start, end: f.end });
};
const common = () => ({ dir: tmp, fps: 12, rotation: 0 as const, clock, logger, journal, onFinished });

/** Runs the stream to `at` ms, then sets detection; `script` is [ms, state] in time order. */
function drive(rec: DetectionRecorder, script: [number, boolean][], endMs: number): void {
  const push = (u: ReturnType<SyntheticStream['next']>): void => rec.push(u, sps);
  for (const [at, state] of script) {
    stream.runUntil(at, push);
    rec.setDetection(state);
  }
  stream.runUntil(endMs, push);
}

const wallOfFrame = (i: number): number => Date.UTC(2026, 0, 1, 12, 0, 0) + frameTime(i);

describe('EdgeRecorder', () => {
  it('records one clip per edge: from the last IDR at or before 3 s before to 3 s after, named after its first frame', async () => {
    const rec = new EdgeRecorder(common());
    drive(rec, [[10_540, true], [20_540, false]], 30_000);
    await rec.close();
    // Edge at 10.54 s: IDRs are at whole seconds, the last at or before 7.54 s is frame 84 (7 s), so
    // the pre-roll is at least 3 s; the clip takes every frame before 13.54 s (frame 162 is at 13.5 s).
    expect(events).toEqual([
      { file: `${detectionBaseName(wallOfFrame(84))}.h264`, frames: range(84, 162), detection: true, start: wallOfFrame(84), end: wallOfFrame(162) },
      { file: `${detectionBaseName(wallOfFrame(204))}.h264`, frames: range(204, 282), detection: false, start: wallOfFrame(204), end: wallOfFrame(282) },
    ]);
    for (const e of events) if ('frames' in e) expect(e.frames.length / 12).toBeGreaterThanOrEqual(6);
    expect(fs.readdirSync(path.join(tmp, 'journal'))).toEqual([]);
  });

  it('holds back an edge closer than 3 s and records it when the hold ends, dated from when it happened', async () => {
    const rec = new EdgeRecorder(common());
    // true at 10.54 s, false 1 s later: the false edge is reported when the hold ends (13.54 s),
    // its clip cut from the ring around 11.54 s (frames from the IDR at 8 s to before 14.54 s).
    drive(rec, [[10_540, true], [11_540, false]], 20_000);
    await rec.close();
    expect(events.map((e) => ('frames' in e ? [e.detection, e.frames[0], e.frames.at(-1)] : e))).toEqual([
      [true, 84, 162],
      [false, 96, 174],
    ]);
    expect(new Set(events.map((e) => ('file' in e ? e.file : ''))).size).toBe(2);
  });

  it('ignores a flicker undone within 3 s of an edge; reported edges alternate', async () => {
    const rec = new EdgeRecorder(common());
    drive(rec, [[10_540, true], [11_040, false], [12_040, true], [20_540, false]], 30_000);
    await rec.close();
    expect(events.map((e) => 'frames' in e && [e.detection, e.frames[0]])).toEqual([[true, 84], [false, 204]]);
  });

  it('starts at the next IDR when the ring holds no IDR that early, and ends a clip early when the camera goes down', async () => {
    const rec = new EdgeRecorder(common());
    // Detection is true 0.54 s after the start: the pre-roll is what there is, from frame 0.
    drive(rec, [[540, true]], 2_040);
    rec.cameraDown();
    stream.runUntil(10_000, (u) => rec.push(u, sps));
    await rec.close();
    expect(events.map((e) => 'frames' in e && [e.detection, e.frames[0], e.frames.at(-1)])).toEqual([[true, 0, 24]]);
  });
});

describe('AllRecorder', () => {
  const all = (extra: Partial<ConstructorParameters<typeof AllRecorder>[0]> = {}): AllRecorder =>
    new AllRecorder({ ...common(), onDetectionEnd: (time) => events.push({ detection: false, time }), ...extra });

  it('writes a first file (pre-roll to 3 s after the edge), then one file until detection has been false for 3 s', async () => {
    const rec = all();
    drive(rec, [[10_540, true], [30_540, false]], 40_000);
    await rec.close();
    // First file: IDR at 7 s up to the first IDR at or after 13.54 s (14 s, frame 168), exclusive.
    // Following file: from there until the first frame at or after 33.54 s (frame 403), exclusive.
    expect(events).toEqual([
      { file: `${detectionBaseName(wallOfFrame(84))}.h264`, frames: range(84, 167), detection: true, start: wallOfFrame(84), end: wallOfFrame(167) },
      { detection: false, time: wallOfFrame(403) },
      { file: `${detectionBaseName(wallOfFrame(168))}.h264`, frames: range(168, 402), start: wallOfFrame(168), end: wallOfFrame(402) },
    ]);
    expect(rec.recording).toBe(false);
  });

  it('carries on in the same file when detection is true again within 3 s', async () => {
    const rec = all();
    drive(rec, [[10_540, true], [20_540, false], [22_540, true], [30_540, false]], 40_000);
    await rec.close();
    expect(events.map((e) => ('frames' in e ? [e.detection ?? null, e.frames[0], e.frames.at(-1)] : 'detection:false'))).toEqual([
      [true, 84, 167],
      'detection:false',
      [null, 168, 402],
    ]);
  });

  it('splits every 15 minutes at the next IDR while detection lasts (test clock)', async () => {
    const rec = all();
    drive(rec, [[10_540, true], [20 * 60_000 + 540, false]], 20 * 60_000 + 5_000);
    await rec.close();
    const files = events.filter((e): e is Extract<Event, { file: string }> => 'file' in e);
    expect(events.map((e) => ('file' in e ? (e.detection === true ? 'first' : 'file') : 'detection:false'))).toEqual(['first', 'file', 'detection:false', 'file']);
    // The split: 15 minutes after the following file began (at 14 s), at an IDR.
    expect(files[1]!.frames[0]).toBe(168);
    expect(files[2]!.frames[0]).toBe(168 + 15 * 60 * 12);
    expect(framesIn(path.join(tmp, files[2]!.file))[0]! % 12).toBe(0);
    // Together the files are the stream without a gap, from the pre-roll to 3 s after the end
    // (the first frame at or after 1203.54 s is 14443).
    expect(files.flatMap((f) => f.frames)).toEqual(range(84, 14442));
  });

  it('starts the next pre-roll after the end of the last recording, never repeating frames', async () => {
    const rec = all();
    drive(rec, [[10_540, true], [12_040, false], [17_540, true], [30_040, false]], 40_000);
    await rec.close();
    const files = events.filter((e): e is Extract<Event, { file: string }> => 'file' in e);
    const frames = files.flatMap((f) => f.frames);
    expect(new Set(frames).size).toBe(frames.length);
    // First detection: first file 7–14 s, following until 3 s after max(false at 12.04 s, its start at 14 s) = 17 s.
    expect(files.map((f) => [f.detection ?? null, f.frames[0], f.frames.at(-1)])).toEqual([
      [true, 84, 167],
      [null, 168, 203],
      // Detection again at 17.54 s: pre-roll from the IDR at 14 s, but not before frame 204 (17 s), the first one not written.
      [true, 204, 251],
      [null, 252, 396],
    ]);
  });

  it('announces the open file on close, as a split', async () => {
    const rec = all();
    drive(rec, [[10_540, true]], 20_040);
    await rec.close();
    expect(events.map((e) => 'frames' in e && [e.detection ?? null, e.frames[0], e.frames.at(-1)])).toEqual([[true, 84, 167], [null, 168, 240]]);
  });
});
