// The MJPEG camera's rate measurement on a ManualClock: the meter's window and rounding, the probe's log lines, fallback, and the connection it hands to the first run.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/common/clock.js';
import type { JpegFrameSource } from '../../../src/pancake/camera/mjpeg/http-source.js';
import { FrameRateMeter, probeFrameRate, RATE_WINDOW_FRAMES, recordingFps, type RateProbe } from '../../../src/pancake/camera/mjpeg/rate-probe.js';
import { parseHttpCameraUrl } from '../../../src/pancake/camera/mjpeg/url.js';
import type { SourceEnd } from '../../../src/pancake/camera/source.js';
import { captureLogger } from '../../postproc/upload/capture-logger.js';

const jpeg = (n: number): Buffer => Buffer.from([0xff, 0xd8, n & 0xff, 0xff, 0xd9]);

/** Feeds the meter arrivals `intervalMs` apart after a first one at 0; returns the rate and how many it took. */
function measure(intervalMs: number, firstGapMs = intervalMs): { rate: number | undefined; frames: number } {
  const meter = new FrameRateMeter();
  let t = 0;
  let rate = meter.add(t);
  let frames = 1;
  t += firstGapMs;
  while (rate === undefined && frames < 1000) {
    rate = meter.add(t);
    frames++;
    t += intervalMs;
  }
  return { rate, frames };
}

describe('FrameRateMeter', () => {
  it('a 15 fps camera measures 15 after 2 s of frames', () => {
    const { rate, frames } = measure(1000 / 15);
    expect(rate).toBeCloseTo(15, 6);
    // The first JPEG, the second (the window's start) and 2 s = 30 intervals after it.
    expect(frames).toBe(32);
  });

  it('leaves out the first JPEG, which a server sends at once on connect', () => {
    // The second comes 5 ms after the first (it was the server's buffered picture): no effect.
    expect(measure(100, 5).rate).toBeCloseTo(10, 6);
  });

  it('stops after RATE_WINDOW_FRAMES when the camera is fast', () => {
    const { rate, frames } = measure(10);
    expect(rate).toBeCloseTo(100, 6);
    expect(frames).toBe(RATE_WINDOW_FRAMES + 2);
  });

  it('a slow camera (one JPEG every 3 s) is measured from the first interval past the window', () => {
    const { rate, frames } = measure(3000);
    expect(rate).toBeCloseTo(1 / 3, 6);
    expect(frames).toBe(3);
  });

  it('frames of one chunk (same arrival) never divide by zero', () => {
    const meter = new FrameRateMeter();
    for (let i = 0; i < 3; i++) meter.add(500);
    expect(meter.estimate()).toBe(1000);
  });

  it('has no estimate before a third JPEG', () => {
    const meter = new FrameRateMeter();
    expect(meter.estimate()).toBeUndefined();
    meter.add(0);
    meter.add(100);
    expect(meter.estimate()).toBeUndefined();
    meter.add(200);
    expect(meter.estimate()).toBe(10);
  });
});

describe('recordingFps', () => {
  it.each([
    [14.6, 15], [15.4, 15], [29.97, 30], [0.3, 1], [0.5, 1], [1.5, 2], [59.6, 60], [100, 60],
  ])('%s fps measured → %s fps recorded', (measured, fps) => {
    expect(recordingFps(measured)).toBe(fps);
  });
});

/** A camera under test control: JPEGs and an end when the test says. */
class ControlledCamera implements JpegFrameSource {
  readonly description = 'http://cam/';
  onFrame: ((jpeg: Buffer, wallMs: number) => void) | undefined;
  onEnd: ((end: SourceEnd) => void) | undefined;
  closed = false;
  start(onFrame: (jpeg: Buffer, wallMs: number) => void, onEnd: (end: SourceEnd) => void): void {
    this.onFrame = onFrame;
    this.onEnd = onEnd;
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

function probeRig(timeoutMs = 3000) {
  const clock = new ManualClock();
  const { logger, text } = captureLogger();
  const camera = new ControlledCamera();
  let result: RateProbe | undefined;
  void probeFrameRate({ camera: parseHttpCameraUrl('http://viewer:secret@cam/?action=stream'), fallbackFps: 10, timeoutMs, clock, logger, jpegSource: camera })
    .then((r) => (result = r));
  /** Sends JPEGs `intervalMs` apart for `ms`. */
  const send = (intervalMs: number, ms: number, from = 0): number => {
    let n = from;
    for (let t = 0; t < ms; t += intervalMs) {
      camera.onFrame!(jpeg(n++), clock.now());
      clock.advance(intervalMs);
    }
    return n;
  };
  return { clock, camera, text, send, result: async () => {
    await Promise.resolve();
    await Promise.resolve();
    return result;
  } };
}

describe('probeFrameRate', () => {
  it('measures a 15 fps camera, says so in the log, and records at 15', async () => {
    const rig = probeRig();
    rig.send(1000 / 15, 2200);
    const result = await rig.result();
    expect(result).toMatchObject({ fps: 15 });
    expect(result!.measured).toBeCloseTo(15, 1);
    expect(rig.text()).toMatch(/camera: http:\/\/viewer:\*\*\*@cam\/\?action=stream: measured 15 fps; recording at 15 fps \(set --fps to choose\)/);
    expect(rig.text()).not.toContain('secret');
    expect(rig.camera.closed).toBe(false);
  });

  it('hands its open connection, with the newest JPEG, to the first run', async () => {
    const rig = probeRig();
    const next = rig.send(100, 2200);
    const result = (await rig.result())!;
    expect(result.fps).toBe(10);
    // JPEGs keep coming while pancake builds everything else: only the newest is kept.
    rig.camera.onFrame!(jpeg(next), rig.clock.now());
    rig.camera.onFrame!(jpeg(next + 1), rig.clock.now());
    const got: number[] = [];
    const ends: string[] = [];
    result.source!.start((b) => got.push(b[2]!), (e) => ends.push(e.reason));
    expect(got).toEqual([]); // nothing inside start()
    await Promise.resolve();
    expect(got).toEqual([next + 1]);
    rig.camera.onFrame!(jpeg(next + 2), rig.clock.now());
    expect(got).toEqual([next + 1, next + 2]);
    rig.camera.onEnd!({ reason: 'the camera closed the stream after 40 frames' });
    expect(ends).toEqual(['the camera closed the stream after 40 frames']);
    // Long after: taken in time, so it was never closed behind the run's back.
    rig.clock.advance(10_000);
    expect(rig.camera.closed).toBe(false);
    await result.source!.close();
    expect(rig.camera.closed).toBe(true);
  });

  it('closes a connection nobody takes within the timeout; a late run gets that reason', async () => {
    const rig = probeRig(3000);
    rig.send(100, 2200);
    const result = (await rig.result())!;
    rig.clock.advance(3000);
    expect(rig.camera.closed).toBe(true);
    const ends: string[] = [];
    result.source!.start(() => {}, (e) => ends.push(e.reason));
    await Promise.resolve();
    expect(ends).toEqual(['http://cam/: the connection that measured the frame rate was not taken within 3 s']);
  });

  it('a camera that fails: the fallback rate, the reason in the log, nothing handed over', async () => {
    const rig = probeRig();
    rig.camera.onEnd!({ reason: 'http://cam/ refused the connection (ECONNREFUSED): is the camera on?' });
    const result = await rig.result();
    expect(result).toEqual({ fps: 10 });
    expect(rig.camera.closed).toBe(true);
    expect(rig.text()).toMatch(/its frame rate could not be measured \(http:\/\/cam\/ refused the connection \(ECONNREFUSED\): is the camera on\?\); recording at 10 fps \(set --fps to choose\)/);
  });

  it('too few JPEGs by the deadline: the fallback rate', async () => {
    const rig = probeRig(3000);
    rig.camera.onFrame!(jpeg(1), rig.clock.now());
    rig.clock.advance(5000);
    const result = await rig.result();
    expect(result).toEqual({ fps: 10 });
    expect(rig.text()).toMatch(/could not be measured \(it sent too few JPEGs within 5 s\); recording at 10 fps/);
  });

  it('a slow camera at the deadline: measured from what came, rounded up to 1 fps', async () => {
    const rig = probeRig(3000);
    for (let i = 0; i < 3; i++) {
      rig.camera.onFrame!(jpeg(i), rig.clock.now());
      rig.clock.advance(1900);
    }
    // JPEGs at 0, 1.9 and 3.8 s; the window (from 1.9 s) would end with the next, after the deadline at 5 s.
    const result = await rig.result();
    expect(result?.fps).toBe(1);
    expect(result?.measured).toBeCloseTo(1000 / 1900, 3);
  });
});
