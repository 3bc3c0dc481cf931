// The Recordings page in real headless Chromium (desktop and a 390 px phone) against pancake with the fake camera.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../src/common/paths.js';
import { launchChromium } from '../../helpers/browser.js';
import { frameTypes, makeTmp, probe, runDist } from '../../helpers/env.js';
import { startLivePancake, type LivePancake } from '../../helpers/live.js';
import { usePancakeTest } from '../../helpers/pancake-process.js';
import { until } from '../../helpers/until.js';

const TESTCARD = path.join(PROJECT_ROOT, 'testcard', 'testcard.h264');
const CONTROLLED = path.join(PROJECT_ROOT, 'test', 'fixtures', 'customize', 'controlled.ts');
/** The test card: 288 frames at 12 fps, an IDR every 12 frames (scripts/make-testcard.sh). */
const CARD_FPS = 12;
const CARD_FRAMES = 288;
const CARD_GOP = 12;
/**
 * The Pi's zone: New York is on daylight-saving time (UTC−4) on 14 March 2026 and on standard time
 * (UTC−5) in December, so one page shows both offsets; the browser runs in Tokyo, so nothing may
 * come out in the browser's own zone.
 */
const PI_ZONE = 'America/New_York';
const BROWSER_ZONE = 'Asia/Tokyo';
const PAST_DAY = '2026-03-14';
/** New York's clocks went from 02:00 EST to 03:00 EDT on this day. */
const DST_DAY = '2026-03-08';
/** Test-card copies: 12:15 and 13:00 on 14 March (EDT, UTC−4); 01:30 (EST, UTC−5) and 03:00 (EDT) on 8 March. */
const PAST_FILES = [
  { name: '20260314-1215.h264', startMs: Date.UTC(2026, 2, 14, 16, 15) },
  { name: '20260314-1300.h264', startMs: Date.UTC(2026, 2, 14, 17, 0) },
  { name: '20260308-0130.h264', startMs: Date.UTC(2026, 2, 8, 6, 30) },
  { name: '20260308-0300.h264', startMs: Date.UTC(2026, 2, 8, 7, 0) },
];
/** Set PANCAKE_SCREENSHOTS=1 to write docs/screenshots/*.png from these tests' pages. */
const SCREENSHOTS = process.env.PANCAKE_SCREENSHOTS === '1' ? path.join(PROJECT_ROOT, 'docs', 'screenshots') : undefined;

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

interface Status {
  recording: { continuous: { enabled: boolean; paused: boolean; writing: boolean } };
}
interface DayAnswer {
  recordings: { name: string; kind: string; live: boolean; durationSeconds: number; start: string; end: string }[];
  detections: { start: string; end: string | null }[];
}

/** Copies of the test card under backdated names, each dated (modification time) at its last frame, as a file copied off a card would be. */
function addPastRecordings(dir: string): void {
  for (const f of PAST_FILES) {
    const file = path.join(dir, f.name);
    fs.copyFileSync(TESTCARD, file);
    const lastFrame = (f.startMs + ((CARD_FRAMES - 1) * 1000) / CARD_FPS) / 1000;
    fs.utimesSync(file, lastFrame, lastFrame);
  }
}

/** The day (YYYY-MM-DD) a recording name says, in the Pi's zone. */
const dayOfName = (name: string): string => `${name.slice(0, 4)}-${name.slice(4, 6)}-${name.slice(6, 8)}`;

/** "December 2026" for a day, as the page's en-GB calendar heads its month. */
const monthTitle = (day: string): string =>
  new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', month: 'long', year: 'numeric' }).format(Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, 1));

const continuousFiles = (dir: string): string[] => fs.readdirSync(dir).filter((f) => /^\d{8}-\d{4}(-\d+)?\.h264$/.test(f)).sort();

/** Red values of every 97th pixel of the picture the <video> shows now. */
const frameSample = (page: Page): Promise<number[]> =>
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
  });

/** How many sampled pixels differ clearly between two pictures. */
function changed(a: number[], b: number[]): number {
  let n = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (Math.abs(a[i]! - b[i]!) > 24) n++;
  return n + Math.abs(a.length - b.length);
}

const videoState = (page: Page): Promise<{ currentTime: number; duration: number; paused: boolean; readyState: number; seeking: boolean; error: string | null; src: string }> =>
  page.evaluate(() => {
    const v = document.getElementById('player') as HTMLVideoElement;
    return { currentTime: v.currentTime, duration: v.duration, paused: v.paused, readyState: v.readyState, seeking: v.seeking, error: v.error?.message ?? null, src: v.currentSrc };
  });

/** Polls `get` until `cond` holds for its value (an awaited event, never a timed wait). */
async function untilValue<T>(get: () => Promise<T>, cond: (v: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  let last: T | undefined;
  let ok = false;
  const poll = async (): Promise<void> => {
    last = await get();
    ok = cond(last);
  };
  await poll();
  const deadline = performance.now() + timeoutMs;
  while (!ok) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
    await poll();
  }
  return last!;
}

/** Problems the page reported: script errors, CSP refusals, failed requests of its own. */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
  });
  return problems;
}

describe('the Recordings page in Chromium', () => {
  const t = usePancakeTest<LivePancake>();
  let browser: Browser;
  let context: BrowserContext | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
    if (SCREENSHOTS) fs.mkdirSync(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(viewport: { width: number; height: number }, url: string): Promise<{ page: Page; problems: string[] }> {
    await context?.close();
    context = await browser.newContext({ viewport, timezoneId: BROWSER_ZONE, locale: 'en-GB', acceptDownloads: true });
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(url);
    return { page, problems };
  }

  async function start(args: string[], env: Record<string, string> = {}): Promise<{ dir: string; pancake: LivePancake }> {
    t.tmp = makeTmp();
    const dir = path.join(t.tmp, 'h264');
    fs.mkdirSync(dir);
    addPastRecordings(dir);
    t.pancake = await startLivePancake(['--resolution', '640', '480', '--record-continuous', dir, ...args], { TZ: PI_ZONE, ...env }, t.tmp);
    await t.pancake.waitForLog('record: writing');
    return { dir, pancake: t.pancake };
  }

  const api = async <T>(pancake: LivePancake, route: string): Promise<T> => {
    const res = await fetch(`${pancake.url}${route}`);
    if (!res.ok) throw new Error(`${route}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };

  it('desktop: both days in the calendar in the Pi’s zone, a past recording plays and seeks, gaps shown, a clip downloads to the frame', async () => {
    const { dir, pancake } = await start([]);
    const today = dayOfName(continuousFiles(dir).find((f) => !PAST_FILES.some((p) => p.name === f))!);
    const { page, problems } = await open(DESKTOP, `${pancake.url}/recordings`);

    // The calendar: today's and the backdated days, the newest month first; the zone is the Pi's, not the browser's.
    await page.waitForSelector(`#calendar button[data-day="${PAST_DAY}"]`);
    const days = await page.$$eval('#calendar button[data-day]', (bs) => bs.map((b) => (b as HTMLElement).dataset.day));
    expect(days).toEqual([today, DST_DAY, PAST_DAY]); // in calendar order within a month,
    expect(await page.$$eval('#calendar .month h3', (hs) => hs.map((h) => h.textContent))).toEqual([monthTitle(today), 'March 2026']); // months newest first
    expect(await page.textContent('#zone')).toContain(PI_ZONE);
    // The newest day opens first.
    await page.waitForSelector('#list li.rec-row');
    expect(await page.getAttribute(`#calendar button[data-day="${today}"]`, 'aria-pressed')).toBe('true');

    // The past day: two recordings at 12:15 and 13:00 New York time (not Tokyo's 01:15), the gap between them listed.
    await page.click(`#calendar button[data-day="${PAST_DAY}"]`);
    await page.waitForSelector('#list li.rec-row[data-name="20260314-1300.mp4"]');
    const rows = await page.$$eval('#list li', (lis) => lis.map((li) => ({ cls: li.className, name: (li as HTMLElement).dataset.name ?? '', text: li.textContent ?? '' })));
    expect(rows.map((r) => (r.cls.includes('gap-row') ? 'gap' : r.name))).toEqual(['20260314-1215.mp4', 'gap', '20260314-1300.mp4']);
    // The end is that of the last frame: 12:15:00 + 288 / 12 s.
    expect(rows[0]!.text).toMatch(/12:15:00\s*–\s*12:15:24/);
    expect(rows[0]!.text).toContain('24 s');
    expect(rows[0]!.text).toContain('1.4 MB');
    expect(rows[0]!.text).toContain('continuous');
    expect(rows[1]!.text).toContain('no recording 12:15:24–13:00:00');
    expect(await page.locator('#timeline .lane.gaps .gap').count()).toBeGreaterThan(0);
    expect(await page.locator('#timeline .rec.continuous').count()).toBe(2);
    expect(new URL(page.url()).searchParams.get('day')).toBe(PAST_DAY);

    // Play: the picture moves (time advances, pixels change).
    await page.click('#list li[data-name="20260314-1215.mp4"] button.play');
    const playing = await untilValue(() => videoState(page), (v) => v.currentTime > 0.3 && v.readyState >= 2, 'the past recording to play');
    expect(playing.error).toBeNull();
    expect(playing.duration).toBeCloseTo(CARD_FRAMES / CARD_FPS, 1);
    const first = await frameSample(page);
    await untilValue(() => videoState(page), (v) => v.currentTime > playing.currentTime + 1, 'playback to advance by a second');
    expect(changed(first, await frameSample(page))).toBeGreaterThan(20);

    // Seek: a different picture at 15 s; back at the first position, the first picture again
    // (positions in the middle of a frame, so that which frame is shown is not a matter of rounding).
    await page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).pause());
    const at = 2 + 0.5 / CARD_FPS;
    const seek = async (s: number): Promise<void> => {
      await page.evaluate((to) => {
        (document.getElementById('player') as HTMLVideoElement).currentTime = to;
      }, s);
      await untilValue(() => videoState(page), (v) => !v.seeking && v.readyState >= 2 && Math.abs(v.currentTime - s) < 0.01, `the seek to ${s} s`);
    };
    await seek(at);
    const here = await frameSample(page);
    await seek(15 + 0.5 / CARD_FPS);
    const there = await frameSample(page);
    expect(changed(here, there)).toBeGreaterThan(20);
    await seek(at);
    expect(changed(here, await frameSample(page))).toBeLessThan(5);

    // The timeline's bars play their recording.
    await page.click('#timeline .rec[data-name="20260314-1300.mp4"]');
    await untilValue(() => page.evaluate(() => document.getElementById('player')!.dataset.name), (n) => n === '20260314-1300.mp4', 'the timeline click to load 13:00');
    await untilValue(() => videoState(page), (v) => v.currentTime > 0.3 && v.readyState >= 2, 'the 13:00 recording to play');
    await page.click('#list li[data-name="20260314-1215.mp4"] button.play');
    await untilValue(() => videoState(page), (v) => v.src.includes('20260314-1215.mp4') && v.currentTime > 0.3, 'the 12:15 recording to play again');
    await page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).pause());
    await seek(15.5);
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, 'recordings-desktop.png'), fullPage: true });

    // The MP4 download link of the recording.
    expect(await page.getAttribute('#download', 'href')).toBe('/api/recordings/20260314-1215.mp4?download=1');

    // A clip 12:15:05–12:15:10 (New York, UTC−4): from the IDR at 5 s (frame 60) up to the last frame starting before 10 s (119).
    await page.fill('#clip-start', '12:15:05');
    await page.fill('#clip-end', '12:15:10');
    const href = await page.getAttribute('#clip-link', 'href');
    expect(href).toBe(`/api/clip.mp4?start=${encodeURIComponent('2026-03-14T12:15:05.000-04:00')}&end=${encodeURIComponent('2026-03-14T12:15:10.000-04:00')}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#clip-link')]);
    const clip = path.join(t.tmp!, 'clip.mp4');
    await download.saveAs(clip);
    expect(download.suggestedFilename()).toMatch(/^clip-20260314-121505.*\.mp4$/);
    const facts = probe(clip);
    const startFrame = Math.floor((5 * CARD_FPS) / CARD_GOP) * CARD_GOP;
    const endFrame = 10 * CARD_FPS;
    expect(facts.frames).toBe(endFrame - startFrame);
    expect(facts.duration).toBeCloseTo(facts.frames / CARD_FPS, 2);
    expect(facts).toMatchObject({ codec: 'h264', width: 640, height: 480 });
    expect(frameTypes(clip)[0]).toEqual({ pict: 'I', key: true });

    // The day the clocks went forward: 01:30:24 EST to 03:00:00 EDT is a gap of 29 min 36 s, not 1 h 29 min;
    // a clip's times carry the offset of their own hour.
    await page.click(`#calendar button[data-day="${DST_DAY}"]`);
    await page.waitForSelector('#list li.rec-row[data-name="20260308-0300.mp4"]');
    expect(await page.textContent('#list li.gap-row')).toBe('no recording 01:30:24–03:00:00 (29 min 36 s)');
    const ticks = await page.$$eval('#timeline .tick', (ts) => ts.map((x) => x.textContent));
    expect(ticks).toContain('03:00');
    expect(ticks).not.toContain('02:30');
    await page.fill('#clip-start', '01:30:05');
    await page.fill('#clip-end', '03:00:05');
    expect(await page.getAttribute('#clip-link', 'href')).toBe(`/api/clip.mp4?start=${encodeURIComponent('2026-03-08T01:30:05.000-05:00')}&end=${encodeURIComponent('2026-03-08T03:00:05.000-04:00')}`);
    expect(await page.textContent('#clip-note')).toMatch(/^30 min,/);

    expect(problems).toEqual([]);
  }, 90_000);

  it('phone: the file being written plays and grows on reload, detection is marked, the page fits 390 px', async () => {
    const control = path.join(makeTmp('pancake-control-'), 'control');
    const detDir = path.join(path.dirname(control), 'detection');
    fs.mkdirSync(detDir);
    try {
      // Hour-long files: the file being written now is very likely still being written at the end of the test.
      const { dir, pancake } = await start(['--segment-minutes', '60', '--detect', 'no-image', '--customize', CONTROLLED, '--record-detection', 'all', detDir],
        { DETECT_CONTROL: control });
      const today = dayOfName(continuousFiles(dir).find((f) => !PAST_FILES.some((p) => p.name === f))!);
      // One detection period: on, until its clip is being written; then off again.
      fs.writeFileSync(control, 'true');
      await untilValue(() => api<DayAnswer>(pancake, `/api/recordings?day=${today}`), (d) => d.recordings.some((r) => r.kind === 'detection'), 'the detection clip in the index');
      fs.writeFileSync(control, 'false');
      await untilValue(() => api<DayAnswer>(pancake, `/api/recordings?day=${today}`), (d) => d.detections.length > 0 && d.detections.every((p) => p.end !== null), 'the detection period to end');

      const { page, problems } = await open(PHONE, `${pancake.url}/recordings`);
      const liveRow = page.locator('#list li.rec-row.continuous.live');
      await liveRow.waitFor();
      const live = (await liveRow.getAttribute('data-name'))!;
      expect(await page.locator('#timeline .lane.periods .period').count()).toBeGreaterThan(0);
      expect(await page.locator('#timeline .rec.detection').count()).toBeGreaterThan(0);
      expect(await page.locator('#list li.rec-row.detection').count()).toBeGreaterThan(0);
      expect(await page.locator(`#list li.rec-row[data-name="${live}"] .badge.detected`).count()).toBe(1);
      // Nothing wider than the phone.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);

      // Play the file being written: the picture moves.
      await page.click(`#list li[data-name="${live}"] button.play`);
      const started = await untilValue(() => videoState(page), (v) => v.currentTime > 0.3 && v.readyState >= 2, 'the live recording to play');
      expect(started.error).toBeNull();
      const a = await frameSample(page);
      await untilValue(() => videoState(page), (v) => v.currentTime > started.currentTime + 1, 'live playback to advance');
      expect(changed(a, await frameSample(page))).toBeGreaterThan(20);

      // Reload: what was written meanwhile is there, at the same position.
      await page.evaluate(() => (document.getElementById('player') as HTMLVideoElement).pause());
      const before = await videoState(page);
      await untilValue(() => api<DayAnswer>(pancake, `/api/recordings?day=${today}`),
        (d) => d.recordings.some((r) => r.name === live && r.durationSeconds > before.duration + 2), 'the live file to grow by 2 s');
      await page.click('#reload');
      const after = await untilValue(() => videoState(page), (v) => v.duration > before.duration + 1 && v.readyState >= 1 && !v.seeking, 'the reloaded live file to be longer');
      expect(after.currentTime).toBeGreaterThanOrEqual(before.currentTime - 0.1);
      if (SCREENSHOTS) {
        await page.evaluate(() => window.scrollTo(0, document.getElementById('day')!.offsetTop));
        await page.screenshot({ path: path.join(SCREENSHOTS, 'recordings-phone.png') });
        await page.goto(`${pancake.url}/`);
        await page.waitForFunction(() => ((window as unknown as { pancakeStats?: { drawn: number } }).pancakeStats?.drawn ?? 0) > 12);
        await page.screenshot({ path: path.join(SCREENSHOTS, 'live-phone.png') });
      }
      expect(problems).toEqual([]);
    } finally {
      fs.rmSync(path.dirname(control), { recursive: true, force: true });
    }
  }, 90_000);

  it('desktop: the pause toggle pauses continuous recording (no new file) and resumes it (a new file)', async () => {
    const { dir, pancake } = await start([]);
    const { page, problems } = await open(DESKTOP, `${pancake.url}/`);
    // The live page links to the Recordings page, and back.
    await page.click('a[href="/recordings"]');
    await page.waitForURL(/\/recordings/);
    await untilValue(() => page.textContent('#continuous'), (s) => s === 'on', 'the page to show recording on');
    expect(await page.textContent('#continuous-toggle')).toBe('Pause');

    await page.click('#continuous-toggle');
    await untilValue(() => page.textContent('#continuous'), (s) => s === 'paused', 'the page to show paused');
    expect(await page.textContent('#continuous-toggle')).toBe('Resume');
    const paused = await untilValue(() => api<Status>(pancake, '/api/status'), (s) => !s.recording.continuous.writing, 'the recorder to stop writing');
    expect(paused.recording.continuous.paused).toBe(true);
    const stopped = continuousFiles(dir);
    // Still paused after a fresh load of the page (the state is pancake's, not the page's).
    await page.reload();
    await untilValue(() => page.textContent('#continuous'), (s) => s === 'paused', 'the reloaded page to show paused');
    expect(continuousFiles(dir)).toEqual(stopped);
    // The live page says so too.
    await page.goto(`${pancake.url}/`);
    await untilValue(() => page.textContent('#recording'), (s) => s === 'paused', 'the live page to show recording paused');
    await page.goto(`${pancake.url}/recordings`);
    await untilValue(() => page.textContent('#continuous'), (s) => s === 'paused', 'the Recordings page to show paused again');

    await page.click('#continuous-toggle');
    await untilValue(() => page.textContent('#continuous'), (s) => s === 'on', 'the page to show recording on again');
    await until(() => continuousFiles(dir).some((f) => !stopped.includes(f)), 'a new continuous file after resuming');
    const resumed = await api<Status>(pancake, '/api/status');
    expect(resumed.recording.continuous).toMatchObject({ paused: false, writing: true });
    // Back to the live page by its link.
    await page.click('a[href="/"]');
    await page.waitForURL((u) => u.pathname === '/');
    if (SCREENSHOTS) {
      await page.waitForFunction(() => ((window as unknown as { pancakeStats?: { drawn: number } }).pancakeStats?.drawn ?? 0) > 12);
      await page.screenshot({ path: path.join(SCREENSHOTS, 'live-desktop.png') });
    }
    expect(problems).toEqual([]);
  }, 90_000);

  it('with --login: the page needs the session, then its lists, video and clip work with it', async () => {
    t.tmp = makeTmp();
    const hashFile = path.join(t.tmp, 'password.txt');
    expect((await runDist('util/set-password.js', [hashFile], { input: 'correct horse\n' })).status).toBe(0);
    const dir = path.join(t.tmp, 'h264');
    fs.mkdirSync(dir);
    addPastRecordings(dir);
    t.pancake = await startLivePancake(['--resolution', '640', '480', '--record-continuous', dir, '--login', hashFile], { TZ: PI_ZONE }, t.tmp);
    const { page, problems } = await open(PHONE, `${t.pancake.url}/recordings?day=${PAST_DAY}`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('#password', 'correct horse');
    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('button[type=submit]')]);
    await page.click('a[href="/recordings"]');
    await page.waitForSelector(`#calendar button[data-day="${PAST_DAY}"]`);
    expect(await page.locator('a.logout').count()).toBe(1);
    await page.click(`#calendar button[data-day="${PAST_DAY}"]`);
    await page.click('#list li[data-name="20260314-1215.mp4"] button.play');
    const v = await untilValue(() => videoState(page), (s) => s.currentTime > 0.3 && s.readyState >= 2, 'the recording to play with the session cookie');
    expect(v.error).toBeNull();
    await page.fill('#clip-start', '12:15:01');
    await page.fill('#clip-end', '12:15:02');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#clip-link')]);
    const clip = path.join(t.tmp, 'clip.mp4');
    await download.saveAs(clip);
    expect(probe(clip).frames).toBe(CARD_FPS); // frames 12 (the IDR at 1 s) to 23 (the last one starting before 2 s)
    expect(problems).toEqual([]);
  }, 90_000);
});
