// pancake --detect end to end with the fake camera and a detect() the test controls through a file.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileEvent, PancakeEvent } from '../../src/common/events.js';
import { PROJECT_ROOT } from '../../src/common/paths.js';
import { detectionBaseName } from '../../src/pancake/record/naming.js';
import { decodeErrors, frameTypes, makeTmp, probe, removeTmp } from '../helpers/env.js';
import { startEventSink } from '../helpers/event-sink.js';
import { startPancake, usePancakeTest } from '../helpers/pancake-process.js';
import { QUARTER_HOUR_MS } from '../helpers/split-marks.js';

const CONTROLLED = path.join(PROJECT_ROOT, 'test', 'fixtures', 'customize', 'controlled.ts');
const isFile = (e: PancakeEvent): e is FileEvent => 'h264' in e;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** An event reduced to what the original's format says: which fields, and the detection value. */
function kind(e: PancakeEvent): string {
  if (isFile(e)) return e.detection === undefined ? 'h264' : `h264+detection:${e.detection}`;
  if ('detection' in e) return `detection:${e.detection}`;
  if ('camera' in e) return `camera:${e.camera}`;
  return 'other';
}

describe('pancake --detect with the fake camera', () => {
  const t = usePancakeTest();

  async function setup(args: string[], env: Record<string, string> = {}): Promise<{ dir: string; control: string; set: (s: string) => number }> {
    t.tmp = makeTmp();
    const dir = path.join(t.tmp, 'h264');
    fs.mkdirSync(dir);
    const control = path.join(t.tmp, 'control');
    const name = `pancake-detect-${path.basename(t.tmp)}`;
    t.sink = await startEventSink(name);
    t.pancake = startPancake(['--resolution', '640', '480', '--emit', name, '--customize', CONTROLLED, ...args.map((a) => (a === 'DIR' ? dir : a))],
      { DETECT_CONTROL: control, ...env }, t.tmp);
    await t.pancake.waitForLog('camera: frames are flowing');
    return { dir, control, set: (s) => (fs.writeFileSync(control, s), Date.now()) };
  }

  it('edge: one 6–7 s clip per edge, named after its first frame, starting at an IDR and decoding cleanly', async () => {
    const { dir, set } = await setup(['--detect', 'no-image', '--record-detection', 'edge', 'DIR', '--port', '0']);
    await sleep(4000); // the ring fills with pre-roll
    const rise = set('true');
    const first = (await t.sink!.waitFor(isFile, 8000)) as FileEvent;
    const fall = set('false');
    await t.sink!.waitFor((e) => isFile(e) && e.detection === false, 8000);
    const stopped = await t.pancake!.stop('SIGTERM');
    expect(stopped.code).toBe(0);

    expect(t.sink!.events.map(kind)).toEqual(['h264+detection:true', 'h264+detection:false']);
    const files = t.sink!.events.filter(isFile);
    for (const [event, edge] of [[files[0]!, rise], [files[1]!, fall]] as const) {
      expect(event).toMatchObject({ fps: 12, width: 640, height: 480, rotation: 0 });
      expect(path.dirname(event.h264)).toBe(dir);
      expect(path.basename(event.h264)).toBe(`${detectionBaseName(Date.parse(event.start))}.h264`);
      const seconds = probe(event.h264).frames / 12;
      expect(seconds).toBeGreaterThanOrEqual(5.9);
      expect(seconds).toBeLessThanOrEqual(7.2);
      // At least 3 s before the edge (from the keyframe at or before edge − 3 s: 3–4 s), 3 s after.
      expect(edge - Date.parse(event.start)).toBeGreaterThan(2900);
      expect(edge - Date.parse(event.start)).toBeLessThan(4300);
      expect(Date.parse(event.end) - edge).toBeGreaterThan(2500);
      expect(Date.parse(event.end) - edge).toBeLessThan(3500);
      expect(frameTypes(event.h264)[0]).toEqual({ pict: 'I', key: true });
      expect(fs.readFileSync(event.h264).subarray(0, 5)).toEqual(Buffer.from([0, 0, 0, 1, 0x67]));
      expect(decodeErrors(event.h264)).toBe('');
    }
    expect(first.h264).toBe(files[0]!.h264);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.h264')).sort()).toEqual(files.map((f) => path.basename(f.h264)).sort());
  }, 40_000);

  it('all: a first file with pre-roll, one more file until 3 s after detection ends, and the original events', async () => {
    const began = Date.now();
    const { dir, set } = await setup(['--detect', 'no-image', '--record-detection', 'all', 'DIR', '--record-continuous', 'DIR', '--port', '0']);
    await sleep(4000);
    const rise = set('true');
    await t.sink!.waitFor((e) => isFile(e) && e.detection === true, 8000);
    await sleep(1500);
    const fall = set('false');
    await t.sink!.waitFor((e) => 'detection' in e && !isFile(e), 8000);
    await t.sink!.waitFor((e) => isFile(e) && e.detection === undefined && path.basename(e.h264).length === 'YYYYMMDD-hhmmss.h264'.length, 5000);
    expect(t.pancake!.log()).toContain('detect: detection ended; recording stopped');
    await t.pancake!.stop('SIGTERM');

    // The continuous file (YYYYMMDD-hhmm.h264) shares the directory and is announced at the stop.
    const detection = t.sink!.events.filter((e) => !(isFile(e) && path.basename(e.h264).length === 'YYYYMMDD-hhmm.h264'.length));
    expect(detection.map(kind)).toEqual(['h264+detection:true', 'detection:false', 'h264']);
    const [firstFile, , lastFile] = detection as [FileEvent, PancakeEvent, FileEvent];
    // Pre-roll: the first file starts 3–4 s before detection turned true (the keyframe at or before 3 s before); it ends about 3 s after.
    expect(rise - Date.parse(firstFile.start)).toBeGreaterThan(2900);
    expect(rise - Date.parse(firstFile.start)).toBeLessThan(4300);
    // The next file follows without a gap and ends 3 s after detection turned false (post-roll).
    expect(Date.parse(lastFile.start) - Date.parse(firstFile.end)).toBeLessThan(200);
    expect(Date.parse(lastFile.end) - fall).toBeGreaterThan(2500);
    expect(Date.parse(lastFile.end) - fall).toBeLessThan(3600);
    for (const f of [firstFile, lastFile]) {
      expect(path.basename(f.h264)).toMatch(/^\d{8}-\d{6}\.h264$/);
      expect(frameTypes(f.h264)[0]!.key).toBe(true);
      expect(decodeErrors(f.h264)).toBe('');
    }
    // One continuous file, or one more for each 00/15/30/45 mark the test ran across (it splits there).
    const marks = Math.floor(Date.now() / QUARTER_HOUR_MS) - Math.floor(began / QUARTER_HOUR_MS);
    const continuous = fs.readdirSync(dir).filter((f) => /^\d{8}-\d{4}\.h264$/.test(f));
    expect(continuous.length).toBeGreaterThanOrEqual(1);
    expect(continuous.length).toBeLessThanOrEqual(1 + marks);
  }, 40_000);

  it('monitor: without --record-detection, {"detection": …} per edge; a throwing detect counts as false, a dead worker is restarted', async () => {
    const { set } = await setup(['--detect', 'no-image', '--port', '0']);
    set('true');
    await t.sink!.waitFor((e) => 'detection' in e && e.detection === true, 5000);
    set('throw');
    await t.sink!.waitFor((e) => 'detection' in e && e.detection === false, 6000);
    expect(t.pancake!.log()).toMatch(/detect: detect\(\) threw; this counts as false[^\n]*: Error: detect failed on purpose\n\s+at detect \(.*controlled\.ts:\d+:\d+\)/);
    await sleep(3000); // past the hold after the edge
    set('exit');
    await t.pancake!.waitForLog('detect: worker restarted', 8000);
    expect(t.pancake!.log()).toContain('detect: the detect worker exited with code 7');
    set('true');
    await t.sink!.waitFor((e) => 'detection' in e && e.detection === true && t.sink!.events.filter((x) => 'detection' in x).length === 3, 6000);
    // The edges only: on a very busy machine the camera may also be reported down and up (not this test's subject).
    expect(t.sink!.events.filter((e) => 'detection' in e).map(kind)).toEqual(['detection:true', 'detection:false', 'detection:true']);
    expect(t.sink!.events.every((e) => !isFile(e))).toBe(true);
  }, 40_000);

  it('a detect() busy-looping 5 s delays neither recording nor events', async () => {
    // The camera dies 2.5 s after it started, while the first call of detect() is still busy.
    t.tmp = makeTmp();
    const dir = path.join(t.tmp, 'h264');
    fs.mkdirSync(dir);
    const control = path.join(t.tmp, 'control');
    fs.writeFileSync(control, 'busy');
    const name = `pancake-busy-${path.basename(t.tmp)}`;
    t.sink = await startEventSink(name);
    t.pancake = startPancake(['--resolution', '640', '480', '--emit', name, '--customize', CONTROLLED, '--detect', 'no-image',
      '--record-detection', 'edge', dir, '--record-continuous', dir, '--port', '0'], { DETECT_CONTROL: control, FAKE_CAMERA_DIE_AFTER: '2.5' }, t.tmp);
    const down = await t.sink.waitFor((e) => 'camera' in e && e.camera === 'down', 10_000);
    const downAt = Date.now();
    const continuous = await t.sink.waitFor(isFile, 3000) as FileEvent;
    // detect() is still looping (it writes "true" when it returns, 5 s after it began).
    expect(fs.readFileSync(control, 'utf8')).toBe('busy');
    await t.pancake.waitForLog(/detect: a call of detect\(\) is still running/);
    // The event went out when the camera died, not when detect() returned.
    expect(downAt - Date.parse((down as { time: string }).time)).toBeLessThan(500);
    // Every frame of the camera's 2.5 s reached the file, with steady timing.
    const seconds = (Date.parse(continuous.end) - Date.parse(continuous.start)) / 1000;
    expect(seconds).toBeGreaterThan(1.5);
    expect(Math.abs(probe(continuous.h264).frames - (seconds * 12 + 1))).toBeLessThanOrEqual(2);
    expect(decodeErrors(continuous.h264)).toBe('');
    // When detect() returns true, detection recording works as usual.
    const clip = (await t.sink.waitFor((e) => isFile(e) && e.detection === true, 12_000)) as FileEvent;
    expect(decodeErrors(clip.h264)).toBe('');
    expect(t.pancake.log()).toMatch(/the slow call returned after [45]\.\d s/);
  }, 40_000);

  it('image: detect(frame) gets --detect-resize RGB frames; keyframes only at a 1 s interval, any frame at shorter ones', async () => {
    const frames = path.join(makeTmp(), 'frames.jsonl');
    const run = async (interval: string): Promise<{ width: number; height: number; bytes: number; time: number }[]> => {
      fs.rmSync(frames, { force: true });
      await setup(['--detect', 'image', '--detect-resize', '32', '24', '--detect-interval', interval, '--port', '0'], { DETECT_FRAMES_LOG: frames });
      await sleep(3500);
      await t.pancake!.stop('SIGTERM');
      await t.sink!.close();
      removeTmp(t.tmp);
      return fs.readFileSync(frames, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { width: number; height: number; bytes: number; time: number });
    };
    const everySecond = await run('1');
    expect(everySecond.length).toBeGreaterThanOrEqual(2);
    expect(everySecond.every((f) => f.width === 32 && f.height === 24 && f.bytes === 32 * 24 * 3)).toBe(true);
    // IDRs come once a second: consecutive keyframes are a whole number of seconds apart.
    for (let i = 1; i < everySecond.length; i++) {
      const gap = everySecond[i]!.time - everySecond[i - 1]!.time;
      expect(Math.abs(gap / 1000 - Math.round(gap / 1000))).toBeLessThan(0.15);
    }
    const often = await run('0.2');
    expect(often.length).toBeGreaterThanOrEqual(8);
    const gaps = often.slice(1).map((f, i) => f.time - often[i]!.time);
    expect(gaps.some((g) => g < 700)).toBe(true);
    removeTmp(path.dirname(frames));
  }, 40_000);
});
