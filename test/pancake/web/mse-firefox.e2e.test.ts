// The live view in real headless Firefox (Debian's firefox-esr over WebDriver BiDi): WebCodecs on localhost, MSE on a non-secure name.
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NON_SECURE_HOST } from '../../helpers/browser.js';
import { ensureFirefox, launchFirefox } from '../../helpers/firefox.js';
import { startLivePancake, type LivePancake } from '../../helpers/live.js';
import { changedPixels, median, pictureSample, waitDrawn, type EvaluatingPage } from '../../helpers/live-page.js';
import { childrenNamed } from '../../helpers/proc.js';

const firefox = ensureFirefox();
if ('missing' in firefox) console.warn(`skipping the Firefox live-view tests: ${firefox.missing}`);

describe.skipIf('missing' in firefox)('live view in Firefox', () => {
  let browser: Browser;
  let pancake: LivePancake | undefined;
  beforeAll(async () => {
    browser = await launchFirefox((firefox as { path: string }).path);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await pancake?.stop('SIGKILL');
    pancake = undefined;
  });

  /** Opens `url`, waits for pictures, and checks that the picture moves; returns the page's mode and delays. */
  async function watch(url: string): Promise<{ page: Page; mode: string; label: string; secure: boolean; delays: number[] }> {
    const page = await browser.newPage();
    await page.goto(url);
    const p = page as unknown as EvaluatingPage;
    const first = await waitDrawn(p, 5);
    const a = await pictureSample(p);
    expect(a.spread).toBeGreaterThan(100);
    const later = await waitDrawn(p, first.drawn + 24);
    const b = await pictureSample(p);
    expect(changedPixels(a.grey, b.grey)).toBeGreaterThan(20);
    expect(later.lastSeq).toBeGreaterThan(first.lastSeq);
    expect(later.decodeErrors).toBe(0);
    const label = await page.$eval('#mode', (el) => el.textContent ?? '');
    const secure = await page.evaluate(() => window.isSecureContext);
    return { page, mode: later.mode, label, secure, delays: later.delays };
  }

  it('decodes H.264 with WebCodecs on localhost, the picture moving', async () => {
    pancake = await startLivePancake(['--resolution', '640', '480']);
    const seen = await watch(pancake.url);
    expect(seen.secure).toBe(true);
    expect(seen.mode).toBe('h264');
    expect(seen.label).toBe('(H.264)');
    console.log(`WebCodecs in Firefox, 640x480 12 fps: median delay ${median(seen.delays)} ms over ${seen.delays.length} frames`);
    await seen.page.close();
  }, 60_000);

  it('plays MSE on a name that is not a secure context, the picture moving, pancake decoding nothing', async () => {
    pancake = await startLivePancake(['--resolution', '640', '480']);
    const seen = await watch(`http://${NON_SECURE_HOST}:${new URL(pancake.url).port}/`);
    expect(seen.secure).toBe(false);
    expect(seen.mode).toBe('mse');
    expect(seen.label).toBe('(MSE)');
    expect(childrenNamed(pancake.child.pid!, 'ffmpeg')).toEqual([]);
    expect(pancake.log()).not.toMatch(/decoding for the JPEG view/);
    console.log(`MSE in Firefox, 640x480 12 fps: median delay ${median(seen.delays)} ms over ${seen.delays.length} frames`);
    await seen.page.close();
  }, 60_000);
});
