// Choosing a converter, the MP4Box/ffmpeg argv tables, and the external converters run for real.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/common/cli.js';
import { findOnPath } from '../../../src/common/find-on-path.js';
import { PROJECT_ROOT } from '../../../src/common/paths.js';
import { ConvertError, convertFile, ffmpegArgv, formatFps, mp4boxArgv, resolveConverter } from '../../../src/postproc/convert/index.js';
import { decodeErrors, makeTmp, removeTmp } from '../../helpers/env.js';
import { byName } from '../../common/h264/fixtures.js';
import { frameMd5s, listDir, streamFacts, topLevelBoxes } from '../../common/mp4/mp4-facts.js';

let tmp: string;
beforeEach(() => {
  tmp = makeTmp('convert-tools-');
});
afterEach(() => removeTmp(tmp));

/** A directory holding executables with these names (they only need to exist for PATH lookups). */
function binDir(...names: string[]): string {
  const dir = path.join(tmp, `bin-${names.join('-') || 'empty'}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const n of names) fs.writeFileSync(path.join(dir, n), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return dir;
}

// MP4Box from PATH, else the GPAC build in shared/tools (mp4box.test.ts has the MP4Box converter's own tests).
const mp4boxEnv = { ...process.env, PATH: `${process.env.PATH ?? ''}:${path.join(PROJECT_ROOT, '..', 'shared', 'tools', 'gpac')}` };
const HAS_MP4BOX = findOnPath('MP4Box', mp4boxEnv) !== undefined;

describe('resolveConverter', () => {
  it('auto is MP4Box when it is on PATH, else builtin; builtin needs nothing', () => {
    expect(resolveConverter('auto', { PATH: binDir('MP4Box') })).toBe('mp4box');
    expect(resolveConverter('auto', { PATH: binDir('ffmpeg') })).toBe('builtin');
    expect(resolveConverter('auto', { PATH: '' })).toBe('builtin');
    expect(resolveConverter('builtin', { PATH: '' })).toBe('builtin');
    expect(resolveConverter('ffmpeg', { PATH: `${binDir()}:${binDir('ffmpeg')}` })).toBe('ffmpeg');
  });

  it.each([
    ['mp4box', '--converter: MP4Box not found on PATH (install gpac, or use --converter builtin)'],
    ['ffmpeg', '--converter: ffmpeg not found on PATH (apt-get install ffmpeg, or use --converter builtin)'],
  ] as const)('asking for %s when it is missing is a usage error with exit code 3', (choice, message) => {
    let err: unknown;
    try {
      resolveConverter(choice, { PATH: binDir('something-else') });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toBe(message);
    expect((err as UsageError).exitCode).toBe(3);
  });

  it('a non-executable file of that name does not count', () => {
    const dir = binDir();
    fs.writeFileSync(path.join(dir, 'MP4Box'), 'not a program', { mode: 0o644 });
    expect(resolveConverter('auto', { PATH: dir })).toBe('builtin');
  });
});

describe('argv builders', () => {
  it.each([
    [30, '30'],
    [7.5, '7.5'],
    [29.97, '29.97'],
    [30000 / 1001, '29.97003'],
    [1e-7 + 12, '12'],
  ])('formatFps(%s) = %s', (fps, text) => {
    expect(formatFps(fps)).toBe(text);
  });

  it.each([
    ['/r/h264/20260101-1200.h264', '/r/mp4/.x.tmp.mp4', 30, '/r/mp4/.mp4box-a', ['-tmp', '/r/mp4/.mp4box-a', '-add', '/r/h264/20260101-1200.h264:fps=30', '-new', '/r/mp4/.x.tmp.mp4']],
    ['in.h264', 'out.mp4', 7.5, 't', ['-tmp', 't', '-add', 'in.h264:fps=7.5', '-new', 'out.mp4']],
    ['a b.h264', 'c d.mp4', 12, 't d', ['-tmp', 't d', '-add', 'a b.h264:fps=12', '-new', 'c d.mp4']],
  ])('mp4boxArgv(%s, %s, %s)', (input, output, fps, dir, argv) => {
    expect(mp4boxArgv(input, output, fps, dir)).toEqual(argv);
  });

  it.each([
    ['in.h264', 'out.mp4', 30, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-framerate', '30', '-r', '30', '-f', 'h264', '-i', 'in.h264', '-map', '0:v:0', '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', 'out.mp4']],
    ['/x/a b.h264', '/y/.o.tmp.mp4', 12.5, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-framerate', '12.5', '-r', '12.5', '-f', 'h264', '-i', '/x/a b.h264', '-map', '0:v:0', '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', '/y/.o.tmp.mp4']],
  ])('ffmpegArgv(%s, %s, %s)', (input, output, fps, argv) => {
    expect(ffmpegArgv(input, output, fps)).toEqual(argv);
  });
});

describe('ffmpeg converter', () => {
  it('converts the test card: every frame, exact duration, moov first, rotation 90 as a clockwise matrix', async () => {
    const f = byName('testcard.h264');
    const output = path.join(tmp, 'card.mp4');
    const result = await convertFile('ffmpeg', f.file, output, { fps: 12, rotation: 90 });
    expect(result).toEqual({ converter: 'ffmpeg', warnings: [] });
    const facts = streamFacts(output);
    expect(facts.frames).toBe(288);
    expect(facts.duration).toBeCloseTo(24, 6);
    expect(facts.rFrameRate).toBe('12/1');
    expect(facts.rotation).toBe(-90);
    expect(decodeErrors(output)).toBe('');
    expect(topLevelBoxes(output).map((b) => b.type).indexOf('moov')).toBeLessThan(topLevelBoxes(output).map((b) => b.type).indexOf('mdat'));
    // Same pictures as the built-in converter's file with the same rotation.
    const ours = path.join(tmp, 'ours.mp4');
    await convertFile('builtin', f.file, ours, { fps: 12, rotation: 90 });
    expect(frameMd5s(output)).toEqual(frameMd5s(ours));
    expect(listDir(tmp)).toEqual(['card.mp4', 'ours.mp4']);
  });

  it('times the frames at the fps given even when the stream\'s SPS says another rate (the test card\'s VUI says 12)', async () => {
    const output = path.join(tmp, 'card.mp4');
    await convertFile('ffmpeg', byName('testcard.h264').file, output, { fps: 10, rotation: 0 });
    const facts = streamFacts(output);
    expect(facts.rFrameRate).toBe('10/1');
    // ffmpeg's copy shortens the last frame a little; the rate is what matters (12 fps would be 24 s).
    expect(Math.abs(facts.duration - 28.8)).toBeLessThan(0.1);
  });

  it('a failure is a ConvertError with the command line, exit code and ffmpeg\'s last stderr lines; nothing is left', async () => {
    const input = path.join(tmp, 'garbage.h264');
    fs.writeFileSync(input, Buffer.alloc(5000, 0x42));
    const err = await convertFile('ffmpeg', input, path.join(tmp, 'out.mp4'), { fps: 10, rotation: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConvertError);
    const { output, message } = err as ConvertError;
    expect(message).toMatch(/^ffmpeg failed \(exit code \d+\)/);
    expect(output.split('\n')[0]).toMatch(/^ffmpeg -hide_banner .* -i .*garbage\.h264 .* -f mp4 .*\.tmp\.mp4$/);
    expect(output.split('\n')[1]).toMatch(/^exit code [1-9]/);
    expect(output.split('\n').length).toBeGreaterThan(2);
    expect(listDir(tmp)).toEqual(['garbage.h264']);
  });

  it('ffmpeg missing at run time: ConvertError saying so', async () => {
    const err = await convertFile('ffmpeg', byName('one-frame-160x120.h264').file, path.join(tmp, 'out.mp4'), { fps: 10, rotation: 0, env: { PATH: binDir() } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConvertError);
    expect((err as Error).message).toBe('ffmpeg not found on PATH');
    expect(listDir(tmp)).toEqual(['bin-empty']);
  });

  it('an abort kills ffmpeg and leaves nothing behind', async () => {
    // A stand-in ffmpeg that hangs, so the abort surely comes while it runs.
    const dir = binDir();
    fs.writeFileSync(path.join(dir, 'ffmpeg'), '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
    const controller = new AbortController();
    const started = Date.now();
    const pending = convertFile('ffmpeg', byName('one-frame-160x120.h264').file, path.join(tmp, 'out.mp4'), { fps: 10, rotation: 0, signal: controller.signal, env: { PATH: `${dir}:${process.env.PATH}` } });
    setTimeout(() => controller.abort(new Error('stop')), 200);
    await expect(pending).rejects.toThrow('stop');
    // The stand-in sleeps 30 s: ending well before that means it was killed, not waited for.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(listDir(tmp)).toEqual(['bin-empty']);
  });
});

describe('MP4Box converter', () => {
  it.skipIf(!HAS_MP4BOX)('converts the test card: every frame, exact duration, rotation 270', async () => {
    const output = path.join(tmp, 'card.mp4');
    await convertFile('mp4box', byName('testcard.h264').file, output, { fps: 12, rotation: 270, env: mp4boxEnv });
    const facts = streamFacts(output);
    expect(facts.frames).toBe(288);
    expect(facts.duration).toBeCloseTo(24, 3);
    expect(facts.rotation).toBe(90);
    expect(decodeErrors(output)).toBe('');
    expect(listDir(tmp)).toEqual(['card.mp4']);
  });

  it.skipIf(!HAS_MP4BOX)('a failure is a ConvertError and leaves nothing behind', async () => {
    const input = path.join(tmp, 'garbage.h264');
    fs.writeFileSync(input, Buffer.alloc(5000, 0x42));
    await expect(convertFile('mp4box', input, path.join(tmp, 'out.mp4'), { fps: 10, rotation: 0, env: mp4boxEnv })).rejects.toBeInstanceOf(ConvertError);
    expect(listDir(tmp)).toEqual(['garbage.h264']);
  });
});
