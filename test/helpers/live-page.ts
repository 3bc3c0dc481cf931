// Test helpers for the live page in any browser driver (playwright's or puppeteer's Page): its stats and its picture.

/** What static/live.js publishes as window.pancakeStats. */
export interface PageStats {
  mode: string;
  drawn: number;
  lastSeq: number;
  delays: number[];
  decodeErrors: number;
  received: number;
  gaps: number;
}

/** The part of a Page both playwright-core and puppeteer-core have. */
export interface EvaluatingPage {
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
}

/** The page's stats (undefined before live.js ran). */
export const pageStats = (page: EvaluatingPage): Promise<PageStats | undefined> =>
  page.evaluate(() => (window as unknown as { pancakeStats?: PageStats }).pancakeStats, undefined);

/** Polls until the page has drawn `n` frames (20 s limit, for a loaded machine); returns its stats then. */
export async function waitDrawn(page: EvaluatingPage, n: number, timeoutMs = 20_000): Promise<PageStats> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const s = await pageStats(page);
    if (s && s.drawn >= n) return s;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${n} frames drawn (page stats: ${JSON.stringify(s && { ...s, delays: s.delays.length })})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The picture the page shows (the video element in MSE mode, else the canvas), scaled to 64x48
 * grey values: two of them differ when the picture moved; `spread` is 0 for a blank picture.
 */
export function pictureSample(page: EvaluatingPage): Promise<{ grey: number[]; spread: number; source: string }> {
  return page.evaluate(() => {
    const video = document.getElementById('video') as HTMLVideoElement | null;
    const canvas = document.getElementById('picture') as HTMLCanvasElement;
    const shown = video && !video.hidden ? video : canvas;
    const small = document.createElement('canvas');
    small.width = 64;
    small.height = 48;
    const ctx = small.getContext('2d')!;
    ctx.drawImage(shown, 0, 0, 64, 48);
    const d = ctx.getImageData(0, 0, 64, 48).data;
    const grey: number[] = [];
    for (let i = 0; i < d.length; i += 4) grey.push(Math.round((d[i]! + d[i + 1]! + d[i + 2]!) / 3));
    return { grey, spread: Math.max(...grey) - Math.min(...grey), source: shown.tagName.toLowerCase() };
  }, undefined);
}

/** How many of two samples' pixels differ by more than a little (compression noise aside). */
export function changedPixels(a: number[], b: number[]): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > 8) n++;
  return n;
}

/** The median of a list of numbers (NaN for none). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Polls `read()` until `ok` holds for its value (20 s limit unless told); returns that value, or throws naming `what` and the last value. */
export async function pollUntil<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
