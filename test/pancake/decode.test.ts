// The frame decoder: which units are fed, frames cut from ffmpeg's output, and the real ffmpeg child on the test card.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/common/clock.js';
import type { AccessUnit } from '../../src/common/h264/annexb.js';
import { TESTCARD_PATH } from '../../src/common/paths.js';
import { FileLoopSource } from '../../src/pancake/camera/file-source.js';
import { ACCESS_UNIT_DELIMITER, DecoderFeed, withoutLeadingAud } from '../../src/pancake/decode/feed.js';
import { findOnPath } from '../../src/common/find-on-path.js';
import { buildDecoderArgs } from '../../src/pancake/decode/ffmpeg-args.js';
import { FrameDecoder, type RgbFrame } from '../../src/pancake/decode/frame-decoder.js';
import { RawFrameSplitter } from '../../src/pancake/decode/raw-frames.js';
import { captureLogger } from '../postproc/upload/capture-logger.js';
import { until } from '../helpers/until.js';
import { childrenNamed } from '../helpers/proc.js';

const unit = (keyframe: boolean, wallTime: number): { keyframe: boolean; wallTime: number } => ({ keyframe, wallTime });

describe('DecoderFeed', () => {
  it('feeds every unit from the first IDR on, each picture delivered with its unit’s time', () => {
    const feed = new DecoderFeed(false);
    expect([unit(false, 1), unit(true, 2), unit(false, 3), unit(false, 4)].map((u) => feed.take(u))).toEqual([false, true, true, true]);
    expect([feed.picture(), feed.picture(), feed.picture(), feed.picture()]).toEqual([2, 3, 4, undefined]);
  });

  it('in keyframes-only mode feeds each IDR and the one unit after it, whose picture is dropped', () => {
    const feed = new DecoderFeed(true);
    const taken = [true, false, false, true, false, true, true, false].map((k, i) => feed.take(unit(k, i)));
    expect(taken).toEqual([true, true, false, true, true, true, true, true]);
    // Pictures: IDR 0, (drop 1), IDR 3, (drop 4), IDR 5, IDR 6 (an all-intra run), (drop 7).
    expect(Array.from({ length: 7 }, () => feed.picture())).toEqual([0, undefined, 3, undefined, 5, 6, undefined]);
  });

  it('skips to the next IDR when behind, keeping pictures in flight; reset() forgets them', () => {
    const feed = new DecoderFeed(false);
    feed.take(unit(true, 1));
    feed.skipToKeyframe();
    expect(feed.take(unit(false, 2))).toBe(false);
    expect(feed.take(unit(true, 3))).toBe(true);
    expect([feed.picture(), feed.picture()]).toEqual([1, 3]);
    feed.take(unit(false, 4));
    feed.reset();
    expect(feed.picture()).toBeUndefined();
    expect(feed.take(unit(false, 5))).toBe(false);
  });
});

describe('withoutLeadingAud', () => {
  it.each<[string, string, string]>([
    ['3-byte AUD then 4-byte SPS', '000001091000000001674d', '00000001674d'],
    ['4-byte AUD then 3-byte SPS', '0000000109f0000001674d', '000001674d'],
    ['no AUD', '00000001674d00000168', '00000001674d00000168'],
    ['an AUD alone', '0000000109f0', ''],
  ])('%s', (_, input, output) => {
    expect(withoutLeadingAud(Buffer.from(input, 'hex')).toString('hex')).toBe(output);
  });

  it('the delimiter written after each unit is an AUD with primary_pic_type 0', () => {
    expect(ACCESS_UNIT_DELIMITER.toString('hex')).toBe('000000010910');
  });
});

describe('RawFrameSplitter', () => {
  it('cuts frames however the chunks fall, each in a buffer of its own', () => {
    const s = new RawFrameSplitter(4);
    expect(s.push(Buffer.from([1, 2, 3]))).toEqual([]);
    const [a, b] = s.push(Buffer.from([4, 5, 6, 7, 8, 9]));
    expect([...a!, ...b!]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(a!.buffer).not.toBe(b!.buffer);
    expect(a!.byteLength).toBe(a!.buffer.byteLength);
    s.reset();
    expect(s.push(Buffer.from([10, 11, 12, 13]))).toEqual([Buffer.from([10, 11, 12, 13])]);
  });
});

describe('buildDecoderArgs', () => {
  it('reads H.264 on stdin and writes RGB24 at the asked size on stdout, one frame per picture', () => {
    expect(buildDecoderArgs({ width: 224, height: 224, keyframesOnly: true })).toEqual([
      '-hide_banner', '-nostats', '-loglevel', 'error', '-probesize', '32', '-analyzeduration', '0', '-flags', 'low_delay',
      '-f', 'h264', '-i', 'pipe:0', '-an', '-vf', 'scale=224:224:flags=bilinear', '-pix_fmt', 'rgb24', '-fps_mode', 'passthrough',
      '-f', 'rawvideo', 'pipe:1',
    ]);
  });

  it('finds executables on PATH only', () => {
    expect(findOnPath('ffmpeg')).toMatch(/\/ffmpeg$/);
    expect(findOnPath('ffmpeg', { PATH: '/nonexistent' })).toBeUndefined();
  });
});

describe('FrameDecoder with ffmpeg', () => {
  const units = FileLoopSource.readUnits(TESTCARD_PATH);
  const au = (i: number): AccessUnit => ({ data: units[i % units.length]!, keyframe: i % 12 === 0, wallTime: 1_000_000 + i, monoTime: i });
  let decoder: FrameDecoder | undefined;
  afterEach(async () => {
    await decoder?.close();
    decoder = undefined;
  });

  it('decodes every picture at the asked size, one frame behind the stream, and stops its child with the last subscriber', async () => {
    const { logger, text } = captureLogger();
    decoder = new FrameDecoder({ clock: systemClock, logger });
    for (let i = 0; i < 5; i++) decoder.push(au(i)); // nobody subscribes: nothing happens
    const frames: RgbFrame[] = [];
    const sub = decoder.subscribe({ width: 64, height: 48, keyframesOnly: false, onFrame: (f) => frames.push(f) });
    for (let i = 5; i < 12 + 24; i++) decoder.push(au(i)); // feeding starts at the IDR of unit 12
    // (A fresh-clone run once timed out here with no details: now it says what came and what the decoder logged.)
    await until(() => frames.length >= 23, '23 pictures', undefined,
      () => `pictures: ${frames.map((f) => f.time - 1_000_000).join(' ')}; ffmpeg children: ${childrenNamed(process.pid, 'ffmpeg').length}; log:\n${text()}`);
    expect(frames.map((f) => f.time)).toEqual(Array.from({ length: 23 }, (_, k) => 1_000_000 + 12 + k));
    expect(frames.every((f) => f.width === 64 && f.height === 48 && f.data.length === 64 * 48 * 3)).toBe(true);
    expect(frames[0]!.data.some((b) => b > 40)).toBe(true);
    expect(childrenNamed(process.pid, 'ffmpeg')).toHaveLength(1);
    sub.close();
    await until(() => childrenNamed(process.pid, 'ffmpeg').length === 0);
  });

  it('delivers a keyframe as soon as the unit after it is fed, not one GOP later', async () => {
    const { logger, text } = captureLogger();
    decoder = new FrameDecoder({ clock: systemClock, logger });
    const times: number[] = [];
    decoder.subscribe({ width: 32, height: 32, keyframesOnly: true, onFrame: (f) => times.push(f.time) });
    decoder.push(au(0));
    decoder.push(au(1));
    await until(() => times.length === 1, 'the first keyframe', undefined, () => `pictures: ${times.join(' ')}; log:\n${text()}`);
    for (let i = 2; i < 26; i++) decoder.push(au(i));
    await until(() => times.length === 3, 'three keyframes', undefined, () => `pictures: ${times.join(' ')}; log:\n${text()}`);
    expect(times).toEqual([1_000_000, 1_000_012, 1_000_024]);
  });

  it('shares one child among subscribers of a size and runs another for another size', async () => {
    const { logger, text } = captureLogger();
    decoder = new FrameDecoder({ clock: systemClock, logger });
    const a: number[] = [];
    const b: number[] = [];
    const c: number[] = [];
    decoder.subscribe({ width: 32, height: 32, keyframesOnly: false, onFrame: (f) => a.push(f.time) });
    decoder.subscribe({ width: 32, height: 32, keyframesOnly: false, onFrame: (f) => b.push(f.time) });
    decoder.subscribe({ width: 16, height: 16, keyframesOnly: true, onFrame: (f) => c.push(f.time) });
    for (let i = 0; i < 14; i++) decoder.push(au(i));
    await until(() => a.length >= 13 && c.length >= 1, 'pictures of both sizes', undefined, () => `a: ${a.length}, b: ${b.length}, c: ${c.length}; log:\n${text()}`);
    expect(childrenNamed(process.pid, 'ffmpeg')).toHaveLength(2);
    expect(b).toEqual(a.slice(0, b.length));
  });

  it('restarts ffmpeg when it dies and goes on from the next IDR', async () => {
    const { logger, text } = captureLogger();
    decoder = new FrameDecoder({ clock: systemClock, logger, ffmpeg: path.join(import.meta.dirname, 'detect', 'flaky-ffmpeg'), restartMs: 100 });
    const times: number[] = [];
    decoder.subscribe({ width: 32, height: 32, keyframesOnly: false, onFrame: (f) => times.push(f.time) });
    // 12 fps for 3 s: the first child is killed after 1.5 s.
    for (let i = 0; i < 36; i++) {
      decoder.push(au(i));
      await new Promise((r) => setTimeout(r, 1000 / 12));
    }
    await until(() => times.some((t) => t >= 1_000_024));
    expect(text()).toMatch(/decoder: .*flaky-ffmpeg .* ended with signal SIGKILL; restarting in 0\.1 s/);
  });
});
