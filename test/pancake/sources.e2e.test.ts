// The other camera sources: the built-in test card, a looped file, libcamera-vid, and a camera without the annotate stage.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileEvent, PancakeEvent } from '../../src/common/events.js';
import { decodeErrors, FAKE_CAMERA_DIR, makeTmp, probe, run } from '../helpers/env.js';
import { startEventSink } from '../helpers/event-sink.js';
import { startPancake, usePancakeTest } from '../helpers/pancake-process.js';

const isFile = (e: PancakeEvent): e is FileEvent => 'h264' in e;

describe('camera sources', () => {
  const t = usePancakeTest();

  async function recordFor(ms: number, args: string[], env: Record<string, string> = {}): Promise<FileEvent> {
    t.tmp ??= makeTmp();
    const dir = path.join(t.tmp, 'h264');
    fs.mkdirSync(dir, { recursive: true });
    const name = `pancake-src-${path.basename(t.tmp)}`;
    t.sink = await startEventSink(name);
    t.pancake = startPancake(['--record-continuous', dir, '--emit', name, ...args], env);
    await t.pancake.waitForLog('record: writing');
    await new Promise((r) => setTimeout(r, ms));
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
    await recordFor(3000, [], { FAKE_CAMERA_STAGES: '', FAKE_CAMERA_ARGV_FILE: argvFile, FAKE_CAMERA_DIE_AFTER: '1' });
    const warnings = t.pancake!.log().match(/no annotate_cv stage/g) ?? [];
    expect(warnings).toHaveLength(1);
    const runs = fs.readFileSync(argvFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs[0]).toContain('--post-process-file');
    expect(runs.at(-1)).not.toContain('--post-process-file');
  });
});
