// Fragmented MP4 from access units, checked with real ffprobe/ffmpeg (and MP4Box when built): frames, exact durations, order, rotation.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Rotation } from '../../../src/common/events.js';
import { AnnexBParser, type AccessUnit } from '../../../src/common/h264/annexb.js';
import { fragmentHead } from '../../../src/common/mp4/fragmented.js';
import { Fragmenter } from '../../../src/common/mp4/fragmenter.js';
import { frameRate, timebase } from '../../../src/common/mp4/timing.js';
import { PROJECT_ROOT } from '../../../src/common/paths.js';
import { decodeErrors, makeTmp, removeTmp } from '../../helpers/env.js';
import { ALL_STREAMS, byName, FIXTURE_DIR } from '../h264/fixtures.js';
import { frameMd5s, streamFacts, topLevelBoxes } from './mp4-facts.js';

let tmp: string;
beforeEach(() => {
  tmp = makeTmp('fragmenter-test-');
});
afterEach(() => removeTmp(tmp));

function accessUnits(file: string): AccessUnit[] {
  const parser = new AnnexBParser();
  return [...parser.push(fs.readFileSync(file), 0, 0), ...parser.end()];
}

interface FragmentRun {
  /** One fragment per access unit instead of one per GOP. */
  perUnit?: boolean;
  rotation?: Rotation;
  timescale?: number;
  /** The duration of access unit `i` (counted across all files). */
  durationMs: (i: number) => number;
}

/** Streams the files as one fragmented MP4 into `out`, as a clip across files would be served. */
function fragmentFiles(files: string[], out: string, run: FragmentRun): { fragmenter: Fragmenter; keyframes: number } {
  const fragmenter = new Fragmenter({ rotation: run.rotation ?? 0, timescale: run.timescale });
  const parts: Buffer[] = [];
  let index = 0;
  let keyframes = 0;
  const flush = () => {
    const fragment = fragmenter.fragment();
    if (fragment) parts.push(fragment);
  };
  for (const file of files) {
    for (const au of accessUnits(file)) {
      if (au.keyframe) {
        keyframes++;
        if (!run.perUnit) flush();
      }
      fragmenter.add(au, run.durationMs(index++));
      if (run.perUnit) flush();
    }
  }
  flush();
  fs.writeFileSync(out, Buffer.concat([fragmenter.initSegment!, ...parts]));
  return { fragmenter, keyframes };
}

/** What ffprobe says with -count_frames: frames counted by decoding, codec and size (a fragmented track has no nb_frames). */
function ffprobeStream(file: string): Record<string, string | number> {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=nb_frames,nb_read_frames,codec_name,width,height', '-of', 'json', file], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return (JSON.parse(r.stdout) as { streams: Record<string, string | number>[] }).streams[0]!;
}

/** MD5 of every decoded picture in presentation order, each picture once whatever its duration. */
function pictureMd5s(file: string): string[] {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-i', file, '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'framemd5', '-'], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim());
}

const MP4BOX = path.join(PROJECT_ROOT, '..', 'shared', 'tools', 'gpac', 'MP4Box');
const hasMp4Box = fs.existsSync(MP4BOX);
if (!hasMp4Box) console.warn(`MP4Box checks skipped: ${MP4BOX} not found`);

/** MP4Box's account of the fragmented track: sample count and media duration in seconds. */
function mp4boxInfo(file: string): { samples: number; seconds: number } {
  const r = spawnSync(MP4BOX, ['-info', file], { encoding: 'utf8', env: { ...process.env, HOME: tmp } });
  expect(r.status).toBe(0);
  const m = /Fragmented track: (\d+) samples - Media Duration (\d+):(\d+):([\d.]+)/.exec(r.stdout + r.stderr);
  expect(m).not.toBeNull();
  return { samples: Number(m![1]), seconds: Number(m![2]) * 3600 + Number(m![3]) * 60 + Number(m![4]) };
}

describe('Fragmenter', () => {
  it.each(ALL_STREAMS.map((f) => [f.name, f] as const))('%s, one fragment per GOP: every frame, exact duration, decodes silently, pictures identical to the raw stream', (_, f) => {
    const out = path.join(tmp, 'out.mp4');
    const { fragmenter, keyframes } = fragmentFiles([f.file], out, { durationMs: () => 1000 / 12, timescale: timebase(frameRate(12)).timescale });
    expect(ffprobeStream(out)).toEqual({ codec_name: 'h264', width: f.width, height: f.height, nb_read_frames: String(f.frames) });
    const facts = streamFacts(out);
    expect(facts.duration).toBeCloseTo(f.frames / 12, 6);
    expect(decodeErrors(out)).toBe('');
    expect(frameMd5s(out)).toEqual(frameMd5s(f.file));
    const boxes = topLevelBoxes(out).map((b) => b.type);
    expect(boxes.slice(0, 2)).toEqual(['ftyp', 'moov']);
    expect(boxes.slice(2)).toEqual(Array.from({ length: keyframes }, () => ['moof', 'mdat']).flat());
    expect([fragmenter.samplesSent, fragmenter.ticksSent]).toEqual([f.frames, f.frames * 7500]);
    if (hasMp4Box) {
      // MP4Box prints milliseconds, cut (not rounded).
      const info = mp4boxInfo(out);
      expect(info.samples).toBe(f.frames);
      expect(info.seconds).toBe(Math.floor((f.frames / 12) * 1000) / 1000);
    }
  });

  it('one fragment per access unit (the live view): one moof per frame, same pictures and duration', () => {
    const f = byName('testcard.h264');
    const out = path.join(tmp, 'live.mp4');
    const { fragmenter } = fragmentFiles([f.file], out, { perUnit: true, durationMs: () => 1000 / 30 });
    expect(fragmenter.reorders).toBe(false);
    expect(topLevelBoxes(out).filter((b) => b.type === 'moof')).toHaveLength(f.frames);
    expect(ffprobeStream(out).nb_read_frames).toBe(String(f.frames));
    expect(streamFacts(out).duration).toBeCloseTo(f.frames / 30, 6);
    expect(decodeErrors(out)).toBe('');
    expect(frameMd5s(out)).toEqual(frameMd5s(f.file));
  });

  it('B-frames: composition offsets present every picture in order from 0, like the progressive converter', () => {
    const f = byName('high-bframes-160x120.h264');
    const out = path.join(tmp, 'b.mp4');
    const { fragmenter } = fragmentFiles([f.file], out, { durationMs: () => 100 });
    expect(fragmenter.reorders).toBe(true);
    const facts = streamFacts(out);
    expect([facts.frames, facts.duration]).toEqual([30, 3]);
    const start = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=start_time', '-of', 'csv=p=0', out], { encoding: 'utf8' });
    expect(Number(start.stdout)).toBe(0);
    expect(decodeErrors(out)).toBe('');
    expect(frameMd5s(out)).toEqual(frameMd5s(f.file));
    if (hasMp4Box) expect(mp4boxInfo(out)).toEqual({ samples: 30, seconds: 3 });
  });

  it.each([
    ['high-bframes-160x120.h264', 'AA--A--A--A--A-A'],
    ['pyramid-160x120.h264', 'AA---A---A---A--A'],
  ])('%s cut live before each anchor (holdNewest): in presentation order, IDR at 0, pictures identical', (name, pattern) => {
    const file = path.join(FIXTURE_DIR, name);
    const units = accessUnits(file);
    const gop = units.findIndex((u, i) => i > 0 && u.keyframe); // the first GOP, then the next one's IDR
    const fragmenter = new Fragmenter({ rotation: 0 });
    const parts: Buffer[] = [];
    const anchors: string[] = [];
    for (const au of units.slice(0, gop + 1)) {
      fragmenter.add(au, 100);
      anchors.push(fragmenter.addedAnchor ? 'A' : '-');
      if (!fragmenter.addedAnchor) continue;
      const fragment = fragmenter.fragment({ holdNewest: true });
      if (fragment) parts.push(fragment);
      expect(fragmenter.samplesPending).toBe(1);
    }
    // Anchors: the I and P pictures (each raises the POC), and the next IDR (a new POC period).
    expect(anchors.join('')).toBe(pattern);
    parts.push(fragmenter.fragment()!);
    expect(fragmenter.samplesPending).toBe(0);
    expect(fragmenter.reorders).toBe(true);
    const out = path.join(tmp, 'live-b.mp4');
    fs.writeFileSync(out, Buffer.concat([fragmenter.initSegment!, ...parts]));
    expect(topLevelBoxes(out).filter((b) => b.type === 'moof')).toHaveLength(pattern.split('A').length - 1); // a fragment ends before every anchor but the first, and the last one closes
    expect(decodeErrors(out)).toBe('');
    const frames = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'frame=pts', '-of', 'json', out], { encoding: 'utf8' });
    const pts = (JSON.parse(frames.stdout) as { frames: { pts: number }[] }).frames.map((f) => f.pts);
    // In order, 100 ms (9000 ticks) apart. (ffmpeg moves the whole track later by the largest negative
    // composition offset, a B-frame's; in the trun the IDR is at 0, see test/pancake/web/mse-hub.test.ts.)
    expect(pts).toEqual(Array.from({ length: gop + 1 }, (_, i) => pts[0]! + i * 9000));
    expect(fragmenter.initSegment!.indexOf('elst', 0, 'latin1')).toBe(-1); // no edit: the lone IDR of the first fragment is at 0
    expect(frameMd5s(out)).toEqual(frameMd5s(file).slice(0, gop + 1));
  });

  it('a clip across two files is one track: frames and time add up, decoding never restarts', () => {
    const f = byName('testcard.h264');
    const out = path.join(tmp, 'clip.mp4');
    fragmentFiles([f.file, f.file], out, { durationMs: () => 1000 / 30 });
    expect(ffprobeStream(out).nb_read_frames).toBe(String(2 * f.frames));
    expect(streamFacts(out).duration).toBeCloseTo((2 * f.frames) / 30, 6);
    expect(decodeErrors(out)).toBe('');
  });

  it('real (varying) frame durations: each frame ends at the exact sum of the durations before it, rounded to a tick', () => {
    const f = byName('baseline-160x120.h264');
    const out = path.join(tmp, 'vfr.mp4');
    const ms = (i: number) => (i < 10 ? 66.667 : i < 20 ? 142.857 : 33.367);
    const { fragmenter } = fragmentFiles([f.file], out, { durationMs: ms });
    const totalMs = 10 * 66.667 + 10 * 142.857 + 10 * 33.367;
    expect(fragmenter.ticksSent).toBe(Math.round(totalMs * 90));
    expect(streamFacts(out).duration).toBeCloseTo(totalMs / 1000, 4);
    const pts = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'packet=pts', '-of', 'csv=p=0', out], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number);
    let sum = 0;
    expect(pts).toEqual(Array.from({ length: 30 }, (_, i) => {
      const at = Math.round(sum * 90);
      sum += ms(i);
      return at;
    }));
    expect(pictureMd5s(out)).toEqual(pictureMd5s(f.file));
  });

  it.each([
    [90, -90],
    [180, -180],
    [270, 90],
  ] as const)('rotation %s: the init segment carries the display matrix (ffprobe rotation %s)', (rotation, sideData) => {
    const out = path.join(tmp, 'r.mp4');
    fragmentFiles([byName('main-162x122.h264').file], out, { rotation, durationMs: () => 100 });
    const facts = streamFacts(out);
    expect([facts.rotation, facts.width, facts.height, facts.frames]).toEqual([sideData, 162, 122, 20]);
  });

  it('has nothing to send before the first IDR, and skips the units before it', () => {
    const aus = accessUnits(byName('baseline-160x120.h264').file);
    const fragmenter = new Fragmenter({ rotation: 0 });
    fragmenter.add(aus[1]!, 100);
    expect(fragmenter.fragment()).toBeUndefined();
    expect(fragmenter.initSegment).toBeUndefined();
    for (const au of aus.slice(10)) fragmenter.add(au, 100);
    expect(fragmenter.fragment()).toBeDefined();
    expect([fragmenter.samplesSent, fragmenter.ticksSent]).toEqual([20, 20 * 9000]);
  });
});

describe('fragmentHead', () => {
  it('moof (mfhd, traf: tfhd, tfdt, trun) then the mdat header; data_offset points at the first sample byte', () => {
    const head = fragmentHead(7, 2 ** 33, [
      { size: 100, duration: 3000, sync: true, compositionOffset: 0 },
      { size: 20, duration: 3000, sync: false, compositionOffset: -3000 },
    ]);
    const moofSize = head.readUInt32BE(0);
    expect(head.toString('latin1', 4, 8)).toBe('moof');
    expect(head.length).toBe(moofSize + 8);
    expect(head.toString('latin1', moofSize + 4, moofSize + 8)).toBe('mdat');
    expect(head.readUInt32BE(moofSize)).toBe(8 + 120);
    expect(head.readUInt32BE(20)).toBe(7); // mfhd sequence_number
    const tfdt = head.indexOf('tfdt', 0, 'latin1');
    expect([head[tfdt + 4], Number(head.readBigUInt64BE(tfdt + 8))]).toEqual([1, 2 ** 33]);
    const trun = head.indexOf('trun', 0, 'latin1');
    // Version 1 (signed offsets), flags: data offset, duration, size, flags, composition offset.
    expect([head[trun + 4], head.readUIntBE(trun + 5, 3), head.readUInt32BE(trun + 8)]).toEqual([1, 0xf01, 2]);
    expect(head.readInt32BE(trun + 12)).toBe(head.length);
    expect([head.readUInt32BE(trun + 16), head.readUInt32BE(trun + 20), head.readUInt32BE(trun + 24), head.readInt32BE(trun + 28)]).toEqual([3000, 100, 0x02000000, 0]);
    expect([head.readUInt32BE(trun + 40), head.readInt32BE(trun + 44)]).toEqual([0x01010000, -3000]);
  });

  it('no composition offsets in the trun when nothing is reordered (version 0, 12 bytes per sample)', () => {
    const head = fragmentHead(1, 0, [{ size: 5, duration: 1, sync: true, compositionOffset: 0 }]);
    const trun = head.indexOf('trun', 0, 'latin1');
    expect([head[trun + 4], head.readUIntBE(trun + 5, 3), head.readUInt32BE(trun - 4)]).toEqual([0, 0x701, 8 + 4 + 8 + 12]);
  });
});
