// The Detector with its real worker thread (dist/) and the controlled customize fixture: answers, throws, crashes, slowness, frames.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/common/clock.js';
import { PROJECT_ROOT } from '../../../src/common/paths.js';
import type { RgbFrame } from '../../../src/pancake/decode/frame-decoder.js';
import { Detector, type DetectorOptions } from '../../../src/pancake/detect/detector.js';
import { HookError } from '../../../src/pancake/detect/hook.js';
import { DIST, makeTmp, removeTmp } from '../../helpers/env.js';
import { captureLogger } from '../../postproc/upload/capture-logger.js';
import { until } from '../../helpers/until.js';

const FIXTURE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'customize', 'controlled.ts');
const workerUrl = pathToFileURL(path.join(DIST, 'pancake', 'detect', 'worker.js'));

let tmp: string;
let control: string;
let detector: Detector | undefined;
beforeEach(() => {
  tmp = makeTmp();
  control = path.join(tmp, 'control');
  // The worker copies the environment when it starts.
  process.env.DETECT_CONTROL = control;
  process.env.DETECT_FRAMES_LOG = path.join(tmp, 'frames.jsonl');
});
afterEach(async () => {
  await detector?.close();
  detector = undefined;
  removeTmp(tmp);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function make(extra: Partial<DetectorOptions> = {}): { answers: boolean[]; text: () => string } {
  const { logger, text } = captureLogger();
  const answers: boolean[] = [];
  detector = new Detector({ file: FIXTURE, mode: 'no-image', intervalMs: 50, clock: systemClock, logger, workerUrl, restartMs: 100, onDetection: (s) => answers.push(s), ...extra });
  return { answers, text };
}

describe('Detector', () => {
  it('calls detect() every interval and passes its answers on', async () => {
    const { answers } = make();
    await detector!.start();
    await until(() => answers.length >= 3);
    expect(answers.every((a) => a === false)).toBe(true);
    fs.writeFileSync(control, 'true');
    await until(() => answers.at(-1) === true);
    // One call per 50 ms at most (however slow a loaded machine makes them): it goes on calling, and
    // never more often than the interval allows in the time that took.
    const before = answers.length;
    const started = performance.now();
    await until(() => answers.length - before >= 5, 'five more calls');
    await sleep(200);
    const elapsed = performance.now() - started;
    expect(answers.length - before).toBeLessThanOrEqual(Math.floor(elapsed / 50) + 1);
  });

  it('logs a throwing detect() with its stack (lines of the customize file) and counts it as false', async () => {
    const { answers, text } = make();
    fs.writeFileSync(control, 'true');
    await detector!.start();
    await until(() => answers.includes(true));
    fs.writeFileSync(control, 'throw');
    await until(() => answers.at(-1) === false);
    // The stack points at the line of customize file itself (jiti's source maps), not of its translation.
    const line = fs.readFileSync(FIXTURE, 'utf8').split('\n').findIndex((l) => l.includes("throw new Error('detect failed on purpose')")) + 1;
    expect(text()).toMatch(new RegExp(`detect: detect\\(\\) threw; this counts as false: Error: detect failed on purpose\n\\s+at detect \\(.*controlled\\.ts:${line}:\\d+\\)`));
    // Throwing on every call is reported once a minute, not on every call.
    await sleep(300);
    expect(text().match(/threw/g)).toHaveLength(1);
  });

  it('restarts a worker that calls process.exit(), counting the lost answer as false', async () => {
    const { answers, text } = make();
    fs.writeFileSync(control, 'true');
    await detector!.start();
    await until(() => answers.includes(true));
    fs.writeFileSync(control, 'exit');
    await until(() => /worker restarted/.test(text()));
    expect(text()).toMatch(/detect: the detect worker exited with code 7; detection is false until it is back; restarting it in 0\.1 s/);
    const n = answers.length;
    fs.writeFileSync(control, 'true');
    await until(() => answers.length > n + 1 && answers.at(-1) === true);
    expect(answers.slice(0, n)).toContain(false);
  });

  it('logs an uncaught error in the worker with its stack and restarts it', async () => {
    const { answers, text } = make();
    await detector!.start();
    fs.writeFileSync(control, 'crash');
    await until(() => /worker restarted/.test(text()));
    expect(text()).toMatch(/uncaught error in the detect worker: Error: uncaught in the detect worker\n\s+at /);
    const n = answers.length;
    await until(() => answers.length > n + 2);
  });

  it('reports a call still running after 10 intervals, and keeps the main thread free meanwhile', async () => {
    const { answers, text } = make({ intervalMs: 100 });
    fs.writeFileSync(control, 'busy');
    await detector!.start();
    // detect() busy-loops 5 s in its thread; this thread keeps running timers on time.
    const lags: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await sleep(50);
      lags.push(performance.now() - t - 50);
    }
    // (A blocked thread would lag by seconds; a busy shared machine adds some tens of ms.)
    expect(Math.max(...lags)).toBeLessThan(250);
    expect(text()).toMatch(/detect: a call of detect\(\) is still running after 1\.0 s \(10 intervals\)/);
    await until(() => answers.includes(true));
    expect(text()).toMatch(/the slow call returned after 5\.\d s/);
  }, 15_000);

  it('gives detect(frame) the newest frame, never a queue of old ones', async () => {
    let deliver: ((f: RgbFrame) => void) | undefined;
    const { answers } = make({ mode: 'image', intervalMs: 200, frames: (onFrame) => ((deliver = onFrame), { close: () => (deliver = undefined) }) });
    await detector!.start();
    // 40 frames in about 1 s (longer on a busy machine), while detect is called at most every 200 ms.
    const began = performance.now();
    for (let i = 0; i < 40; i++) {
      deliver!({ data: new Uint8Array(4 * 2 * 3).fill(i), width: 4, height: 2, time: 1000 + i });
      await sleep(25);
    }
    await sleep(300);
    const elapsed = performance.now() - began;
    const seen = fs.readFileSync(process.env.DETECT_FRAMES_LOG!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { width: number; bytes: number; time: number });
    expect(seen.length).toBeGreaterThanOrEqual(4);
    // One call per 200 ms that passed (plus the first), however slowly the frames came: never one per frame.
    expect(seen.length).toBeLessThanOrEqual(Math.floor(elapsed / 200) + 1);
    expect(seen.length).toBeLessThan(20);
    expect(seen.every((f) => f.width === 4 && f.bytes === 24)).toBe(true);
    // Each call got the newest frame of its moment: increasing, with frames skipped in between.
    const times = seen.map((f) => f.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(times).size).toBe(times.length);
    expect(times.at(-1)).toBe(1039);
    expect(answers.length).toBe(seen.length);
  });

  it('rejects start() with a one-line problem when the file cannot be used', async () => {
    make({ file: path.join(tmp, 'missing.ts') });
    await expect(detector!.start()).rejects.toThrow(new HookError('no such file'));
    fs.writeFileSync(path.join(tmp, 'exits.ts'), 'process.exit(3);\nexport function detect(): boolean { return true; }\n');
    make({ file: path.join(tmp, 'exits.ts') });
    await expect(detector!.start()).rejects.toThrow(new HookError('the detect worker exited with code 3 while loading'));
  });
});
