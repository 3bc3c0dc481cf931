// The MSE live view of a B-frame RTSP camera in real Chromium and Firefox on a non-secure origin: the pictures it presents move forward only (presentation order, not decoding order).
import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import type { Browser as FirefoxBrowser } from 'puppeteer-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { launchChromium, NON_SECURE_HOST, NON_SECURE_HOST_RULE } from '../../helpers/browser.js';
import { ensureFirefox, launchFirefox } from '../../helpers/firefox.js';
import { startLivePancake, type LivePancake } from '../../helpers/live.js';
import { pageStats, pollUntil, waitDrawn, type EvaluatingPage } from '../../helpers/live-page.js';
import { childrenNamed } from '../../helpers/proc.js';
import { rtspServerAvailable, startRtspServer, type RtspTestServer } from '../../helpers/rtsp-server.js';

const available = rtspServerAvailable();
if (!available.ok) console.warn(`MSE B-frame test skipped: ${available.reason}`);

/** Pixels the camera's colour bars scroll left per frame. */
const SPEED = 4;
/** The picture's width: a row of it is compared from one presented frame to the next. */
const WIDTH = 320;

/** One presented picture after another: how far the bars moved (pixels, forward > 0), and whether no picture was presented between them. */
interface Step {
  shift: number;
  consecutive: boolean;
  mediaDelta: number;
}

/**
 * Watches every picture the video element presents (requestVideoFrameCallback) and compares a
 * row of it with the one before: the shift that best lines the two up, within ±40 pixels.
 */
function watchMotion(page: EvaluatingPage): Promise<void> {
  return page.evaluate(({ width, rowY }) => {
    const video = document.getElementById('video') as HTMLVideoElement;
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = 1;
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    const steps: Step[] = [];
    (window as unknown as { motionSteps: Step[] }).motionSteps = steps;
    let last: { row: Uint8ClampedArray; presented: number; mediaTime: number } | undefined;
    const onFrame = (_now: number, meta: VideoFrameCallbackMetadata): void => {
      video.requestVideoFrameCallback(onFrame);
      ctx.drawImage(video, 0, rowY, width, 1, 0, 0, width, 1);
      const row = ctx.getImageData(0, 0, width, 1).data;
      if (last) {
        let best = 0;
        let bestCost = Infinity;
        for (let s = -40; s <= 40; s++) {
          // Scrolled left by s: this row's pixel x was the last row's pixel x + s (the picture wraps).
          let cost = 0;
          for (let x = 0; x < width; x++) {
            const p = 4 * x;
            const q = 4 * ((((x + s) % width) + width) % width);
            cost += Math.abs(row[p]! - last.row[q]!) + Math.abs(row[p + 1]! - last.row[q + 1]!) + Math.abs(row[p + 2]! - last.row[q + 2]!);
          }
          if (cost < bestCost) [best, bestCost] = [s, cost];
        }
        steps.push({ shift: best, consecutive: meta.presentedFrames === last.presented + 1, mediaDelta: meta.mediaTime - last.mediaTime });
      }
      last = { row, presented: meta.presentedFrames, mediaTime: meta.mediaTime };
    };
    video.requestVideoFrameCallback(onFrame);
  }, { width: WIDTH, rowY: 40 });
}

const motionSteps = (page: EvaluatingPage): Promise<Step[]> => page.evaluate(() => (window as unknown as { motionSteps: Step[] }).motionSteps, undefined);

/** The command lines of pancake's ffmpeg children. */
const ffmpegCommands = (pid: number): string[] =>
  childrenNamed(pid, 'ffmpeg').map((child) => fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' '));

/** A browser page, whichever driver opened it. */
type BrowserPage = EvaluatingPage & { goto(url: string): Promise<unknown>; close(): Promise<void> };

const firefox = ensureFirefox();
if ('missing' in firefox) console.warn(`skipping the Firefox B-frame test: ${firefox.missing}`);

describe.skipIf(!available.ok)('MSE live view of a camera with B-frames', () => {
  let chromium: Browser | undefined;
  let ffx: FirefoxBrowser | undefined;
  let camera: RtspTestServer | undefined;
  let pancake: LivePancake | undefined;
  afterAll(async () => {
    await chromium?.close();
    await ffx?.close();
  });
  afterEach(async () => {
    await pancake?.stop('SIGKILL');
    pancake = undefined;
    await camera?.stop();
    camera = undefined;
  });

  /**
   * The camera (x264 with 2 B-frames: decoding order I0 P3 B1 B2 P6 …, colour bars scrolling 4
   * pixels a frame) through pancake into `page` on the non-secure name: its pictures must come in
   * the camera's order, with pancake decoding nothing.
   */
  async function expectInOrder(page: BrowserPage, browserName: string, everyFrame: boolean): Promise<void> {
    camera = await startRtspServer({ bframes: true, gopSeconds: 2, pattern: 'smpte', horizontalSpeed: SPEED, width: WIDTH, height: 240 });
    pancake = await startLivePancake(['--camera', camera.url()]);
    await page.goto(`http://${NON_SECURE_HOST}:${new URL(pancake.url).port}/`);
    expect(await page.evaluate(() => window.isSecureContext, undefined)).toBe(false);
    const first = await waitDrawn(page, 3);
    expect(first.mode).toBe('mse');
    await watchMotion(page);
    // Steps between pictures presented one right after the other, less than half a second of media
    // time apart (a jump to the live edge could scroll the bars further than the comparison sees).
    const near = (steps: Step[]) => steps.filter((s) => s.consecutive && s.mediaDelta < 0.5);
    const steps = near(await pollUntil(() => motionSteps(page), (s) => near(s).length >= 60, '60 consecutive presented frames'));
    // In decoding order the bars would jump back (P3 before B1), or, where the browser drops a
    // picture that comes after its time, move on by two frames at every anchor (measured in
    // Chromium: about every second step). In presentation order each picture is the camera's
    // next frame: one frame's scroll, but for a picture the browser dropped now and then.
    const oneFrame = steps.filter((s) => s.shift === SPEED).length;
    console.log(`MSE with B-frames in ${browserName}: ${oneFrame} of ${steps.length} steps between presented pictures were one frame's scroll; the others ${JSON.stringify(steps.filter((s) => s.shift !== SPEED).map((s) => s.shift))}`);
    expect(steps.filter((s) => s.shift < 0)).toEqual([]);
    if (everyFrame) expect(oneFrame).toBeGreaterThan(0.75 * steps.length);
    else expect(steps.filter((s) => s.shift > 0).length).toBeGreaterThan(steps.length / 3); // it moves
    expect((await pageStats(page))!.decodeErrors).toBe(0);
    // pancake decodes nothing: its one ffmpeg is the camera's RTSP client, copying the stream.
    const commands = ffmpegCommands(pancake.child.pid!);
    expect(commands).toHaveLength(1);
    expect(commands[0]).toContain('-c copy');
    expect(pancake.log()).not.toMatch(/decoding for the JPEG view/);
    await page.close();
  }

  it('Chromium presents the pictures in order: over 60 consecutive frames the scrolling bars never step back, each picture the camera\'s next', async () => {
    chromium = await launchChromium([NON_SECURE_HOST_RULE]);
    await expectInOrder(await chromium.newPage(), 'Chromium', true);
  }, 90_000);

  // Firefox's drawImage() in a video frame callback gives every second time the picture before
  // (steps of 0 and 8 pixels, measured), so only the order is checked there: never a step back.
  it.skipIf('missing' in firefox)('Firefox presents them in order too: the scrolling bars never step back', async () => {
    ffx = await launchFirefox((firefox as { path: string }).path);
    await expectInOrder((await ffx.newPage()) as unknown as BrowserPage, 'Firefox', false);
  }, 120_000);
});
