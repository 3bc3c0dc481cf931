// WebKit (Safari's engine) for browser tests: WebKitGTK's MiniBrowser under Xvfb, driven over the W3C WebDriver HTTP API of WebKitWebDriver with plain fetch.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NON_SECURE_HOST } from './browser.js';
import type { EvaluatingPage } from './live-page.js';
import { freePort } from './net.js';

export const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER_PATH ?? '/usr/bin/WebKitWebDriver';
export const MINIBROWSER = process.env.MINIBROWSER_PATH ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
export const XVFB = process.env.XVFB_PATH ?? '/usr/bin/Xvfb';
/** Debian's packages for the above; gstreamer1.0-libav decodes H.264 for WebKit's <video>, MSE and WebCodecs. */
const PACKAGES = ['webkit2gtk-driver', 'xvfb', 'gstreamer1.0-libav'];

/** A desktop window and a phone-sized one (an iPhone's 390 CSS px). */
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/** The key under which WebDriver returns an element reference. */
const ELEMENT_KEY = 'element-6066-11e4-a52e-4f735466cecf';

const missingFiles = (): string[] => [WEBKIT_DRIVER, MINIBROWSER, XVFB, '/usr/bin/unshare'].filter((f) => !fs.existsSync(f));

/**
 * Makes sure WebKitWebDriver, MiniBrowser and Xvfb are there, installing Debian's packages first
 * when they are missing (as `scripts/deps.sh --test` does); `missing` says why they cannot be had,
 * and the tests that need them then say so and skip.
 */
export function ensureWebKit(): { ok: true } | { missing: string } {
  const installed = ensurePackages();
  if ('missing' in installed) return installed;
  // The non-secure name needs a private mount namespace (see startWebKit).
  const ns = inMountNamespace(['bash', '-c', 'mount --bind /etc/hosts /etc/hosts']);
  const r = spawnSync(ns[0]!, ns.slice(1), { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return { missing: `cannot make a private mount namespace for ${NON_SECURE_HOST} (${ns.slice(0, -2).join(' ')}: ${(r.stderr || String(r.error ?? `exit ${r.status}`)).trim()})` };
  return installed;
}

/** The programs and the H.264 decoder, installed with apt when missing. */
function ensurePackages(): { ok: true } | { missing: string } {
  if (missingFiles().length === 0 && gstHasH264()) return { ok: true };
  const apt = spawnSync('bash', ['-c', 'command -v apt-get'], { encoding: 'utf8' });
  if (apt.status !== 0) return { missing: `${missingFiles().join(', ') || 'GStreamer\'s avdec_h264'} missing and this system has no apt-get to install ${PACKAGES.join(' ')}` };
  const install = process.getuid?.() === 0 ? ['apt-get'] : ['sudo', '-n', 'apt-get'];
  const r = spawnSync(install[0]!, [...install.slice(1), 'install', '-y', '-q', '--no-install-recommends', ...PACKAGES], {
    encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000,
  });
  const still = missingFiles();
  if (r.status === 0 && still.length === 0 && gstHasH264()) return { ok: true };
  const why = (r.stderr || r.stdout || String(r.error ?? '')).trim().split('\n').slice(-2).join(' ');
  return { missing: `${still.join(', ') || 'a package'} missing and apt-get could not install ${PACKAGES.join(' ')} (${why || `exit ${r.status}`}); run scripts/deps.sh --test` };
}

/** Whether GStreamer has an H.264 decoder (WebKitGTK plays and decodes video with GStreamer). */
function gstHasH264(): boolean {
  return fs.existsSync(path.join(path.dirname(path.dirname(MINIBROWSER)), 'gstreamer-1.0', 'libgstlibav.so'));
}

/** A WebDriver error answer, as one line. */
class WebDriverError extends Error {}

/** One WebDriver session: one MiniBrowser window. Scripts run as functions of one argument, as in playwright's page.evaluate. */
export interface WebKitPage extends EvaluatingPage {
  /** Opens `url` and waits for its load event. */
  goto(url: string): Promise<void>;
  /** The address shown now. */
  url(): Promise<string>;
  /** Sets the window to `size` (CSS px of the viewport's window, toolbar-less MiniBrowser). */
  resize(size: { width: number; height: number }): Promise<void>;
  /** Clicks the first element matching `css` once it stands still (a real WebDriver click: scrolled into view, pointer events). */
  click(css: string): Promise<void>;
  /** Types `text` into the first element matching `css`. */
  type(css: string, text: string): Promise<void>;
  /** The rendered text of the first element matching `css`. */
  text(css: string): Promise<string>;
  /** A PNG of the first element matching `css`, as WebKit painted it. */
  screenshot(css: string): Promise<Buffer>;
  /** The value of cookie `name` as the browser holds it (with its flags), or undefined. */
  cookie(name: string): Promise<{ value: string; httpOnly: boolean; sameSite: string; secure: boolean } | undefined>;
  /** Deletes the cookies of the page's current origin. */
  clearCookies(): Promise<void>;
  /** Polls until `fn(arg)` in the page is truthy (20 s limit unless told); returns that value. */
  waitFor<R, A>(fn: (arg: A) => R | Promise<R>, arg: A, what: string, timeoutMs?: number): Promise<R>;
  /** Ends the session: MiniBrowser quits. */
  close(): Promise<void>;
}

/** A running WebKitWebDriver (with its Xvfb) in its own mount namespace, where {@link NON_SECURE_HOST} is 127.0.0.1. */
export interface WebKit {
  /** A new MiniBrowser window (a new session), ending the one before: WebKitWebDriver drives one at a time. */
  newPage(size?: { width: number; height: number }): Promise<WebKitPage>;
  /** What Xvfb, the driver and the browser printed (for failure messages). */
  log(): string;
  /** Ends the session if any, then the driver, Xvfb and the browser (their process group). */
  stop(): Promise<void>;
}

/** The command line that runs `argv` in a private mount namespace: as root plainly, else in a user namespace mapped to root. */
function inMountNamespace(argv: string[]): string[] {
  return process.getuid?.() === 0 ? ['unshare', '--mount', ...argv] : ['unshare', '--user', '--map-root-user', '--mount', ...argv];
}

/**
 * Starts Xvfb (on the first free display, `-displayfd`) and WebKitWebDriver (on a free port)
 * inside a private mount namespace whose /etc/hosts also maps {@link NON_SECURE_HOST} to
 * 127.0.0.1 — WebKit has no host-resolver flag. The network namespace is the host's, so pancake,
 * started outside, is reached on 127.0.0.1 as usual.
 */
export async function startWebKit(): Promise<WebKit> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pancake-webkit-'));
  fs.writeFileSync(path.join(tmp, 'hosts'), `${fs.readFileSync('/etc/hosts', 'utf8').trimEnd()}\n127.0.0.1 ${NON_SECURE_HOST}\n`);
  // MiniBrowser's toolbar (its buttons and address entry) keeps its window at least 447 px wide;
  // without their padding a 390 px window fits. The page itself is not styled.
  fs.mkdirSync(path.join(tmp, 'config', 'gtk-3.0'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'config', 'gtk-3.0', 'gtk.css'),
    'button, entry, toolbar, toolitem, toolbar * { padding: 0; margin: 0; min-width: 0; min-height: 0; border-width: 0; }\n');
  const port = await freePort();
  const script = [
    'set -e',
    'mount --bind "$WK_TMP/hosts" /etc/hosts',
    '"$WK_XVFB" -displayfd 3 -screen 0 1600x1200x24 -nolisten tcp 3>"$WK_TMP/display" &',
    'xvfb=$!',
    'until [ -s "$WK_TMP/display" ]; do kill -0 "$xvfb" 2>/dev/null || { echo "Xvfb exited" >&2; exit 1; }; sleep 0.05; done',
    'export DISPLAY=":$(cat "$WK_TMP/display")"',
    'exec "$WK_DRIVER" --port="$WK_PORT"',
  ].join('\n');
  const argv = inMountNamespace(['bash', '-c', script]);
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), {
    detached: true, // its own process group: stop() ends Xvfb and MiniBrowser with it
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env, WK_TMP: tmp, WK_XVFB: XVFB, WK_DRIVER: WEBKIT_DRIVER, WK_PORT: String(port),
      HOME: tmp, XDG_RUNTIME_DIR: tmp, XDG_CONFIG_HOME: path.join(tmp, 'config'), XDG_CACHE_HOME: path.join(tmp, 'cache'), XDG_DATA_HOME: path.join(tmp, 'data'),
      NO_AT_BRIDGE: '1', GTK_A11Y: 'none', LIBGL_ALWAYS_SOFTWARE: '1',
    },
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const killGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const onExit = (): void => killGroup('SIGKILL');
  process.once('exit', onExit);

  const base = `http://127.0.0.1:${port}`;
  const call = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${base}${route}`, {
      method, headers: body === undefined ? {} : { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = (await res.json()) as { value: T & { error?: string; message?: string } };
    if (!res.ok || (answer.value && typeof answer.value === 'object' && 'error' in answer.value && answer.value.error)) {
      throw new WebDriverError(`WebDriver ${method} ${route}: ${answer.value?.error}: ${answer.value?.message}`);
    }
    return answer.value;
  };

  // Ready when the driver answers /status.
  const deadline = performance.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`WebKitWebDriver exited (${child.exitCode}) before it was ready:\n${output}`);
    const ready = await call<{ ready: boolean }>('GET', '/status').then((s) => s.ready, () => false);
    if (ready) break;
    if (performance.now() > deadline) {
      killGroup('SIGKILL');
      throw new Error(`WebKitWebDriver did not answer on port ${port} within 20 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  let current: string | undefined;
  const webkit: WebKit = {
    async newPage(size = DESKTOP) {
      // One window at a time: a test that failed before closing its window leaves it to the next.
      if (current) await call('DELETE', `/session/${current}`).catch(() => {});
      current = undefined;
      const { sessionId: id } = await call<{ sessionId: string }>('POST', '/session', {
        capabilities: {
          alwaysMatch: {
            browserName: 'MiniBrowser',
            acceptInsecureCerts: true,
            'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation', '--autoplay-policy=allow-without-sound'] },
          },
        },
      });
      current = id;
      const s = `/session/${id}`;
      await call('POST', `${s}/timeouts`, { script: 30_000, pageLoad: 30_000, implicit: 0 });
      const find = async (css: string): Promise<string> =>
        (await call<Record<string, string>>('POST', `${s}/element`, { using: 'css selector', value: css }))[ELEMENT_KEY]!;
      const evaluate = async <R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R> => {
        // The function's own source, called with the argument; a rejection comes back as an error.
        // (__name: what esbuild's keep-names output, e.g. under tsx, calls for named inner functions.)
        const script = `const done = arguments[arguments.length - 1]; const arg = arguments[0]; const __name = (f) => f;
          Promise.resolve().then(() => (${fn.toString()})(arg)).then(
            (value) => done({ value: value === undefined ? null : value }),
            (e) => done({ error: String((e && e.stack) || e) }));`;
        const r = await call<{ value?: R; error?: string }>('POST', `${s}/execute/async`, { script, args: [arg ?? null] });
        if (r.error !== undefined) throw new Error(`script failed in WebKit: ${r.error}`);
        return (r.value ?? undefined) as R;
      };
      const page: WebKitPage = {
        evaluate,
        async goto(url) {
          await call('POST', `${s}/url`, { url });
        },
        url: () => call<string>('GET', `${s}/url`),
        async resize({ width, height }) {
          await call('POST', `${s}/window/rect`, { width, height });
        },
        async click(css) {
          // As playwright does: first wait until the element stops moving (a <video> getting its
          // size moves what is below it), else WebDriver's click can land on what moved there.
          await evaluate(async (selector) => {
            const rectOf = (): string => JSON.stringify(document.querySelector(selector)?.getBoundingClientRect());
            const frame = (): Promise<unknown> => new Promise((r) => requestAnimationFrame(r));
            for (let i = 0, last = rectOf(); i < 100; i++) {
              await frame();
              await frame();
              const now = rectOf();
              if (now === last) return;
              last = now;
            }
          }, css);
          await call('POST', `${s}/element/${await find(css)}/click`, {});
        },
        async type(css, text) {
          await call('POST', `${s}/element/${await find(css)}/value`, { text });
        },
        async text(css) {
          return call<string>('GET', `${s}/element/${await find(css)}/text`);
        },
        async screenshot(css) {
          return Buffer.from(await call<string>('GET', `${s}/element/${await find(css)}/screenshot`), 'base64');
        },
        async cookie(name) {
          const all = await call<{ name: string; value: string; httpOnly?: boolean; sameSite?: string; secure?: boolean }[]>('GET', `${s}/cookie`);
          const c = all.find((x) => x.name === name);
          return c && { value: c.value, httpOnly: c.httpOnly === true, sameSite: c.sameSite ?? '', secure: c.secure === true };
        },
        async clearCookies() {
          await call('DELETE', `${s}/cookie`);
        },
        async waitFor(fn, arg, what, timeoutMs = 20_000) {
          const until = performance.now() + timeoutMs;
          for (;;) {
            const v = await evaluate(fn, arg);
            if (v) return v;
            if (performance.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s in WebKit waiting for ${what} (at ${await page.url()})`);
            await new Promise((r) => setTimeout(r, 100));
          }
        },
        async close() {
          if (current !== id) return;
          current = undefined;
          await call('DELETE', s);
        },
      };
      await page.resize(size);
      return page;
    },
    log: () => output,
    async stop() {
      if (current) await call('DELETE', `/session/${current}`).catch(() => {});
      current = undefined;
      killGroup('SIGTERM');
      const killer = setTimeout(() => killGroup('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
      killGroup('SIGKILL'); // Xvfb or a browser process that outlived the driver
      process.removeListener('exit', onExit);
      fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  return webkit;
}
