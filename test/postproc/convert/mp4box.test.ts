// The MP4Box converter (--converter mp4box, and auto when MP4Box is on PATH) run for real with the GPAC build in shared/tools: frames, duration, rotation, B-frames, the event's fps, failures.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findOnPath } from '../../../src/common/find-on-path.js';
import { PROJECT_ROOT } from '../../../src/common/paths.js';
import { ConvertError, convertFile, resolveConverter } from '../../../src/postproc/convert/index.js';
import { decodeErrors, makeTmp, removeTmp } from '../../helpers/env.js';
import { until } from '../../helpers/until.js';
import { byName } from '../../common/h264/fixtures.js';
import { frameMd5s, listDir, streamFacts } from '../../common/mp4/mp4-facts.js';

// Debian bookworm has no gpac package: the static GPAC build beside the project (see its README), put on PATH.
const GPAC_DIR = path.join(PROJECT_ROOT, '..', 'shared', 'tools', 'gpac');
const env = { ...process.env, PATH: `${GPAC_DIR}:${process.env.PATH ?? ''}` };
const HAS_MP4BOX = findOnPath('MP4Box', env) !== undefined;
const SKIPPED = HAS_MP4BOX ? '' : ` (skipped: MP4Box is neither on PATH nor at ${GPAC_DIR})`;

let tmp: string;
beforeEach(() => {
  tmp = makeTmp('convert-mp4box-');
});
afterEach(() => removeTmp(tmp));

const out = (name = 'out.mp4') => path.join(tmp, name);

describe(`MP4Box converter${SKIPPED}`, () => {
  it.skipIf(!HAS_MP4BOX)('auto picks MP4Box when it is on PATH, and converts the test card: every frame, exactly 24 s at 12 fps, pictures identical to the raw stream', async () => {
    const converter = resolveConverter('auto', env);
    expect(converter).toBe('mp4box');
    const card = byName('testcard.h264');
    const result = await convertFile(converter, card.file, out(), { fps: 12, rotation: 0, env });
    expect(result).toEqual({ converter: 'mp4box', warnings: [] });
    const facts = streamFacts(out());
    expect(facts.frames).toBe(288);
    expect(facts.duration).toBeCloseTo(24, 6);
    expect([facts.rFrameRate, facts.avgFrameRate]).toEqual(['12/1', '12/1']);
    expect(facts.rotation).toBeUndefined();
    expect(decodeErrors(out())).toBe('');
    expect(frameMd5s(out())).toEqual(frameMd5s(card.file));
    // MP4Box's own temporary directory is gone too.
    expect(listDir(tmp)).toEqual(['out.mp4']);
  });

  it.skipIf(!HAS_MP4BOX)('B-frames: every picture in presentation order, the duration exact', async () => {
    const f = byName('high-bframes-160x120.h264');
    await convertFile('mp4box', f.file, out(), { fps: 10, rotation: 0, env });
    const facts = streamFacts(out());
    expect(facts.frames).toBe(30);
    expect(facts.duration).toBeCloseTo(3, 6);
    expect(frameMd5s(out())).toEqual(frameMd5s(f.file));
  });

  it.skipIf(!HAS_MP4BOX).each([
    [7.5, '15/2', 4],
    [29.97, '2997/100', 30 / 29.97],
    [30, '30/1', 1],
  ])('the event\'s fps %s: r_frame_rate %s, the track %s s for 30 frames', async (fps, rate, seconds) => {
    await convertFile('mp4box', byName('baseline-160x120.h264').file, out(), { fps, rotation: 0, env });
    const facts = streamFacts(out());
    expect(facts.frames).toBe(30);
    expect(facts.rFrameRate).toBe(rate);
    expect(facts.streamDuration).toBeCloseTo(seconds, 6);
    // MP4Box keeps the movie header at timescale 600: there the duration is rounded to 1/600 s.
    expect(Math.abs(facts.duration - seconds)).toBeLessThanOrEqual(1 / 600);
  });

  it.skipIf(!HAS_MP4BOX).each([
    [90, -90],
    [180, -180],
    [270, 90],
  ] as const)('rotation %s: display matrix %s, the same pictures as the builtin converter with that rotation', async (rotation, sideData) => {
    const f = byName('main-162x122.h264');
    await convertFile('mp4box', f.file, out(), { fps: 10, rotation, env });
    await convertFile('builtin', f.file, out('builtin.mp4'), { fps: 10, rotation });
    expect(streamFacts(out()).rotation).toBe(sideData);
    expect(frameMd5s(out())).toEqual(frameMd5s(out('builtin.mp4')));
    expect(frameMd5s(out())).not.toEqual(frameMd5s(f.file));
  });

  it.skipIf(!HAS_MP4BOX)('a stream MP4Box cannot import: ConvertError with the command line, exit code and MP4Box\'s own last line (no colour codes); nothing is left', async () => {
    const input = path.join(tmp, 'garbage.h264');
    fs.writeFileSync(input, Buffer.alloc(5000, 0x42));
    const err = await convertFile('mp4box', input, out(), { fps: 10, rotation: 0, env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConvertError);
    const { message, output } = err as ConvertError;
    expect(message).toMatch(/^MP4Box failed \(exit code [1-9]\d*\): .*garbage\.h264:fps=10/);
    const lines = output.split('\n');
    expect(lines[0]).toMatch(/^MP4Box -tmp \S+\/\.mp4box-\S+ -add \S+\/garbage\.h264:fps=10 -new \S+\.tmp\.mp4$/);
    expect(lines[1]).toMatch(/^exit code [1-9]/);
    expect(output).not.toContain('\x1b');
    expect(listDir(tmp)).toEqual(['garbage.h264']);
  });

  it('MP4Box missing at run time: ConvertError saying so, nothing written', async () => {
    const empty = path.join(tmp, 'bin');
    fs.mkdirSync(empty);
    const err = await convertFile('mp4box', byName('one-frame-160x120.h264').file, out(), { fps: 10, rotation: 0, env: { PATH: empty } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConvertError);
    expect((err as Error).message).toBe('MP4Box not found on PATH');
    expect(listDir(tmp)).toEqual(['bin']);
  });

  it('an abort kills MP4Box and removes its temporary directory and the partial output', async () => {
    // A stand-in that hangs, so that the abort surely comes while it runs.
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'MP4Box'), '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
    const controller = new AbortController();
    const reason = new Error('shutting down');
    const pending = convertFile('mp4box', byName('one-frame-160x120.h264').file, out(), { fps: 10, rotation: 0, signal: controller.signal, env: { PATH: `${bin}:${process.env.PATH ?? ''}` } });
    // MP4Box's temporary directory is made just before it starts: abort once it is there.
    await until(() => listDir(tmp).some((n) => n.startsWith('.mp4box-')), 'the MP4Box temporary directory');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(listDir(tmp)).toEqual(['bin']);
  });
});
