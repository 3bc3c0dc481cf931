// The built-in converter, checked with real ffprobe/ffmpeg: frame counts, exact durations, order, rotation, crash-cut input.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConvertError, convertFile } from '../../../src/postproc/convert/index.js';
import { decodeErrors, makeTmp, removeTmp } from '../../helpers/env.js';
import { ALL_STREAMS, byName, FIXTURES, ffprobePackets } from '../../common/h264/fixtures.js';
import { frameMd5s, listDir, streamFacts, topLevelBoxes } from '../../common/mp4/mp4-facts.js';

let tmp: string;
beforeEach(() => {
  tmp = makeTmp('convert-test-');
});
afterEach(() => removeTmp(tmp));

const out = (name = 'out.mp4') => path.join(tmp, name);

/** SPS, PPS and SEI of the baseline fixture: everything of its first access unit but the slice. */
function firstAccessUnitWithoutSlices(): Buffer {
  const buf = fs.readFileSync(byName('baseline-160x120.h264').file);
  return buf.subarray(0, buf.indexOf(Buffer.from([0, 0, 1, 0x65])));
}

describe('builtin converter', () => {
  it.each(ALL_STREAMS.map((f) => [f.name, f] as const))('%s: every frame, exact duration and rate, decodes silently, pictures identical to the raw stream', async (_, f) => {
    const result = await convertFile('builtin', f.file, out(), { fps: 12, rotation: 0 });
    expect(result).toEqual({ converter: 'builtin', frames: f.frames, warnings: [] });
    const facts = streamFacts(out());
    expect(facts.frames).toBe(f.frames);
    expect(facts.duration).toBeCloseTo(f.frames / 12, 6);
    expect(facts.streamDuration).toBeCloseTo(f.frames / 12, 6);
    expect([facts.rFrameRate, facts.avgFrameRate]).toEqual(['12/1', '12/1']);
    expect([facts.width, facts.height]).toEqual([f.width, f.height]);
    expect(decodeErrors(out())).toBe('');
    expect(frameMd5s(out())).toEqual(frameMd5s(f.file));
    // moov before mdat: players and Telegram can start before the whole file has arrived.
    expect(topLevelBoxes(out()).map((b) => b.type)).toEqual(['ftyp', 'moov', 'mdat']);
    expect(listDir(tmp)).toEqual(['out.mp4']);
  });

  it('presents B-frames in the right order, where ffmpeg\'s own raw remux loses frames (DESIGN.md)', async () => {
    const f = byName('high-bframes-160x120.h264');
    await convertFile('builtin', f.file, out(), { fps: 10, rotation: 0 });
    const raw = frameMd5s(f.file);
    expect(raw.length).toBe(30);
    expect(frameMd5s(out())).toEqual(raw);
    // The peer: `ffmpeg -framerate 10 -i in.h264 -c copy out.mp4`.
    const peer = out('ffmpeg.mp4');
    const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-framerate', '10', '-i', f.file, '-c', 'copy', peer]);
    expect(r.status).toBe(0);
    const peerFrames = frameMd5s(peer);
    expect(peerFrames).not.toEqual(raw);
    expect(peerFrames.length).toBeLessThan(raw.length);
    expect(streamFacts(peer).frames).toBeLessThan(raw.length);
  });

  it.each([
    [12, '12/1'],
    [30, '30/1'],
    [7.5, '15/2'],
    [29.97, '2997/100'],
    [30000 / 1001, '30000/1001'],
    [7, '7/1'],
  ])('at %s fps: r_frame_rate %s, duration exactly frames/fps', async (fps, rate) => {
    const f = byName('baseline-160x120.h264');
    await convertFile('builtin', f.file, out(), { fps, rotation: 0 });
    const facts = streamFacts(out());
    expect(facts.frames).toBe(30);
    expect([facts.rFrameRate, facts.avgFrameRate]).toEqual([rate, rate]);
    expect(facts.duration).toBeCloseTo(30 / fps, 6);
  });

  it.each([
    [90, -90, 'transpose=clock'],
    [270, 90, 'transpose=cclock'],
    [180, -180, 'hflip,vflip'],
  ])('rotation %s: display matrix rotation %s, and players show the picture turned (%s)', async (rotation, sideData, filter) => {
    const f = byName('main-162x122.h264');
    const plain = out('plain.mp4');
    await convertFile('builtin', f.file, plain, { fps: 10, rotation: 0 });
    await convertFile('builtin', f.file, out(), { fps: 10, rotation: rotation as 90 | 180 | 270 });
    const facts = streamFacts(out());
    expect(facts.rotation).toBe(sideData);
    expect(streamFacts(plain).rotation).toBeUndefined();
    // ffmpeg applies the matrix when decoding (autorotate); it must equal turning the plain pictures.
    expect(frameMd5s(out())).toEqual(frameMd5s(plain, [], filter));
    expect(frameMd5s(out())).not.toEqual(frameMd5s(plain));
  });

  it('a file cut by a crash converts its complete frames and says what it dropped', async () => {
    const f = byName('baseline-160x120.h264');
    const buf = fs.readFileSync(f.file);
    const packets = ffprobePackets(f.file);
    const last = packets.at(-1)!;
    // Cut inside the last picture's slice header: header byte and one more byte.
    const cut = path.join(tmp, 'cut.h264');
    fs.writeFileSync(cut, buf.subarray(0, last.pos + 6));
    const result = await convertFile('builtin', cut, out(), { fps: 10, rotation: 0 });
    expect(result.frames).toBe(29);
    expect(result.warnings).toEqual([expect.stringMatching(/^dropped the incomplete last access unit \(file cut short\?\)/)]);
    expect(streamFacts(out()).frames).toBe(29);
    expect(decodeErrors(out())).toBe('');
    expect(frameMd5s(out())).toEqual(frameMd5s(f.file).slice(0, 29));
    // Cut in the middle of a start code: the complete pictures before it all stay.
    fs.writeFileSync(cut, buf.subarray(0, last.pos + 2));
    expect((await convertFile('builtin', cut, out(), { fps: 10, rotation: 0 })).frames).toBe(29);
  });

  it('skips pictures before the first IDR (a recording that starts mid-GOP)', async () => {
    const f = byName('baseline-160x120.h264');
    const packets = ffprobePackets(f.file);
    const midGop = path.join(tmp, 'mid.h264');
    fs.writeFileSync(midGop, fs.readFileSync(f.file).subarray(packets[3]!.pos));
    const result = await convertFile('builtin', midGop, out(), { fps: 10, rotation: 0 });
    expect(result.frames).toBe(20);
    expect(result.warnings).toEqual(['skipped 7 access units before the first IDR picture']);
    expect(decodeErrors(out())).toBe('');
  });

  it('keeps in-band parameter sets: a stream whose SPS changes (160x120 then 162x122) decodes like the raw one', async () => {
    const joined = path.join(tmp, 'joined.h264');
    fs.writeFileSync(joined, Buffer.concat([fs.readFileSync(byName('baseline-160x120.h264').file), fs.readFileSync(byName('main-162x122.h264').file)]));
    const result = await convertFile('builtin', joined, out(), { fps: 10, rotation: 0 });
    expect(result.frames).toBe(50);
    expect(result.warnings).toEqual([expect.stringContaining('the SPS changes after sample 30 (to 162x122)')]);
    expect(streamFacts(out())).toMatchObject({ frames: 50, width: 160, height: 120 });
    expect(decodeErrors(out())).toBe('');
    expect(frameMd5s(out())).toEqual(frameMd5s(joined));
  });

  it.each([
    ['garbage', Buffer.alloc(100_000, 0x5a), /no SPS/],
    ['parameter sets and SEI but no picture', firstAccessUnitWithoutSlices(), /no complete IDR picture/],
    ['empty', Buffer.alloc(0), /no SPS/],
  ])('%s: ConvertError, and neither output nor temporary file', async (_, bytes, reason) => {
    const input = path.join(tmp, 'in.h264');
    fs.writeFileSync(input, bytes);
    const err = await convertFile('builtin', input, out(), { fps: 10, rotation: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConvertError);
    expect((err as ConvertError).message).toMatch(reason);
    expect((err as ConvertError).output).toMatch(reason);
    expect(listDir(tmp)).toEqual(['in.h264']);
  });

  it('a missing input: ConvertError naming it, nothing written', async () => {
    const err = await convertFile('builtin', path.join(tmp, 'nope.h264'), out(), { fps: 10, rotation: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConvertError);
    expect((err as Error).message).toContain('nope.h264');
    expect(listDir(tmp)).toEqual([]);
  });

  it('an invalid frame rate is a ConvertError', async () => {
    for (const fps of [0, -1, NaN, 5000]) {
      await expect(convertFile('builtin', byName('one-frame-160x120.h264').file, out(), { fps, rotation: 0 })).rejects.toBeInstanceOf(ConvertError);
    }
    expect(listDir(tmp)).toEqual([]);
  });

  it('an abort stops the conversion with the abort reason and leaves nothing behind', async () => {
    const controller = new AbortController();
    const reason = new Error('shutting down');
    const pending = convertFile('builtin', byName('testcard.h264').file, out(), { fps: 12, rotation: 0, signal: controller.signal });
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(listDir(tmp)).toEqual([]);
  });

  it('replaces an existing output only when the new one is complete', async () => {
    fs.writeFileSync(out(), 'old');
    const input = path.join(tmp, 'bad.h264');
    fs.writeFileSync(input, Buffer.alloc(1000, 1));
    await expect(convertFile('builtin', input, out(), { fps: 10, rotation: 0 })).rejects.toBeInstanceOf(ConvertError);
    expect(fs.readFileSync(out(), 'utf8')).toBe('old');
    await convertFile('builtin', FIXTURES[0]!.file, out(), { fps: 10, rotation: 0 });
    expect(streamFacts(out()).frames).toBe(FIXTURES[0]!.frames);
    expect(listDir(tmp)).toEqual(['bad.h264', 'out.mp4']);
  });
});
