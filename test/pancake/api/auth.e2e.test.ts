// With --login every API route needs the session cookie or the --api-token as a Bearer token; the pages keep their login; --api-token's errors exit 3.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TESTCARD_PATH } from '../../../src/common/paths.js';
import { makeTmp, probe, removeTmp, runDist } from '../../helpers/env.js';
import { startLivePancake, type LivePancake } from '../../helpers/live.js';

const TOKEN = 'token-for-the-tests-0123456789';
const T0 = new Date(2025, 10, 15, 12, 0, 0).getTime();
const ROUTES = [
  '/api/status', '/api/recordings/days', '/api/recordings?day=2025-11-15', '/api/recordings/20251115-1200.mp4',
  `/api/clip.mp4?start=${new Date(T0 + 1000).toISOString()}&duration=2`, '/api/events', '/api/nothing',
];

let tmp: string;
let hashFile: string;
let pancake: LivePancake;

beforeAll(async () => {
  tmp = makeTmp('api-auth-test-');
  hashFile = path.join(tmp, 'password.txt');
  expect((await runDist('util/set-password.js', [hashFile], { input: 'correct horse\n' })).status).toBe(0);
  const dir = path.join(tmp, 'h264');
  fs.mkdirSync(dir);
  fs.copyFileSync(TESTCARD_PATH, path.join(dir, '20251115-1200.h264'));
  pancake = await startLivePancake(['--camera', 'test', '--record-continuous', dir, '--login', hashFile, '--api-token', 'env:PANCAKE_TEST_TOKEN'], { PANCAKE_TEST_TOKEN: TOKEN });
}, 60_000);

afterAll(async () => {
  await pancake?.stop('SIGKILL');
  removeTmp(tmp);
});

async function session(): Promise<string> {
  const res = await fetch(`${pancake.url}/login`, {
    method: 'POST', redirect: 'manual', body: 'password=correct+horse', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  expect(res.status).toBe(303);
  return /pancake_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0];
}

describe('the API behind --login', () => {
  it('refuses every route without a session or with a wrong token, with 401 JSON', async () => {
    for (const route of ROUTES) {
      for (const headers of [{}, { Authorization: 'Bearer wrong-token-0123456789' }, { Authorization: `Basic ${TOKEN}` }, { Cookie: 'pancake_session=1.2.3' }] as Record<string, string>[]) {
        const res = await fetch(`${pancake.url}${route}`, { headers });
        expect([route, headers, res.status]).toEqual([route, headers, 401]);
        expect(((await res.json()) as { error: string }).error).toMatch(/^login required/);
      }
    }
    const put = await fetch(`${pancake.url}/api/recording`, { method: 'PUT', body: '{"continuous": false}' });
    expect(put.status).toBe(401);
    // Nothing was paused by the refused request.
    expect(pancake.log()).not.toContain('continuous recording paused');
  });

  it('answers every route to the Bearer token and to the session cookie', async () => {
    const cookie = await session();
    for (const headers of [{ Authorization: `Bearer ${TOKEN}` }, { Cookie: cookie }] as Record<string, string>[]) {
      for (const route of ROUTES) {
        const res = await fetch(`${pancake.url}${route}`, { headers });
        const want = route === '/api/nothing' ? 404 : 200;
        expect([route, res.status]).toEqual([route, want]);
        if (route.includes('.mp4')) {
          const file = path.join(tmp, 'auth.mp4');
          fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
          expect(probe(file).frames).toBe(route.includes('clip') ? 24 : 288);
        } else {
          await res.arrayBuffer();
        }
      }
    }
    const put = await fetch(`${pancake.url}/api/recording`, { method: 'PUT', body: '{"continuous": true}', headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(put.status).toBe(200);
  });

  it('keeps the Recordings page behind the login form (the token is for the API only)', async () => {
    const page = await fetch(`${pancake.url}/recordings`, { redirect: 'manual', headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/login');
  });
});

describe('--api-token', () => {
  for (const [args, env, message] of [
    [['--api-token', 'env:PANCAKE_TEST_TOKEN'], { PANCAKE_TEST_TOKEN: TOKEN }, '--api-token is set. Please also set --login'],
    [['--login', 'LOGIN', '--api-token', TOKEN], {}, '--api-token: give env:NAME or file:PATH'],
    [['--login', 'LOGIN', '--api-token', 'env:PANCAKE_TEST_TOKEN'], { PANCAKE_TEST_TOKEN: 'short' }, '--api-token: the token is shorter than 16 characters'],
    [['--login', 'LOGIN', '--api-token', 'env:PANCAKE_NO_SUCH_VARIABLE'], {}, '--api-token: environment variable PANCAKE_NO_SUCH_VARIABLE is not set'],
    [['--login', 'LOGIN', '--api-token', 'file:/nonexistent/token'], {}, '--api-token: cannot read secret file /nonexistent/token'],
  ] as const) {
    it(`exits 3 with "${message}"`, async () => {
      const argv = args.map((a) => (a === 'LOGIN' ? hashFile : a));
      const r = await runDist('pancake/main.js', ['--camera', 'test', '--port', '0', ...argv], { env: { ...process.env, ...env } });
      expect(r.status).toBe(3);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toContain(TOKEN);
    });
  }
});
