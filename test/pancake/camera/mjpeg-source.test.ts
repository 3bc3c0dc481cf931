// The MJPEG camera source with a scripted JPEG source and the real ffmpeg encoder: H.264 at the fixed rate, a stall ends the run, a dead encoder's story.
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/common/clock.js';
import { AnnexBParser } from '../../../src/common/h264/annexb.js';
import { CameraJpegs } from '../../../src/pancake/camera/mjpeg/camera-jpegs.js';
import type { JpegFrameSource } from '../../../src/pancake/camera/mjpeg/http-source.js';
import { MjpegSource } from '../../../src/pancake/camera/mjpeg/mjpeg-source.js';
import { parseHttpCameraUrl } from '../../../src/pancake/camera/mjpeg/url.js';
import type { SourceEnd } from '../../../src/pancake/camera/source.js';
import { ffmpegAvailable } from '../../helpers/mjpeg-server.js';
import { captureLogger } from '../../postproc/upload/capture-logger.js';

const ffmpeg = ffmpegAvailable();
if (!ffmpeg.ok) console.warn(`MJPEG source tests skipped: ${ffmpeg.reason}`);
const live = it.skipIf(!ffmpeg.ok);

// ffmpeg -f lavfi -i testsrc2=size=160x120:rate=10 -frames:v 1 -q:v 5 -f mjpeg -
const JPEG = ffmpeg.ok ? spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-frames:v', '1', '-q:v', '5', '-f', 'mjpeg', '-']).stdout : Buffer.alloc(0);

/** A camera that sends `count` JPEGs 100 ms apart, then nothing (stays connected). */
class ScriptedCamera implements JpegFrameSource {
  readonly description = 'http://cam/';
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly count: number) {}
  start(onFrame: (jpeg: Buffer, wallTimeMs: number) => void): void {
    let sent = 0;
    this.timer = setInterval(() => {
      if (sent++ < this.count) onFrame(JPEG, Date.now());
    }, 100);
  }
  close(): Promise<void> {
    clearInterval(this.timer);
    return Promise.resolve();
  }
}

const sources: MjpegSource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
});

function run(count: number, options: { ffmpeg?: string; timeoutMs?: number } = {}) {
  const { logger, text } = captureLogger();
  const pictures = new CameraJpegs(logger);
  const source = new MjpegSource({
    camera: parseHttpCameraUrl('http://cam/'), fps: 10, poll: false, encoder: 'software', timeoutMs: options.timeoutMs ?? 1500,
    clock: systemClock, logger, pictures, ffmpeg: options.ffmpeg, jpegSource: new ScriptedCamera(count),
  });
  sources.push(source);
  const parser = new AnnexBParser();
  let units = 0;
  let keyframes = 0;
  const ended = new Promise<SourceEnd>((resolve) =>
    source.start((chunk) => {
      for (const unit of parser.push(chunk, Date.now(), performance.now())) {
        units++;
        if (unit.keyframe) keyframes++;
      }
    }, resolve),
  );
  return { source, pictures, ended, counts: () => ({ units, keyframes }), log: text };
}

describe('MjpegSource', () => {
  live('encodes at the fixed rate, repeats while the camera is silent, and ends after the timeout', async () => {
    const r = run(10, { timeoutMs: 1500 });
    const started = Date.now();
    const end = await r.ended;
    const ms = Date.now() - started;
    expect(end.reason).toMatch(/^http:\/\/cam\/: sent no frame for 1\.[5-9] s$/);
    // 10 JPEGs over about 1 s, then 1.5 s of repeats: about 25 pictures in; all but the last few out.
    expect(ms).toBeGreaterThanOrEqual(2400);
    const { units, keyframes } = r.counts();
    expect(units).toBeGreaterThanOrEqual(15);
    expect(units).toBeLessThanOrEqual(Math.ceil(ms / 100) + 2);
    expect(keyframes).toBe(Math.ceil(units / 10));
    expect(r.pictures.newest).toBeUndefined(); // the run ended: no stale "newest" picture
    expect(r.log()).toContain('160x120 JPEGs, encoded to H.264 at 10 fps by libx264');
  }, 30_000);

  live("passes the camera's JPEGs on unchanged while it runs", async () => {
    const r = run(1000);
    const got = await new Promise<Buffer>((resolve) => {
      const sub = r.pictures.subscribeJpeg((p) => {
        sub.close();
        resolve(p.jpeg);
      });
    });
    expect(got.equals(JPEG)).toBe(true);
    expect(r.pictures.newest?.jpeg.equals(JPEG)).toBe(true);
  }, 30_000);

  it('a dead encoder ends the run with its command line and exit', async () => {
    const r = run(1000, { ffmpeg: '/bin/false' });
    const end = await r.ended;
    expect(end.reason).toMatch(/^http:\/\/cam\/: the H\.264 encoder ended with exit code 1 \(\/bin\/false -hide_banner .* pipe:1\)$/);
  }, 30_000);

  it('a missing ffmpeg is said so', async () => {
    const r = run(1000, { ffmpeg: '/nonexistent/ffmpeg' });
    expect((await r.ended).reason).toMatch(/^http:\/\/cam\/: ffmpeg not found: install it .*the H\.264 encoder ended with not found/);
  }, 30_000);
});
