// npm run bench:live — live-view delay in real headless Chromium, and pancake's CPU per viewer (H.264, MSE and JPEG).
//
// Delay: from pancake having an access unit (its first byte, or the moment it looked complete) to
// the browser drawing that frame (WebCodecs: drawn on the canvas; MSE: shown by the video element,
// requestVideoFrameCallback), measured on this machine's one clock (Date.now() both sides).
// CPU: pancake's own CPU plus its ffmpeg decoder children (JPEG mode), never the fake camera's,
// per second of video, with 0, 1 and 5 viewers. MSE pages are opened on a name that is not a
// secure context (pancake.test → 127.0.0.1), where the page picks MSE by itself, as on a Pi's address.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PROJECT_ROOT } from '../src/common/paths.js';
import { launchChromium, NON_SECURE_HOST, NON_SECURE_HOST_RULE } from '../test/helpers/browser.js';
import { printTable } from './lib/measure.js';
import { CLIP_1080P, ensure1080pClip } from './lib/clip.js';
import { childrenNamed, processCpuSeconds } from './lib/proc.js';

const FAKE_CAMERA_DIR = path.join(PROJECT_ROOT, 'test', 'fake-camera');
const WINDOW_S = Number(process.env.BENCH_SECONDS ?? 15);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Running {
  child: ChildProcess;
  url: string;
}

async function startPancake(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'pancake', 'main.js'), '--host', '127.0.0.1', '--port', '0', ...args], {
    env: { ...process.env, PATH: `${FAKE_CAMERA_DIR}:${process.env.PATH}`, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /web: live view on (http:\/\/127\.0\.0\.1:\d+)\//.exec(log);
      if (m) resolve(m[1]!);
    });
    child.on('exit', () => reject(new Error(`pancake exited:\n${log}`)));
  });
  return { child, url };
}

async function stop(p: Running): Promise<void> {
  p.child.kill('SIGTERM');
  await new Promise((r) => p.child.once('close', r));
}

/** pancake's CPU plus that of its ffmpeg children (the decoder), not the camera. */
function treeCpu(pid: number): number {
  return childrenNamed(pid, 'ffmpeg').reduce((sum, child) => sum + processCpuSeconds(child), processCpuSeconds(pid));
}

async function openViewers(browser: Browser, url: string, n: number): Promise<Page[]> {
  const pages: Page[] = [];
  for (let i = 0; i < n; i++) {
    const page = await browser.newPage();
    await page.goto(url);
    pages.push(page);
  }
  for (const page of pages) {
    await page.waitForFunction(() => ((window as unknown as { pancakeStats?: { drawn: number } }).pancakeStats?.drawn ?? 0) > 2, undefined, { timeout: 20_000 });
  }
  return pages;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

type Mode = 'h264' | 'mse' | 'jpeg';

/** The page's address for `mode`: MSE on the non-secure name (the page's own choice there), the others forced on 127.0.0.1. */
function pageUrl(base: string, mode: Mode): string {
  return mode === 'mse' ? `http://${NON_SECURE_HOST}:${new URL(base).port}/` : `${base}/?mode=${mode}`;
}

async function delays(browser: Browser, mode: Mode, label: string, args: string[], env: Record<string, string>): Promise<(string | number)[]> {
  const p = await startPancake(args, env);
  const [page] = await openViewers(browser, pageUrl(p.url, mode), 1);
  const shown = await page!.evaluate(() => (window as unknown as { pancakeStats: { mode: string } }).pancakeStats.mode);
  if (shown !== mode) throw new Error(`the page chose ${shown}, not ${mode}`);
  await sleep(4000); // MSE: the player starts at the GOP's keyframe and catches up with the live edge first
  await page!.evaluate(() => ((window as unknown as { pancakeStats: { delays: number[] } }).pancakeStats.delays = []));
  await sleep(WINDOW_S * 1000);
  const d = await page!.evaluate(() => (window as unknown as { pancakeStats: { delays: number[]; decodeErrors: number } }).pancakeStats);
  await page!.close();
  await stop(p);
  const sorted = [...d.delays].sort((a, b) => a - b);
  return [mode, label, String(sorted.length), percentile(sorted, 50), percentile(sorted, 95), String(d.decodeErrors)];
}

async function cpuPerViewers(browser: Browser, mode: Mode, label: string, args: string[], env: Record<string, string> = {}): Promise<(string | number)[][]> {
  const rows: (string | number)[][] = [];
  const p = await startPancake([...args, '--max-stream-fps', '10'], env);
  let pages: Page[] = [];
  for (const n of [0, 1, 5]) {
    pages.push(...(await openViewers(browser, pageUrl(p.url, mode), n - pages.length)));
    await sleep(3000);
    const t0 = treeCpu(p.child.pid!);
    await sleep(WINDOW_S * 1000);
    const cpu = (treeCpu(p.child.pid!) - t0) / WINDOW_S;
    const fps = await Promise.all(pages.map((page) => page.textContent('#fps')));
    const decoders = childrenNamed(p.child.pid!, 'ffmpeg').length;
    rows.push([mode, label, String(n), cpu, String(decoders), fps.length ? fps.join(' ') : '-']);
  }
  for (const page of pages) await page.close();
  pages = [];
  await stop(p);
  return rows;
}

spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
ensure1080pClip();
const browser = await launchChromium([NON_SECURE_HOST_RULE]);
const SMALL = ['--resolution', '640', '480', '--fps', '12'];
const SMALL_LABEL = '640x480 12 fps (test card)';
const LARGE = ['--resolution', '1920', '1080', '--fps', '30'];
const LARGE_LABEL = '1920x1080 30 fps 8 Mbit/s';
const LARGE_ENV = { FAKE_CAMERA_SOURCE: CLIP_1080P };
console.log(`delay, ${WINDOW_S} s per row (one viewer)`);
const delayRows = [
  await delays(browser, 'h264', SMALL_LABEL, SMALL, {}),
  await delays(browser, 'h264', LARGE_LABEL, LARGE, LARGE_ENV),
  await delays(browser, 'mse', SMALL_LABEL, SMALL, {}),
  await delays(browser, 'mse', LARGE_LABEL, LARGE, LARGE_ENV),
];
printTable([['mode', 'stream', 'frames', 'median ms', 'p95 ms', 'decode errors'], ...delayRows]);
console.log(`\npancake CPU (its own + decoder children), ${WINDOW_S} s per row`);
const h264 = await cpuPerViewers(browser, 'h264', SMALL_LABEL, SMALL);
const jpeg = await cpuPerViewers(browser, 'jpeg', SMALL_LABEL, SMALL);
const mse = await cpuPerViewers(browser, 'mse', SMALL_LABEL, SMALL);
const mseLarge = await cpuPerViewers(browser, 'mse', LARGE_LABEL, LARGE, LARGE_ENV);
printTable([['mode', 'stream', 'viewers', 'CPU-s per s', 'decoders', 'fps shown per viewer'], ...h264, ...jpeg, ...mse, ...mseLarge]);
/** CPU-s per s that each of the 5 viewers added to none. */
const perViewer = (rows: (string | number)[][]): string => (((rows[2]![3] as number) - (rows[0]![3] as number)) / 5).toFixed(4);
console.log(`each extra viewer, CPU-s per s (target ≤ 0.005 for H.264 and MSE): H.264 ${perViewer(h264)}, MSE ${perViewer(mse)} (640x480), MSE ${perViewer(mseLarge)} (1080p30), JPEG ${perViewer(jpeg)}`);
console.log(`median delay: H.264 1080p30 ${delayRows[1]![3]} ms (target ≤ 50), MSE 1080p30 ${delayRows[3]![3]} ms (target ≤ 250)`);
await browser.close();
