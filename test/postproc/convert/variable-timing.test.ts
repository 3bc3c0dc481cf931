// Real frame timing in the MP4 (an event's `timing`): real x264 files at two rates, with and without B-frames, checked with ffprobe.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TimingRun } from '../../../src/common/events.js';
import { findOnPath } from '../../../src/common/find-on-path.js';
import { variableCompositionOffsets } from '../../../src/common/mp4/video-track.js';
import { PROJECT_ROOT } from '../../../src/common/paths.js';
import { convertFile, formatFps, type ConverterName } from '../../../src/postproc/convert/index.js';
import { averageFps, timingMs } from '../../../src/common/mp4/timing.js';
import { decodeErrors, frameTypes, makeTmp, removeTmp } from '../../helpers/env.js';
import { frameMd5s, streamFacts } from '../../common/mp4/mp4-facts.js';

const FRAMES = 60;
/** 30 frames at 15 fps, then 30 at 7 fps: 2.000 s + 4.286 s. */
const TWO_RATES: TimingRun[] = [[30, 66.667], [30, 142.857]];

let fixtures: string;
/** `ffmpeg -f lavfi -i testsrc=size=160x120:rate=15 -t 4 -c:v libx264 -bf N -g 15 -f h264 x.h264`, made once per run. */
const streams: Record<'plain' | 'bframes', string> = { plain: '', bframes: '' };

beforeAll(() => {
  fixtures = makeTmp('variable-timing-fixtures-');
  for (const [kind, bf] of [['plain', '0'], ['bframes', '2']] as const) {
    const file = path.join(fixtures, `${kind}.h264`);
    const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=15', '-t', '4',
      '-c:v', 'libx264', '-bf', bf, '-g', '15', '-pix_fmt', 'yuv420p', '-f', 'h264', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
    streams[kind] = file;
  }
});
afterAll(() => removeTmp(fixtures));

let tmp: string;
beforeEach(() => {
  tmp = makeTmp('variable-timing-');
});
afterEach(() => removeTmp(tmp));

/** Presentation times (s) of the decoded frames, in presentation order, and the container's duration. */
function presentation(file: string): { pts: number[]; duration: number } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time:format=duration', '-of', 'json', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffprobe failed on ${file}: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { frames: { pts_time: string }[]; format: { duration: string } };
  return { pts: j.frames.map((f) => Number(f.pts_time)).sort((a, b) => a - b), duration: Number(j.format.duration) };
}

function steps(pts: number[]): number[] {
  return pts.slice(1).map((t, i) => t - pts[i]!);
}

describe('builtin converter with timing', () => {
  it('the fixtures are what the tests need: 60 frames each, B-frames only in the second', () => {
    expect(frameTypes(streams.plain).map((f) => f.pict)).not.toContain('B');
    expect(frameTypes(streams.bframes).map((f) => f.pict)).toContain('B');
    expect(frameMd5s(streams.plain)).toHaveLength(FRAMES);
    expect(frameMd5s(streams.bframes)).toHaveLength(FRAMES);
  });

  it.each(['plain', 'bframes'] as const)('%s: lasts the sum of the durations, and the frame times change rate where the runs change', async (kind) => {
    const out = path.join(tmp, 'out.mp4');
    const result = await convertFile('builtin', streams[kind], out, { fps: 9.545, rotation: 0, timing: TWO_RATES });
    expect(result).toEqual({ converter: 'builtin', frames: FRAMES, warnings: [] });
    const { pts, duration } = presentation(out);
    const expected = timingMs(TWO_RATES) / 1000;
    expect(Math.abs(duration - expected) / expected).toBeLessThan(0.01);
    expect(pts).toHaveLength(FRAMES);
    expect(pts[0]).toBe(0);
    const d = steps(pts);
    for (const [i, step] of d.entries()) expect(step, `frame ${i} → ${i + 1}`).toBeCloseTo(i < 30 ? 1 / 15 : 1 / 7, 4);
    expect(decodeErrors(out)).toBe('');
    // Every picture, in the right order: the same pictures the raw stream decodes to.
    expect(frameMd5s(out)).toEqual(frameMd5s(streams[kind]));
    const facts = streamFacts(out);
    expect(facts.frames).toBe(FRAMES);
    expect(Number(facts.avgFrameRate.split('/')[0]) / Number(facts.avgFrameRate.split('/')[1])).toBeCloseTo(FRAMES / expected, 2);
  });

  it('measured durations that are no common rate (14.97 then 6.8 fps) still add up, without drift', async () => {
    const out = path.join(tmp, 'out.mp4');
    const timing: TimingRun[] = [[25, 66.8], [35, 147.059]];
    await convertFile('builtin', streams.bframes, out, { fps: 8, rotation: 0, timing });
    const { pts, duration } = presentation(out);
    expect(duration).toBeCloseTo(timingMs(timing) / 1000, 3);
    // The last frame starts after all durations but its own.
    expect(pts.at(-1)).toBeCloseTo((timingMs(timing) - 147.059) / 1000, 3);
    expect(steps(pts)[10]).toBeCloseTo(0.0668, 4);
    expect(steps(pts)[40]).toBeCloseTo(0.147059, 4);
    expect(frameMd5s(out)).toEqual(frameMd5s(streams.bframes));
  });

  it.each(['plain', 'bframes'] as const)('%s: a constant timing gives exactly the MP4 its frame rate gives', async (kind) => {
    const byFps = path.join(tmp, 'fps.mp4');
    const byTiming = path.join(tmp, 'timing.mp4');
    await convertFile('builtin', streams[kind], byFps, { fps: 15, rotation: 0 });
    await convertFile('builtin', streams[kind], byTiming, { fps: 14.9999, rotation: 0, timing: [[20, 66.667], [40, 66.667]] });
    expect(fs.readFileSync(byTiming).equals(fs.readFileSync(byFps))).toBe(true);
    expect(streamFacts(byTiming).rFrameRate).toBe('15/1');
  });

  it('a file with fewer frames than the timing (cut by a crash): converted, the runs as far as they go, and a warning', async () => {
    const out = path.join(tmp, 'out.mp4');
    const timing: TimingRun[] = [[30, 66.667], [40, 142.857]];
    const result = await convertFile('builtin', streams.plain, out, { fps: 10, rotation: 0, timing });
    expect(result.frames).toBe(FRAMES);
    expect(result.warnings).toEqual(["the event's timing covers 70 frames but the file has 60 access units (cut short?): the durations of the missing ones are left out"]);
    expect(presentation(out).duration).toBeCloseTo((30 * 66.667 + 30 * 142.857) / 1000, 2);
  });

  it('a file with more frames than the timing: the last duration for the rest, and a warning', async () => {
    const out = path.join(tmp, 'out.mp4');
    const result = await convertFile('builtin', streams.bframes, out, { fps: 10, rotation: 0, timing: [[30, 66.667], [20, 142.857]] });
    expect(result.warnings).toEqual(["the event's timing covers 50 frames but the file has 60 access units (cut short?): the last 10 take the last duration, 142.857 ms"]);
    expect(presentation(out).duration).toBeCloseTo((30 * 66.667 + 30 * 142.857) / 1000, 2);
    expect(frameMd5s(out)).toEqual(frameMd5s(streams.bframes));
  });
});

describe('variableCompositionOffsets', () => {
  it('equal durations: exactly the frame offsets times the duration', () => {
    // I P B B (slots 0 3 1 2), one frame of delay: offsets 1 3 0 0 frames.
    const r = variableCompositionOffsets(Uint32Array.from([1, 3, 0, 0]), 1, Uint32Array.from([10, 10, 10, 10]));
    expect([...r.offsets]).toEqual([10, 30, 0, 0]);
    expect(r.editMediaTime).toBe(10);
  });

  it('varying durations: each picture is presented at the decoding time of its slot', () => {
    const deltas = Uint32Array.from([10, 20, 30, 40]);
    const r = variableCompositionOffsets(Uint32Array.from([1, 3, 0, 0]), 1, deltas);
    const dts = [0, 10, 30, 60];
    const slots = [0, 3, 1, 2];
    const presented = dts.map((t, i) => t + r.offsets[i]! - r.editMediaTime);
    expect(presented).toEqual(slots.map((s) => dts[s]));
    expect(Math.min(...r.offsets)).toBe(0);
  });
});

describe('MP4Box and ffmpeg with timing', () => {
  // The GPAC build in shared/tools (Debian Bookworm has no gpac package).
  const mp4boxDir = path.join(PROJECT_ROOT, '..', 'shared', 'tools', 'gpac');
  const env = { ...process.env, PATH: `${mp4boxDir}:${process.env.PATH ?? ''}` };
  const hasMp4box = findOnPath('MP4Box', env) !== undefined;

  async function averaged(converter: ConverterName): Promise<void> {
    const out = path.join(tmp, 'out.mp4');
    const result = await convertFile(converter, streams.plain, out, { fps: 15, rotation: 0, timing: TWO_RATES, env });
    expect(result.warnings).toEqual([expect.stringContaining(`the variable frame timing became its average, ${formatFps(averageFps(TWO_RATES))} fps`)]);
    const expected = timingMs(TWO_RATES) / 1000;
    const { pts, duration } = presentation(out);
    expect(Math.abs(duration - expected) / expected).toBeLessThan(0.01);
    expect(pts).toHaveLength(FRAMES);
  }

  it('ffmpeg gets the average frame rate, so the MP4 lasts the time the file covers, and a warning says so', () => averaged('ffmpeg'));
  it.skipIf(!hasMp4box)('MP4Box gets the average frame rate likewise', () => averaged('mp4box'));

  it('a constant timing gives them its rate and no warning', async () => {
    const out = path.join(tmp, 'out.mp4');
    const result = await convertFile('ffmpeg', streams.plain, out, { fps: 30, rotation: 0, timing: [[60, 66.667]] });
    expect(result.warnings).toEqual([]);
    expect(presentation(out).duration).toBeCloseTo(4, 2);
  });
});
