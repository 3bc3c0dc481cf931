// The other camera sources: the built-in test card, a looped file (streamed, odd streams), libcamera-vid, a camera without the annotate stage.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileEvent, PancakeEvent } from '../../src/common/events.js';
import { PROJECT_ROOT, TESTCARD_PATH } from '../../src/common/paths.js';
import { decodeErrors, FAKE_CAMERA_DIR, frameTypes, makeTmp, probe, run } from '../helpers/env.js';
import { startEventSink } from '../helpers/event-sink.js';
import { startPancake, usePancakeTest } from '../helpers/pancake-process.js';
import { until } from '../helpers/until.js';

const isFile = (e: PancakeEvent): e is FileEvent => 'h264' in e;
const CONTROLLED = path.join(PROJECT_ROOT, 'test', 'fixtures', 'customize', 'controlled.ts');

/** An Annex B stream without its SPS and PPS NAL units after the first ones (as many IP cameras send). */
function keepParameterSetsOnlyAtStart(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  let seen = 0;
  for (let i = data.indexOf(Buffer.from([0, 0, 1])); i >= 0; i = data.indexOf(Buffer.from([0, 0, 1]), i + 3)) {
    const type = data[i + 3]! & 0x1f;
    if (type !== 7 && type !== 8) continue;
    if (seen++ < 2) continue;
    const start = i > 0 && data[i - 1] === 0 ? i - 1 : i;
    const next = data.indexOf(Buffer.from([0, 0, 1]), i + 3);
    const end = next < 0 ? data.length : next > 0 && data[next - 1] === 0 ? next - 1 : next;
    parts.push(data.subarray(from, start));
    from = end;
  }
  parts.push(data.subarray(from));
  return Buffer.concat(parts);
}

describe('camera sources', () => {
  const t = usePancakeTest();

  /** Records for `ms`, and then until `done()` (what the test needs to have happened), then stops pancake. */
  async function recordFor(ms: number, args: string[], env: Record<string, string> = {}, done?: { what: string; cond: () => boolean }): Promise<FileEvent> {
    t.tmp ??= makeTmp();
    const dir = path.join(t.tmp, 'h264');
    fs.mkdirSync(dir, { recursive: true });
    const name = `pancake-src-${path.basename(t.tmp)}`;
    t.sink = await startEventSink(name);
    t.pancake = startPancake(['--record-continuous', dir, '--emit', name, ...args], env);
    await t.pancake.waitForLog('record: writing');
    await new Promise((r) => setTimeout(r, ms));
    if (done) await until(done.cond, done.what, 20_000, () => t.pancake!.log());
    expect((await t.pancake.stop()).code).toBe(0);
    return (await t.sink.waitFor(isFile)) as FileEvent;
  }

  it('--camera test needs no camera tool at all', async () => {
    const event = await recordFor(1500, ['--camera', 'test'], { PATH: '/nonexistent' });
    expect(event).toMatchObject({ fps: 12, width: 640, height: 480 });
    expect(decodeErrors(event.h264)).toBe('');
    expect(t.pancake!.log()).toContain('built-in test card looped at 12 fps');
  });

  it('--camera file:PATH loops a file at --fps', async () => {
    t.tmp = makeTmp();
    const clip = path.join(t.tmp, 'clip.h264');
    const r = await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=176x144:rate=25:duration=1', '-c:v', 'libx264',
      '-x264-params', 'keyint=5:bframes=0:repeat-headers=1', '-f', 'h264', clip]);
    expect(r.status).toBe(0);
    const event = await recordFor(2500, ['--camera', `file:${clip}`, '--fps', '25']);
    expect(event).toMatchObject({ fps: 25, width: 176, height: 144 });
    // Two and a half seconds of a one-second clip: it looped, and the loop decodes cleanly.
    expect(probe(event.h264).frames).toBeGreaterThan(40);
    expect(decodeErrors(event.h264)).toBe('');
  });

  it('falls back to libcamera-vid when rpicam-vid is not installed', async () => {
    t.tmp = makeTmp();
    const bin = path.join(t.tmp, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(path.join(FAKE_CAMERA_DIR, 'fake-camera.cjs'), path.join(bin, 'fake-camera.cjs'));
    fs.copyFileSync(path.join(FAKE_CAMERA_DIR, 'libcamera-vid'), path.join(bin, 'libcamera-vid'));
    fs.copyFileSync(path.join(FAKE_CAMERA_DIR, 'package.json'), path.join(bin, 'package.json'));
    const event = await recordFor(1000, [], { PATH: `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin` });
    expect(decodeErrors(event.h264)).toBe('');
    expect(t.pancake!.log()).toMatch(/camera: started \S*libcamera-vid -t 0/);
  });

  it('warns once and runs without the overlay when the annotate stage is missing', async () => {
    t.tmp = makeTmp();
    const argvFile = path.join(t.tmp, 'argv.jsonl');
    // Dies every second, so we also see that restarts drop the overlay file.
    const starts = (): number => (fs.existsSync(argvFile) ? fs.readFileSync(argvFile, 'utf8').trim().split('\n').length : 0);
    await recordFor(1000, [], { FAKE_CAMERA_STAGES: '', FAKE_CAMERA_ARGV_FILE: argvFile, FAKE_CAMERA_DIE_AFTER: '1' },
      { what: 'the camera restarted once', cond: () => starts() >= 2 });
    const warnings = t.pancake!.log().match(/no annotate_cv stage/g) ?? [];
    expect(warnings).toHaveLength(1);
    const runs = fs.readFileSync(argvFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs[0]).toContain('--post-process-file');
    expect(runs.at(-1)).not.toContain('--post-process-file');
  });

  it('--camera file: with SPS/PPS only at its start: a detection clip cut from the middle still starts with them and decodes cleanly', async () => {
    t.tmp = makeTmp();
    const made = path.join(t.tmp, 'made.h264');
    const r = await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=176x144:rate=12:duration=10', '-c:v', 'libx264',
      '-x264-params', 'keyint=12:min-keyint=12:scenecut=0:bframes=2:repeat-headers=1', '-f', 'h264', made]);
    expect(r.status).toBe(0);
    const clip = path.join(t.tmp, 'headers-once.h264');
    fs.writeFileSync(clip, keepParameterSetsOnlyAtStart(fs.readFileSync(made)));
    const dir = path.join(t.tmp, 'clips');
    fs.mkdirSync(dir);
    const control = path.join(t.tmp, 'control');
    const name = `pancake-src-${path.basename(t.tmp)}`;
    t.sink = await startEventSink(name);
    t.pancake = startPancake(['--camera', `file:${clip}`, '--fps', '12', '--emit', name, '--detect', 'no-image', '--customize', CONTROLLED,
      '--record-detection', 'edge', dir], { DETECT_CONTROL: control }, t.tmp);
    await t.pancake.waitForLog('camera: frames are flowing');
    // Past the first keyframe of the file, so the clip starts at one the file sent without SPS/PPS.
    await new Promise((res) => setTimeout(res, 5500));
    fs.writeFileSync(control, 'true');
    const event = (await t.sink.waitFor(isFile, 15_000)) as FileEvent;
    expect(fs.readFileSync(event.h264).subarray(0, 5)).toEqual(Buffer.from([0, 0, 0, 1, 0x67]));
    expect(frameTypes(event.h264)[0]).toEqual({ pict: 'I', key: true });
    expect(decodeErrors(event.h264)).toBe('');
    expect(t.pancake.log()).toContain('does not repeat SPS/PPS before every keyframe');
  }, 40_000);

  it('--camera file: with no IDR at all (open GOP, recovery points): recorded from its first recovery point, with SPS/PPS first', async () => {
    const event = await recordFor(2500, ['--camera', `file:${path.join(PROJECT_ROOT, 'test', 'fixtures', 'h264', 'opengop-noidr-160x120.h264')}`, '--fps', '10']);
    expect(event).toMatchObject({ fps: 10, width: 160, height: 120 });
    const bytes = fs.readFileSync(event.h264);
    expect(bytes.subarray(0, 5)).toEqual(Buffer.from([0, 0, 0, 1, 0x67]));
    expect(probe(event.h264).frames).toBeGreaterThanOrEqual(20);
  });

  it('--camera file: streams a large file: memory stays small whatever its size', async () => {
    t.tmp = makeTmp();
    const big = path.join(t.tmp, 'big.h264');
    const card = fs.readFileSync(TESTCARD_PATH);
    const fd = fs.openSync(big, 'w');
    for (let written = 0; written < 300 * 1024 * 1024; written += card.length) fs.writeSync(fd, card);
    fs.closeSync(fd);
    const event = await recordFor(2000, ['--camera', `file:${big}`, '--fps', '12']);
    expect(decodeErrors(event.h264)).toBe('');
    // The peak RSS (VmHWM) of pancake, read just before it stopped, is logged by the helper below.
    const hwm = peakRssMb(t.pancake!.log());
    expect(hwm).toBeGreaterThan(20);
    expect(hwm).toBeLessThan(150);
  });
});

/** The peak memory pancake reports at exit (the `pancake stopped` line carries it). */
function peakRssMb(log: string): number {
  const m = /peak memory (\d+) MB/.exec(log);
  if (!m) throw new Error(`no peak memory in the log:\n${log}`);
  return Number(m[1]);
}
