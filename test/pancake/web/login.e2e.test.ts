// --login: pages, websocket and snapshot need a session; wrong passwords are slow and rate-limited.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../helpers/browser.js';
import { makeTmp, removeTmp, run, runDist } from '../../helpers/env.js';
import { startLivePancake, type LivePancake } from '../../helpers/live.js';

/** Opens a websocket and resolves with how it ended: "open" or the HTTP status of the refusal. */
function tryWebSocket(url: string, cookie?: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/websocket`, { headers: cookie ? { Cookie: cookie } : {} });
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
    ws.on('error', () => {});
  });
}

const post = (url: string, body: string, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(url, { method: 'POST', redirect: 'manual', body, headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers } });

describe('login', () => {
  let browser: Browser;
  let tmp: string;
  let hashFile: string;
  let pancake: LivePancake | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
    tmp = makeTmp();
    hashFile = path.join(tmp, 'password.txt');
    const r = await runDist('util/set-password.js', [hashFile], { input: 'correct horse\n' });
    expect(r.status).toBe(0);
  });
  afterAll(async () => {
    await browser?.close();
    removeTmp(tmp);
  });
  afterEach(async () => {
    await pancake?.stop('SIGKILL');
    pancake = undefined;
  });

  it('refuses everything without a session, then works after the right password and stops after logout', async () => {
    pancake = await startLivePancake(['--login', hashFile]);
    const root = await fetch(`${pancake.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(303);
    expect(root.headers.get('location')).toBe('/login');
    expect((await fetch(`${pancake.url}/snapshot.jpg`)).status).toBe(401);
    expect(await tryWebSocket(pancake.url)).toBe('401');
    expect(await tryWebSocket(pancake.url, 'pancake_session=1.2.3')).toBe('401');

    const page = await browser.newPage();
    await page.goto(pancake.url);
    expect(new URL(page.url()).pathname).toBe('/login');
    // Wrong: answered after at least 3 s, back to the form with an error.
    await page.fill('#password', 'wrong');
    const t0 = Date.now();
    await Promise.all([page.waitForURL(/\/login\?error$/), page.click('button[type=submit]')]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2900);
    expect(await page.textContent('.error')).toBe('Wrong password.');
    // Right: the live page, streaming.
    await page.fill('#password', 'correct horse');
    await Promise.all([page.waitForURL(`${pancake.url}/`), page.click('button[type=submit]')]);
    await page.waitForFunction(() => ((window as unknown as { pancakeStats?: { drawn: number } }).pancakeStats?.drawn ?? 0) > 3);
    const cookie = (await page.context().cookies()).find((c) => c.name === 'pancake_session')!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe('Strict');
    expect(cookie.secure).toBe(false);
    expect(await tryWebSocket(pancake.url, `pancake_session=${cookie.value}`)).toBe('open');
    const snap = await fetch(`${pancake.url}/snapshot.jpg`, { headers: { Cookie: `pancake_session=${cookie.value}` } });
    expect(snap.status).toBe(200);
    // Logout: the cookie goes, the page asks for the password again.
    await page.click('a.logout');
    await page.waitForURL(/\/login$/);
    expect((await page.context().cookies()).find((c) => c.name === 'pancake_session')).toBeUndefined();
    await page.close();
  }, 40_000);

  it('rate-limits repeated wrong passwords from one address', async () => {
    pancake = await startLivePancake(['--login', hashFile]);
    for (let i = 0; i < 5; i++) expect((await post(`${pancake.url}/login`, 'password=nope')).headers.get('location')).toBe('/login?error');
    const locked = await post(`${pancake.url}/login`, 'password=correct+horse');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(800);
    // The log comes through a pipe: it may arrive after the answer.
    await pancake.waitForLog('too many wrong passwords');
  }, 60_000);

  it('checks at most one of 20 parallel guesses; the others are refused at once with 429', async () => {
    pancake = await startLivePancake(['--login', hashFile]);
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const r = await post(`${pancake!.url}/login`, 'password=nope');
        return { status: r.status, ms: Date.now() - started };
      }),
    );
    const checked = answers.filter((a) => a.status === 303);
    const refused = answers.filter((a) => a.status === 429);
    expect(checked.length).toBeGreaterThanOrEqual(1);
    expect(checked.length).toBeLessThanOrEqual(5);
    expect(refused.length).toBe(20 - checked.length);
    // Refused at once, not after the 3 s a checked wrong password waits.
    for (const r of refused) expect(r.ms).toBeLessThan(2500);
    // Each checked guess was logged 3 s before it was answered.
    await pancake.waitForLog('wrong password from');
    expect((pancake.log().match(/wrong password from/g) ?? []).length).toBe(checked.length);
  }, 30_000);

  it('refuses an oversized login body with 413 without reading it', async () => {
    pancake = await startLivePancake(['--login', hashFile]);
    const big = await post(`${pancake.url}/login`, `password=${'x'.repeat(10_000)}`);
    expect(big.status).toBe(413);
    expect(pancake.child.exitCode).toBeNull();
  });

  it('accepts a hash file made by the original set_password.py, and warns to re-hash it', async () => {
    const legacy = path.join(tmp, 'legacy.txt');
    fs.writeFileSync(legacy, crypto.createHash('sha512').update('old secret').digest('hex') + '\n');
    pancake = await startLivePancake(['--login', legacy]);
    expect(pancake.log()).toMatch(/--login: .*unsalted.*pancake-set-password/);
    const ok = await post(`${pancake.url}/login`, 'password=old+secret');
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/');
    expect(ok.headers.get('set-cookie')).toMatch(/^pancake_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
  });

  it('serves HTTPS with --tls-cert/--tls-key, with a Secure cookie', async () => {
    const cert = path.join(tmp, 'cert.pem');
    const key = path.join(tmp, 'key.pem');
    const r = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1']);
    expect(r.status).toBe(0);
    pancake = await startLivePancake(['--login', hashFile, '--tls-cert', cert, '--tls-key', key]);
    expect(pancake.url.startsWith('https://')).toBe(true);
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(pancake.url);
    await page.fill('#password', 'correct horse');
    await Promise.all([page.waitForURL(`${pancake.url}/`), page.click('button[type=submit]')]);
    await page.waitForFunction(() => ((window as unknown as { pancakeStats?: { drawn: number } }).pancakeStats?.drawn ?? 0) > 3);
    expect((await context.cookies()).find((c) => c.name === 'pancake_session')!.secure).toBe(true);
    await context.close();
  }, 30_000);

  it.each([
    [['--login', 'missing.txt'], /^pancake: --login: password file missing.txt does not exist; create it with: pancake-set-password missing.txt$/],
    [['--tls-cert', 'cert.pem'], /^pancake: --tls-cert is set\. Please also set --tls-key\.$/],
    [['--port', '70000'], /^pancake: --port: must be at most 65535: 70000$/],
    [['--max-stream-fps', '0'], /^pancake: --max-stream-fps: must be at least 1: 0$/],
  ])('%j is refused with exit 3', async (args, message) => {
    const r = await runDist('pancake/main.js', ['--camera', 'test', ...args], { cwd: tmp });
    expect(r.stderr.trim()).toMatch(message);
    expect(r.status).toBe(3);
  });
});
