// The pages in WebKit, Safari's engine (WebKitGTK's MiniBrowser under Xvfb, over WebDriver): live view on a secure and a non-secure origin, login, snapshot, Recordings — desktop and phone sizes.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../src/common/paths.js';
import { NON_SECURE_HOST } from '../../helpers/browser.js';
import { makeTmp, probe, runDist } from '../../helpers/env.js';
import { startLivePancake, type LivePancake } from '../../helpers/live.js';
import { changedPixels, median, pictureSample, pollUntil, waitDrawn } from '../../helpers/live-page.js';
import { usePancakeTest } from '../../helpers/pancake-process.js';
import { DESKTOP, ensureWebKit, PHONE, startWebKit, type WebKit, type WebKitPage } from '../../helpers/webkit.js';
import { childrenNamed } from '../../helpers/proc.js';

const webkit = ensureWebKit();
if ('missing' in webkit) console.warn(`skipping the WebKit page tests: ${webkit.missing}`);

const TESTCARD = path.join(PROJECT_ROOT, 'testcard', 'testcard.h264');
/** The test card: 288 frames at 12 fps, an IDR every 12 frames (scripts/make-testcard.sh). */
const CARD_FPS = 12;
const CARD_FRAMES = 288;
const PI_ZONE = 'America/New_York';
/** A backdated copy of the test card: 12:15 New York time (EDT, UTC−4) on 14 March 2026. */
const PAST_DAY = '2026-03-14';
const PAST_NAME = '20260314-1215';
const PAST_START_MS = Date.UTC(2026, 2, 14, 16, 15);

const SIZES = [['desktop', DESKTOP], ['phone', PHONE]] as const;

/** The same pancake under the name that is not a secure context (it resolves to 127.0.0.1 in the browser's namespace only). */
const nonSecureUrl = (pancake: LivePancake): string => `http://${NON_SECURE_HOST}:${new URL(pancake.url).port}/`;

/** The width of a PNG (from its IHDR chunk), after checking its signature. */
function pngWidth(png: Buffer): number {
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  return png.readUInt32BE(16);
}

/** The Recordings page's player: playhead, readiness, error; and the page's script errors (in a failure's message). */
const videoState = (page: WebKitPage): Promise<{ currentTime: number; duration: number; readyState: number; paused: boolean; seeking: boolean; error: string | null; src: string; pageErrors: string[] }> =>
  page.evaluate(() => {
    const v = document.getElementById('player') as HTMLVideoElement;
    return {
      currentTime: v.currentTime, duration: v.duration, readyState: v.readyState, paused: v.paused, seeking: v.seeking,
      error: v.error ? `${v.error.code} ${v.error.message}` : null, src: v.currentSrc, pageErrors: (window as unknown as { pancakeErrors?: string[] }).pancakeErrors ?? [],
    };
  }, undefined);

/** Red values of every 97th pixel of the picture the player shows now (read through a canvas, as a page could). */
const frameSample = (page: WebKitPage): Promise<number[]> =>
  page.evaluate(() => {
    const v = document.getElementById('player') as HTMLVideoElement;
    const c = document.createElement('canvas');
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    const g = c.getContext('2d')!;
    g.drawImage(v, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const out: number[] = [];
    for (let i = 0; i < d.length; i += 4 * 97) out.push(d[i]!);
    return out;
  }, undefined);

/** How many sampled pixels differ clearly between two pictures. */
function changed(a: number[], b: number[]): number {
  let n = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (Math.abs(a[i]! - b[i]!) > 24) n++;
  return n + Math.abs(a.length - b.length);
}

/** Script errors the page reports from now on (window 'error' and unhandled rejections), read with {@link pageErrors}. */
const watchErrors = (page: WebKitPage): Promise<void> =>
  page.evaluate(() => {
    const w = window as unknown as { pancakeErrors?: string[] };
    w.pancakeErrors = [];
    window.addEventListener('error', (e) => w.pancakeErrors!.push(`error: ${e.message}`));
    window.addEventListener('unhandledrejection', (e) => w.pancakeErrors!.push(`unhandled rejection: ${String(e.reason)}`));
    // The page ignores a refused play() (the controls are there for a click); a test needs to know.
    const play = HTMLMediaElement.prototype.play;
    HTMLMediaElement.prototype.play = function (this: HTMLMediaElement) {
      const started = play.call(this);
      started.catch((e: Error) => w.pancakeErrors!.push(`play() refused: ${e.name}: ${e.message}`));
      return started;
    };
  }, undefined);
const pageErrors = (page: WebKitPage): Promise<string[]> =>
  page.evaluate(() => (window as unknown as { pancakeErrors?: string[] }).pancakeErrors ?? ['the error watcher is gone (page reloaded?)'], undefined);

describe.skipIf('missing' in webkit)('the pages in WebKit (WebKitGTK MiniBrowser)', () => {
  const t = usePancakeTest<LivePancake>();
  let wk: WebKit;
  /** One window for all tests (a new MiniBrowser costs seconds on a loaded machine), resized for each. */
  let window1: WebKitPage;
  beforeAll(async () => {
    wk = await startWebKit();
    window1 = await wk.newPage(DESKTOP);
  }, 40_000);
  afterAll(async () => {
    await wk?.stop();
  });

  /** The window at `size`, checked to be that wide in CSS px, showing `url`. */
  async function open(size: { width: number; height: number }, url: string): Promise<WebKitPage> {
    await window1.resize(size);
    await window1.goto(url);
    expect(await window1.evaluate(() => window.innerWidth, undefined)).toBe(size.width);
    return window1;
  }

  it.each(SIZES)('%s: the live view moves with WebCodecs on 127.0.0.1 and MSE on a non-secure name, pancake decoding nothing', async (_, size) => {
    t.pancake = await startLivePancake(['--resolution', '640', '480']);
    const page = await open(size, t.pancake.url);
    const seen: Record<string, string> = {};
    for (const [url, secure, mode, label] of [[t.pancake.url, true, 'h264', '(H.264)'], [nonSecureUrl(t.pancake), false, 'mse', '(MSE)']] as const) {
      await page.goto(url);
      expect(await page.evaluate(() => window.isSecureContext, undefined)).toBe(secure);
      const first = await waitDrawn(page, 5);
      const a = await pictureSample(page);
      expect(a.source).toBe(mode === 'mse' ? 'video' : 'canvas');
      expect(a.spread).toBeGreaterThan(100);
      const later = await waitDrawn(page, first.drawn + 24);
      const b = await pictureSample(page);
      expect(changedPixels(a.grey, b.grey)).toBeGreaterThan(20);
      expect(later.mode).toBe(mode);
      expect(later.lastSeq).toBeGreaterThan(first.lastSeq);
      expect(later.decodeErrors).toBe(0);
      expect(await page.text('#mode')).toBe(label);
      if (mode === 'mse') {
        // WebKit offers ManagedMediaSource (as Safari on iPhone does), which the page prefers: it played through it.
        expect(await page.evaluate(() => typeof (window as unknown as { ManagedMediaSource?: unknown }).ManagedMediaSource, undefined)).toBe('function');
        expect(await page.evaluate(() => (document.getElementById('video') as HTMLVideoElement).src, undefined)).toMatch(/^blob:/);
      }
      await pollUntil(async () => Number(await page.text('#fps')), (fps) => fps > 0, 'the frame rate shown');
      // WebKit painted the picture where the page shows it, within the window.
      const shownWidth = pngWidth(await page.screenshot(mode === 'mse' ? '#video' : '#picture'));
      expect(shownWidth).toBeGreaterThan(size.width / 2);
      expect(shownWidth).toBeLessThanOrEqual(size.width);
      expect(await page.evaluate(() => document.documentElement.scrollWidth, undefined)).toBeLessThanOrEqual(size.width);
      seen[mode] = `median delay ${median(later.delays)} ms over ${later.delays.length} frames`;
    }
    // Neither mode decodes on the Pi: no ffmpeg child (the JPEG path's decoder), and the log never started one.
    expect(childrenNamed(t.pancake.child.pid!, 'ffmpeg')).toEqual([]);
    expect(t.pancake.log()).not.toMatch(/decoding for the JPEG view/);
    expect(t.pancake.log()).toMatch(/web: mse viewer connected/);
    console.log(`WebKit ${size.width} px, 640x480 12 fps: WebCodecs ${seen.h264}; MSE ${seen.mse}`);
  }, 60_000);

  it('desktop: the JPEG mode, forced with ?mode=jpeg, moves too', async () => {
    t.pancake = await startLivePancake(['--resolution', '320', '240']);
    const page = await open(DESKTOP, `${nonSecureUrl(t.pancake)}?mode=jpeg`);
    const first = await waitDrawn(page, 2);
    expect(first.mode).toBe('jpeg');
    expect(await page.text('#mode')).toBe('(JPEG)');
    const a = await pictureSample(page);
    const later = await waitDrawn(page, first.drawn + 12);
    expect(changedPixels(a.grey, (await pictureSample(page)).grey)).toBeGreaterThan(20);
    expect(later.mode).toBe('jpeg');
  }, 40_000);

  it.each(SIZES)('%s: login, the live page and the snapshot with the session, logout', async (_, size) => {
    t.tmp = makeTmp();
    const hashFile = path.join(t.tmp, 'password.txt');
    expect((await runDist('util/set-password.js', [hashFile], { input: 'correct horse\n' })).status).toBe(0);
    t.pancake = await startLivePancake(['--login', hashFile, '--resolution', '640', '480']);
    const page = await open(size, `${t.pancake.url}/login`);
    await page.clearCookies(); // a session another test left would be refused anyway; start from none
    await page.goto(`${t.pancake.url}/`);
    expect(new URL(await page.url()).pathname).toBe('/login');
    await page.type('#password', 'correct horse');
    await page.click('button[type=submit]');
    await page.waitFor(() => location.pathname === '/' && ((window as unknown as { pancakeStats?: { drawn: number } }).pancakeStats?.drawn ?? 0) > 3, undefined, 'the live page streaming after login');
    const cookie = await page.cookie('pancake_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false });
    // The snapshot, fetched and decoded by WebKit with the session cookie.
    const snap = await page.evaluate(async () => {
      const res = await fetch('/snapshot.jpg');
      const bitmap = await createImageBitmap(await res.blob());
      return { status: res.status, type: res.headers.get('content-type'), width: bitmap.width, height: bitmap.height };
    }, undefined);
    expect(snap).toEqual({ status: 200, type: 'image/jpeg', width: 640, height: 480 });
    // Logout: the cookie goes, the page asks for the password again, the snapshot is refused.
    await page.click('a.logout');
    await page.waitFor(() => location.pathname === '/login', undefined, 'the login page after logout');
    expect(await page.cookie('pancake_session')).toBeUndefined();
    expect(await page.evaluate(async () => (await fetch('/snapshot.jpg')).status, undefined)).toBe(401);
  }, 40_000);

  it.each(SIZES)('%s: Recordings — the calendar, a past recording plays and seeks, a clip downloads as MP4, the file being written plays', async (_, size) => {
    t.tmp = makeTmp();
    const dir = path.join(t.tmp, 'h264');
    fs.mkdirSync(dir);
    const past = path.join(dir, `${PAST_NAME}.h264`);
    fs.copyFileSync(TESTCARD, past);
    const lastFrame = (PAST_START_MS + ((CARD_FRAMES - 1) * 1000) / CARD_FPS) / 1000;
    fs.utimesSync(past, lastFrame, lastFrame);
    // Hour-long files: the file being written now is still being written at the end of the test.
    t.pancake = await startLivePancake(['--resolution', '640', '480', '--record-continuous', dir, '--segment-minutes', '60'], { TZ: PI_ZONE }, t.tmp);
    await t.pancake.waitForLog('record: writing');
    const page = await open(size, `${t.pancake.url}/recordings`);
    await watchErrors(page);

    // The calendar: the backdated day and today.
    await page.waitFor((day) => document.querySelector(`#calendar button[data-day="${day}"]`) !== null, PAST_DAY, 'the past day in the calendar');
    const days = await page.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>('#calendar button[data-day]'), (b) => b.dataset.day!), undefined);
    expect(days).toHaveLength(2);
    expect(days).toContain(PAST_DAY);
    expect(await page.evaluate(() => document.documentElement.scrollWidth, undefined)).toBeLessThanOrEqual(size.width);

    // A past recording plays (time advances, pixels change) and seeks. Opening a day puts its last
    // recording in the player (not playing); once that has its size, nothing moves under the click.
    await page.click(`#calendar button[data-day="${PAST_DAY}"]`);
    await pollUntil(() => videoState(page), (v) => v.src.includes(PAST_NAME) && v.readyState >= 1, 'the past day’s recording in the player');
    await page.click(`#list li[data-name="${PAST_NAME}.mp4"] button.play`);
    const playing = await pollUntil(() => videoState(page), (v) => v.currentTime > 0.3 && v.readyState >= 2, 'the past recording to play');
    expect(playing.error).toBeNull();
    expect(playing.duration).toBeCloseTo(CARD_FRAMES / CARD_FPS, 1);
    const firstPicture = await frameSample(page);
    await pollUntil(() => videoState(page), (v) => v.currentTime > playing.currentTime + 1, 'playback to advance by a second');
    expect(changed(firstPicture, await frameSample(page))).toBeGreaterThan(20);
    await page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).pause(), undefined);
    const seek = async (s: number): Promise<number[]> => {
      await page.evaluate((to) => {
        (document.getElementById('player') as HTMLVideoElement).currentTime = to;
      }, s);
      await pollUntil(() => videoState(page), (v) => !v.seeking && v.readyState >= 2 && Math.abs(v.currentTime - s) < 0.01, `the seek to ${s} s`);
      return frameSample(page);
    };
    const here = await seek(2 + 0.5 / CARD_FPS);
    expect(changed(here, await seek(15 + 0.5 / CARD_FPS))).toBeGreaterThan(20);
    expect(changed(here, await seek(2 + 0.5 / CARD_FPS))).toBeLessThan(5);

    // A clip 12:15:05–12:15:10: the link the page makes, fetched by WebKit; an MP4 of frames 60–119.
    const href = await page.evaluate(() => {
      for (const [id, value] of [['clip-start', '12:15:05'], ['clip-end', '12:15:10']]) {
        const input = document.getElementById(id!) as HTMLInputElement;
        input.value = value!;
        input.dispatchEvent(new Event('input', { bubbles: true }));
      }
      return document.getElementById('clip-link')!.getAttribute('href');
    }, undefined);
    expect(href).toBe(`/api/clip.mp4?start=${encodeURIComponent('2026-03-14T12:15:05.000-04:00')}&end=${encodeURIComponent('2026-03-14T12:15:10.000-04:00')}`);
    const download = await page.evaluate(async () => {
      const link = document.getElementById('clip-link') as HTMLAnchorElement;
      const res = await fetch(link.href);
      const bytes = new Uint8Array(await res.arrayBuffer());
      let binary = '';
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return { status: res.status, disposition: res.headers.get('content-disposition'), name: link.getAttribute('download'), base64: btoa(binary) };
    }, undefined);
    expect(download.status).toBe(200);
    expect(download.disposition).toMatch(/attachment; filename="?clip-20260314-121505/);
    expect(download.name).toMatch(/^clip-20260314-121505.*\.mp4$/);
    const clip = Buffer.from(download.base64, 'base64');
    expect(clip.subarray(4, 8).toString('latin1')).toBe('ftyp');
    const clipFile = path.join(t.tmp, 'clip.mp4');
    fs.writeFileSync(clipFile, clip);
    expect(probe(clipFile)).toMatchObject({ codec: 'h264', width: 640, height: 480, frames: 60 });

    // Today: the file being written plays, and its picture moves.
    const today = days.find((d) => d !== PAST_DAY)!;
    await page.click(`#calendar button[data-day="${today}"]`);
    await page.waitFor(() => document.querySelector('#list li.rec-row.continuous.live') !== null, undefined, 'the file being written listed');
    const live = await page.evaluate(() => document.querySelector<HTMLElement>('#list li.rec-row.continuous.live')!.dataset.name!, undefined);
    await pollUntil(() => videoState(page), (v) => v.src.includes(live) && v.readyState >= 1, 'today’s last recording in the player');
    await page.click(`#list li[data-name="${live}"] button.play`);
    const started = await pollUntil(() => videoState(page), (v) => v.src.includes(live) && v.currentTime > 0.3 && v.readyState >= 2, 'the file being written to play');
    expect(started.error).toBeNull();
    const a = await frameSample(page);
    await pollUntil(() => videoState(page), (v) => v.currentTime > started.currentTime + 1, 'the file being written to play on');
    expect(changed(a, await frameSample(page))).toBeGreaterThan(20);

    expect(await pageErrors(page)).toEqual([]);
  }, 60_000);
});
