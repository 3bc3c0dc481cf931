// The MSE live view in real headless Chromium on a non-secure origin (pancake.test → 127.0.0.1): fragmented MP4, no decoding in pancake.
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, NON_SECURE_HOST, NON_SECURE_HOST_RULE } from '../../helpers/browser.js';
import { startLivePancake, type LivePancake } from '../../helpers/live.js';
import { changedPixels, median, pageStats, pictureSample, pollUntil, waitDrawn, type PageStats } from '../../helpers/live-page.js';
import { childrenNamed } from '../../helpers/proc.js';

/** The same pancake under the name that is not a secure context. */
const nonSecureUrl = (pancake: LivePancake): string => `http://${NON_SECURE_HOST}:${new URL(pancake.url).port}`;

/** The video element's playhead and buffer, in seconds. */
const playback = (page: Page): Promise<{ currentTime: number; start: number; end: number; paused: boolean }> =>
  page.evaluate(() => {
    const v = document.getElementById('video') as HTMLVideoElement;
    const b = v.buffered;
    return { currentTime: v.currentTime, start: b.length ? b.start(0) : NaN, end: b.length ? b.end(b.length - 1) : NaN, paused: v.paused };
  });

describe('MSE live view in Chromium', () => {
  let browser: Browser;
  let pancake: LivePancake | undefined;
  beforeAll(async () => {
    browser = await launchChromium([NON_SECURE_HOST_RULE]);
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await pancake?.stop('SIGKILL');
    pancake = undefined;
  });

  it('picks MSE on a page that is not a secure context, the picture moves, and pancake decodes nothing', async () => {
    pancake = await startLivePancake(['--resolution', '640', '480']);
    const page = await browser.newPage();
    await page.goto(nonSecureUrl(pancake));
    expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
    const first = await waitDrawn(page, 5);
    expect(first.mode).toBe('mse');
    expect(await page.textContent('#mode')).toBe('(MSE)');
    const a = await pictureSample(page);
    expect(a.source).toBe('video');
    expect(a.spread).toBeGreaterThan(100);
    const later = await waitDrawn(page, first.drawn + 24);
    const b = await pictureSample(page);
    expect(changedPixels(a.grey, b.grey)).toBeGreaterThan(20);
    expect(later.lastSeq).toBeGreaterThan(first.lastSeq);
    expect(later.decodeErrors).toBe(0);
    await pollUntil(async () => Number(await page.textContent('#fps')), (fps) => fps > 0, 'the frame rate shown');
    expect(await page.textContent('#camera')).toBe('up');
    // The Pi decodes nothing: no ffmpeg child (the JPEG path's decoder), and the log never started one.
    expect(childrenNamed(pancake.child.pid!, 'ffmpeg')).toEqual([]);
    expect(pancake.log()).not.toMatch(/decoding for the JPEG view/);
    expect(pancake.log()).toMatch(/web: mse viewer connected/);
    console.log(`MSE in Chromium, 640x480 12 fps: median delay ${median(later.delays)} ms over ${later.delays.length} frames`);
    await page.close();
  });

  it('stays at the live edge: jumps forward after lagging more than a second, and trims what it has shown', async () => {
    pancake = await startLivePancake(['--resolution', '320', '240']);
    const page = await browser.newPage();
    await page.goto(nonSecureUrl(pancake));
    await waitDrawn(page, 5);
    // Stop the player for good (play() does nothing now): the buffer runs ahead of the playhead,
    // and only the page's jumps to the live edge move the playhead on.
    const pausedAt = await page.evaluate(() => {
      const v = document.getElementById('video') as HTMLVideoElement;
      v.pause();
      v.play = () => Promise.resolve();
      return v.currentTime;
    });
    const jumped = await pollUntil(() => playback(page), (p) => p.paused && p.currentTime > pausedAt + 0.5, 'a jump forward while paused');
    expect(jumped.end - jumped.currentTime).toBeLessThan(1.5);
    // What lies behind the playhead is removed: 3–6 s are kept (one jump more until the next
    // fragment's trim), never all of the 10 s played.
    const far = await pollUntil(() => playback(page), (p) => p.currentTime > 10, 'the playhead 10 s into the stream', 40_000);
    expect(far.currentTime - far.start).toBeLessThan(8);
    expect(far.start).toBeGreaterThan(0);
    await page.close();
  });

  it('forces a mode with ?mode= where the browser has it, and falls back where it has not', async () => {
    pancake = await startLivePancake(['--resolution', '320', '240']);
    const secure = await browser.newPage();
    await secure.goto(`${pancake.url}/?mode=mse`); // 127.0.0.1: a secure context, WebCodecs offered
    expect((await waitDrawn(secure, 3)).mode).toBe('mse');
    const plain = await browser.newPage();
    await plain.goto(`${nonSecureUrl(pancake)}/?mode=h264`); // no WebCodecs here: the best the page has
    expect((await waitDrawn(plain, 3)).mode).toBe('mse');
    const jpeg = await browser.newPage();
    await jpeg.goto(`${nonSecureUrl(pancake)}/?mode=jpeg`);
    expect((await waitDrawn(jpeg, 2)).mode).toBe('jpeg');
    expect(await jpeg.textContent('#mode')).toBe('(JPEG)');
    for (const page of [secure, plain, jpeg]) await page.close();
  });

  it('shows 90° rotation rotated', async () => {
    pancake = await startLivePancake(['--rotation', '90']);
    const page = await browser.newPage();
    await page.goto(nonSecureUrl(pancake));
    expect((await waitDrawn(page, 2)).mode).toBe('mse');
    const transform = await page.evaluate(() => getComputedStyle(document.getElementById('video')!).transform);
    const [a, b, c, d] = transform.replace(/^matrix\(|\)$/g, '').split(',').map(Number);
    expect([Math.round(a!), Math.round(b!), Math.round(c!), Math.round(d!)]).toEqual([0, 1, -1, 0]);
    await page.close();
  });

  it('lets a throttled viewer skip to keyframes while another gets every frame', async () => {
    pancake = await startLivePancake(['--resolution', '640', '480']);
    const smooth = await browser.newPage();
    const slow = await browser.newPage();
    const cdp = await slow.context().newCDPSession(slow);
    await cdp.send('Network.enable');
    // About a third of the stream's bitrate, with a long round trip: it cannot keep up.
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 300, downloadThroughput: 20_000, uploadThroughput: 20_000 });
    await smooth.goto(nonSecureUrl(pancake));
    await slow.goto(nonSecureUrl(pancake));
    await waitDrawn(smooth, 5);
    await waitDrawn(slow, 1);
    const [s, t] = await pollUntil(
      async (): Promise<[PageStats, PageStats]> => [(await pageStats(smooth))!, (await pageStats(slow))!],
      ([a, b]) => b.gaps > 0 && a.received >= 100,
      'the slow viewer to skip while the smooth one receives 100 fragments', 60_000);
    expect(s!.mode).toBe('mse');
    expect(t!.mode).toBe('mse');
    // The smooth viewer got (nearly) every fragment; the slow one was moved on to newer keyframes.
    expect(s!.gaps).toBeLessThanOrEqual(s!.received / 10);
    expect(t!.gaps).toBeGreaterThan(0);
    expect(t!.drawn).toBeGreaterThan(0);
    await slow.close();
    await pancake.waitForLog(/mse viewer from \S+ left after \d+ frames, [1-9]\d* skipped/);
    await smooth.close();
  }, 90_000);
});
