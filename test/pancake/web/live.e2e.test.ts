// The live view in real headless Chromium against pancake with the fake camera.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../helpers/browser.js';
import { makeTmp, removeTmp, run } from '../../helpers/env.js';
import { startLivePancake, type LivePancake } from '../../helpers/live.js';

interface PageStats {
  mode: string;
  drawn: number;
  lastSeq: number;
  delays: number[];
  decodeErrors: number;
}

const stats = (page: Page): Promise<PageStats> => page.evaluate(() => (window as unknown as { pancakeStats: PageStats }).pancakeStats);

async function waitDrawn(page: Page, n: number, timeoutMs = 15_000): Promise<PageStats> {
  await page.waitForFunction((count) => ((window as unknown as { pancakeStats?: PageStats }).pancakeStats?.drawn ?? 0) >= count, n, { timeout: timeoutMs });
  return stats(page);
}

/** How different the pixels of the canvas are from one flat colour (0 for a blank canvas). */
const canvasSpread = (page: Page): Promise<number> =>
  page.evaluate(() => {
    const c = document.getElementById('picture') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let min = 255;
    let max = 0;
    for (let i = 0; i < d.length; i += 4 * 97) {
      min = Math.min(min, d[i]!);
      max = Math.max(max, d[i]!);
    }
    return max - min;
  });

describe('live view in Chromium', () => {
  let browser: Browser;
  let tmp: string | undefined;
  let pancake: LivePancake | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await pancake?.stop('SIGKILL');
    removeTmp(tmp);
    pancake = tmp = undefined;
  });

  it('decodes and draws H.264 with WebCodecs, the frame counter advancing and the picture changing', async () => {
    pancake = await startLivePancake(['--resolution', '640', '480']);
    const page = await browser.newPage();
    await page.goto(pancake.url);
    const first = await waitDrawn(page, 5);
    expect(first.mode).toBe('h264');
    const snap1 = await page.screenshot();
    const later = await waitDrawn(page, first.drawn + 24);
    expect(later.lastSeq).toBeGreaterThan(first.lastSeq);
    expect(later.decodeErrors).toBe(0);
    expect(await canvasSpread(page)).toBeGreaterThan(100);
    expect((await page.screenshot()).equals(snap1)).toBe(false);
    await expect.poll(async () => Number(await page.textContent('#fps')), { timeout: 5000 }).toBeGreaterThan(6);
    expect(await page.textContent('#camera')).toBe('up');
    expect(await page.textContent('#mode')).toBe('(H.264)');
    await page.close();
  });

  it('falls back to JPEG pictures, never above --max-stream-fps', async () => {
    pancake = await startLivePancake(['--resolution', '320', '240', '--max-stream-fps', '5']);
    const page = await browser.newPage();
    await page.goto(`${pancake.url}/?mode=jpeg`);
    const first = await waitDrawn(page, 3);
    expect(first.mode).toBe('jpeg');
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 4000));
    const after = await stats(page);
    const fps = (after.drawn - first.drawn) / ((Date.now() - t0) / 1000);
    expect(fps).toBeGreaterThan(1); // it moves (a loaded machine decodes slowly) …
    expect(fps).toBeLessThanOrEqual(5.3); // … and never faster than --max-stream-fps
    const size = await page.evaluate(() => {
      const c = document.getElementById('picture') as HTMLCanvasElement;
      return [c.width, c.height];
    });
    expect(size).toEqual([320, 240]);
    expect(await canvasSpread(page)).toBeGreaterThan(100);
    await page.close();
  });

  it('serves /snapshot.jpg at --resolution', async () => {
    tmp = makeTmp();
    pancake = await startLivePancake(['--resolution', '320', '240']);
    const res = await fetch(`${pancake.url}/snapshot.jpg`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const file = path.join(tmp, 'snap.jpg');
    fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', file]);
    expect(probe.stdout.trim()).toBe('mjpeg,320,240');
  });

  it('shows 90° rotation rotated', async () => {
    pancake = await startLivePancake(['--rotation', '90']);
    const page = await browser.newPage();
    await page.goto(pancake.url);
    await waitDrawn(page, 2);
    const transform = await page.evaluate(() => getComputedStyle(document.getElementById('picture')!).transform);
    // rotate(90deg) is matrix(0, 1, -1, 0, 0, 0) (cos 90° printed as a tiny number).
    const [a, b, c, d] = transform.replace(/^matrix\(|\)$/g, '').split(',').map(Number);
    expect([Math.round(a!), Math.round(b!), Math.round(c!), Math.round(d!)]).toEqual([0, 1, -1, 0]);
    await page.close();
  });

  it('keeps a throttled viewer’s delay bounded while a second viewer stays smooth', async () => {
    pancake = await startLivePancake(['--resolution', '640', '480']);
    const smooth = await browser.newPage();
    const slow = await browser.newPage();
    const cdp = await slow.context().newCDPSession(slow);
    await cdp.send('Network.enable');
    // About a third of the stream's bitrate, with a long round trip: it cannot keep up.
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 300, downloadThroughput: 20_000, uploadThroughput: 20_000 });
    await smooth.goto(pancake.url);
    await slow.goto(pancake.url);
    await waitDrawn(smooth, 5);
    await waitDrawn(slow, 1, 20_000);
    const s0 = await stats(smooth);
    await new Promise((r) => setTimeout(r, 8000));
    const s1 = await stats(smooth);
    const slowStats = await stats(slow);
    // The smooth viewer saw most frames (12 fps for 8 s: 96; the throttled one can take about 2 a
    // second), at a small delay: limits wide enough for a loaded 2-core machine, far from what a
    // viewer held back to the slow one's pace would show.
    expect(s1.drawn - s0.drawn).toBeGreaterThan(60);
    const recent = s1.delays.slice(-60).sort((x, y) => x - y);
    expect(recent[Math.floor(recent.length / 2)]!).toBeLessThan(500);
    // The slow one skipped ahead instead of falling further and further behind.
    const slowRecent = slowStats.delays.slice(-10);
    expect(Math.max(...slowRecent)).toBeLessThan(4000);
    expect(pancake.log()).not.toMatch(/error/i);
    await smooth.close();
    await slow.close();
    // pancake's own account: the throttled viewer skipped frames (moved on to newer keyframes).
    await pancake.waitForLog(/viewer from \S+ left after \d+ frames, [1-9]\d* skipped/);
  }, 60_000);
});
