// Continuous recording of a real RTSP camera across a clock-aligned split, in process: RtspSource → CameraStream → ContinuousRecorder.
//
// Waiting for a real minute mark would cost up to a minute, so the recorder's clock is the real one
// shifted (wall time = Date.now() + offset, real monotonic time and timers), the offset chosen when
// the first bytes arrive so that a minute mark falls 3.5 s after the first frame. The camera sends a
// keyframe every 4 s, so the split waits past the mark for the next one.
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, type ExpectStatic, type TestContext } from 'vitest';
import { systemClock, type Clock } from '../../src/common/clock.js';
import type { AccessUnit } from '../../src/common/h264/index.js';
import { parseCameraUrl } from '../../src/pancake/camera/rtsp.js';
import { RtspSource } from '../../src/pancake/camera/rtsp-source.js';
import type { CameraSource } from '../../src/pancake/camera/source.js';
import { ContinuousRecorder, type FinishedRecording } from '../../src/pancake/record/continuous.js';
import { RecordingJournal } from '../../src/pancake/record/journal.js';
import { continuousBaseName, nextSegmentMark } from '../../src/pancake/record/naming.js';
import { CameraStream } from '../../src/pancake/stream/camera-stream.js';
import { startsWithSpsPpsIdr } from '../helpers/annexb-facts.js';
import { decodeErrors, makeTmp, probe, removeTmp } from '../helpers/env.js';
import { rtspServerAvailable, startRtspServer, type RtspServerOptions } from '../helpers/rtsp-server.js';
import { captureLogger } from '../postproc/upload/capture-logger.js';

const available = rtspServerAvailable();
if (!available.ok) console.warn(`RTSP split tests skipped: ${available.reason}`);
const live = it.skipIf(!available.ok);

/** The mark falls this long after the first frame; the camera's keyframes are 4 s apart. */
const MARK_AFTER_FIRST_MS = 3500;
const GOP_MS = 4000;
/** Generous: waits end on what arrives; these only bound a broken run. */
const WAIT_MS = 45_000;
const TEST_MS = 90_000;

/** The real clock with its wall time shifted by `offset` (monotonic time and timers stay real). */
class ShiftedClock implements Clock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  monotonic(): number {
    return performance.now();
  }
  setTimeout(fn: () => void, ms: number): ReturnType<Clock['setTimeout']> {
    return systemClock.setTimeout(fn, ms);
  }
}

/** `source` as it is, except that `onFirst` runs just before its first chunk is handed on. */
function beforeFirstChunk(source: RtspSource, onFirst: () => void): CameraSource {
  let first = true;
  return {
    description: source.description,
    firstFrameGraceMs: source.firstFrameGraceMs,
    describeStall: (seconds) => source.describeStall(seconds),
    start(onData, onEnd) {
      source.start((chunk) => {
        if (first) {
          first = false;
          onFirst();
        }
        onData(chunk);
      }, onEnd);
    },
    close: () => source.close(),
  };
}

/** What one recording run produced. */
interface SplitRun {
  mark: number;
  /** Every access unit the stream handed out, in order (copies). */
  units: AccessUnit[];
  files: FinishedRecording[];
  log: string;
}

/** Records `cam` until the second file holds 2 s of stream; the mark is MARK_AFTER_FIRST_MS after the first frame. */
async function recordAcrossMark(options: RtspServerOptions, onTestFinished: TestContext['onTestFinished']): Promise<SplitRun> {
  // Cleaned up per test (they run concurrently), in reverse order of creation.
  const cam = await startRtspServer(options);
  onTestFinished(() => cam.stop());
  const tmp = makeTmp('pancake-rtsp-split-');
  onTestFinished(() => removeTmp(tmp));
  const dir = path.join(tmp, 'h264');
  fs.mkdirSync(dir);
  const { logger, text } = captureLogger();
  const clock = new ShiftedClock();
  let mark = NaN;
  const files: FinishedRecording[] = [];
  const recorder = new ContinuousRecorder({
    dir, segmentMinutes: 1, fps: 15, rotation: 0, clock, logger, journal: new RecordingJournal(path.join(tmp, 'journal')),
    onFinished: (file) => files.push(file),
    onStorage: (state, reason) => {
      throw new Error(`storage ${state}: ${reason}`);
    },
  });
  const units: AccessUnit[] = [];
  let check = (): void => {};
  let down: string | undefined;
  const stream = new CameraStream({
    factory: () => beforeFirstChunk(new RtspSource({ camera: parseCameraUrl(cam.url()), logger, timeoutSeconds: 5 }), () => {
      // Put the wall clock MARK_AFTER_FIRST_MS before a minute mark, as the first frame arrives.
      const real = Date.now();
      mark = nextSegmentMark(real, 1);
      clock.offset = mark - MARK_AFTER_FIRST_MS - real;
    }),
    clock, logger, stallMs: 10_000,
    onDown: (reason) => {
      down = reason;
      check();
    },
    onUp: () => {},
  });
  stream.add(recorder);
  // The collector comes after the recorder, as every consumer gets the same units in the same order.
  stream.add({ push: (unit) => (units.push({ ...unit, data: Buffer.from(unit.data) }), check()) });
  onTestFinished(async () => {
    await stream.close();
    await recorder.close();
  });
  stream.start();

  const splitIndex = (): number => units.findIndex((u) => u.keyframe && u.wallTime >= mark);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no split and 2 s after it within ${WAIT_MS} ms (${units.length} units)\n${text()}`)), WAIT_MS);
    check = () => {
      const i = splitIndex();
      if (down !== undefined) reject(new Error(`camera down: ${down}`));
      else if (i > 0 && units.length - i >= 30) resolve();
      else return;
      clearTimeout(timer);
    };
  });
  await stream.close();
  await recorder.close();
  return { mark, units, files, log: text() };
}

/** The assertions both parameter-set variants share. */
function expectCleanSplit(expect: ExpectStatic, run: SplitRun): void {
  const { mark, units, files } = run;
  const split = units.findIndex((u) => u.keyframe && u.wallTime >= mark);
  const first = units[0]!;
  expect(first.keyframe).toBe(true);
  // The mark was put 3.5 s after the first bytes; the first unit is complete a little later (more on a busy machine).
  expect(mark - first.wallTime).toBeLessThanOrEqual(MARK_AFTER_FIRST_MS);
  expect(mark - first.wallTime).toBeGreaterThan(MARK_AFTER_FIRST_MS - 1000);
  // The split is at the first keyframe at or after the mark: the first file ran past the mark
  // (non-keyframes after it stayed in it), by less than a GOP.
  const late = units[split]!.wallTime - mark;
  expect(late).toBeGreaterThanOrEqual(0);
  expect(late).toBeLessThanOrEqual(GOP_MS + 500);
  expect(units.slice(0, split).some((u) => u.wallTime >= mark)).toBe(true);
  expect(units.slice(1, split).some((u) => u.keyframe)).toBe(false);

  expect(files).toHaveLength(2);
  const [a, b] = files as [FinishedRecording, FinishedRecording];
  expect(path.basename(a.path)).toBe(`${continuousBaseName(first.wallTime)}.h264`);
  expect(path.basename(b.path)).toBe(`${continuousBaseName(mark)}.h264`);
  expect(a.start).toBe(first.wallTime);
  expect(b.start).toBe(units[split]!.wallTime);
  expect(a.end).toBe(units[split - 1]!.wallTime);

  // Each unit in exactly one file: the files laid end to end are the stream, byte for byte.
  const bytesA = fs.readFileSync(a.path);
  const bytesB = fs.readFileSync(b.path);
  expect(bytesA.equals(Buffer.concat(units.slice(0, split).map((u) => u.data)))).toBe(true);
  expect(bytesB.equals(Buffer.concat(units.slice(split).map((u) => u.data)))).toBe(true);
  expect([a.frames, b.frames]).toEqual([split, units.length - split]);
  for (const f of [a, b]) {
    expect(startsWithSpsPpsIdr(f.path), `${f.path} starts with SPS+PPS+IDR`).toBe(true);
    expect(decodeErrors(f.path)).toBe('');
    // Every access unit is a picture the decoder gives back (B-frames included).
    expect(probe(f.path).frames).toBe(f.frames);
  }
}

describe('continuous recording of an RTSP camera across a minute mark (4 s GOP, B-frames, AAC)', () => {
  live.concurrent('SPS/PPS in-band: split at the first keyframe at or after the mark, both files clean, together the stream byte for byte', async ({ expect, onTestFinished }) => {
    const run = await recordAcrossMark({ bframes: true, audio: true, gopSeconds: 4 }, onTestFinished);
    expectCleanSplit(expect, run);
    expect(run.log).not.toContain('does not repeat SPS/PPS');
  }, TEST_MS);

  live.concurrent('SPS/PPS only in the SDP: every file still starts with SPS+PPS+IDR', async ({ expect, onTestFinished }) => {
    const run = await recordAcrossMark({ bframes: true, audio: true, gopSeconds: 4, parameterSets: 'sdp' }, onTestFinished);
    expectCleanSplit(expect, run);
    // The camera really sent none in the stream: the source put the SDP's in front, the stream before the later keyframe.
    expect(run.log).toContain('SPS/PPS only in the SDP; put in front of the stream');
    expect(run.log).toContain('the stream does not repeat SPS/PPS before every keyframe');
  }, TEST_MS);
});
