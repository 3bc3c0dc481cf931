// npm run bench:live — live-view delay in real headless Chromium, and pancake's CPU per viewer (H.264 and JPEG).
//
// Delay: from pancake having an access unit (its first byte, or the moment it looked complete) to
// the browser drawing that frame, measured on this machine's one clock (Date.now() both sides).
// CPU: pancake's own CPU plus its ffmpeg decoder children (JPEG mode), never the fake camera's,
// per second of video, with 0, 1 and 5 viewers.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PROJECT_ROOT } from '../src/common/paths.js';
import { launchChromium } from '../test/helpers/browser.js';
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

async function delays(browser: Browser, label: string, args: string[], env: Record<string, string>): Promise<(string | number)[]> {
  const p = await startPancake(args, env);
  const [page] = await openViewers(browser, p.url, 1);
  await sleep(2000);
  await page!.evaluate(() => ((window as unknown as { pancakeStats: { delays: number[] } }).pancakeStats.delays = []));
  await sleep(WINDOW_S * 1000);
  const d = await page!.evaluate(() => (window as unknown as { pancakeStats: { delays: number[]; decodeErrors: number } }).pancakeStats);
  await page!.close();
  await stop(p);
  const sorted = [...d.delays].sort((a, b) => a - b);
  return [label, String(sorted.length), percentile(sorted, 50), percentile(sorted, 95), String(d.decodeErrors)];
}

async function cpuPerViewers(browser: Browser, mode: 'h264' | 'jpeg'): Promise<(string | number)[][]> {
  const rows: (string | number)[][] = [];
  const p = await startPancake(['--resolution', '640', '480', '--max-stream-fps', '10']);
  let pages: Page[] = [];
  for (const n of [0, 1, 5]) {
    pages.push(...(await openViewers(browser, `${p.url}/?mode=${mode}`, n - pages.length)));
    await sleep(3000);
    const t0 = treeCpu(p.child.pid!);
    await sleep(WINDOW_S * 1000);
    const cpu = (treeCpu(p.child.pid!) - t0) / WINDOW_S;
    const fps = await Promise.all(pages.map((page) => page.textContent('#fps')));
    rows.push([mode, String(n), cpu, fps.length ? fps.join(' ') : '-']);
  }
  for (const page of pages) await page.close();
  pages = [];
  await stop(p);
  return rows;
}

spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
ensure1080pClip();
const browser = await launchChromium();
console.log(`delay, ${WINDOW_S} s per row (H.264 mode, one viewer)`);
printTable([
  ['stream', 'frames', 'median ms', 'p95 ms', 'decode errors'],
  await delays(browser, '640x480 12 fps (test card)', ['--resolution', '640', '480', '--fps', '12'], {}),
  await delays(browser, '1920x1080 30 fps 8 Mbit/s', ['--resolution', '1920', '1080', '--fps', '30'], { FAKE_CAMERA_SOURCE: CLIP_1080P }),
]);
console.log(`\npancake CPU (its own + decoder children), 640x480 12 fps, ${WINDOW_S} s per row`);
const h264 = await cpuPerViewers(browser, 'h264');
const jpeg = await cpuPerViewers(browser, 'jpeg');
printTable([['mode', 'viewers', 'CPU-s per s', 'fps shown per viewer'], ...h264, ...jpeg]);
const perViewer = ((h264[2]![2] as number) - (h264[0]![2] as number)) / 5;
console.log(`each extra H.264 viewer: ${perViewer.toFixed(4)} CPU-s per s (target ≤ 0.005); median delay target ≤ 50 ms`);
await browser.close();
