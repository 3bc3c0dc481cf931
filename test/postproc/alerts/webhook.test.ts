// Webhook delivery against a real HTTP server: the JSON body, retries after failures and time-outs, a bounded queue, masked URLs.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/common/clock.js';
import { createLogger } from '../../../src/common/log.js';
import type { Alert } from '../../../src/postproc/alerts/health.js';
import { maskUrl, retryable, WebhookNotifier, webhookDelayMs } from '../../../src/postproc/alerts/webhook.js';
import { until } from '../../helpers/until.js';

const logger = createLogger({ program: 'test', level: 'error' });

interface Hit {
  path: string;
  contentType: string | undefined;
  body: unknown;
}

/** A webhook receiver: answers each request with the next scripted status (200 when the script is done; 0: never answers). */
async function startReceiver(script: number[] = []) {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
      const status = script.shift() ?? 200;
      if (status === 0) return; // hangs: the client's time-out must end it
      res.writeHead(status, status === 429 ? { 'retry-after': '0' } : {}).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = (p: string): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}${p}`;
  return { hits, url, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

const alert = (text: string): Alert => ({ camera: 'front', kind: 'pancake-silent', state: 'raised', text, time: '2026-01-01T12:00:00.000Z' });

describe('WebhookNotifier', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('POSTs each alert as JSON {camera, kind, state, text, time} to every URL, in order', async () => {
    const a = await startReceiver();
    const b = await startReceiver();
    cleanup.push(a.close, b.close);
    const hooks = new WebhookNotifier({ urls: [a.url('/hook/secret-a'), b.url('/?token=b')], clock: systemClock, logger });
    cleanup.push(() => hooks.close());
    hooks.send(alert('one'));
    hooks.send({ ...alert('two'), camera: null, state: 'cleared' });
    await until(() => a.hits.length === 2 && b.hits.length === 2, 'both delivered to both');
    expect(a.hits).toEqual([
      { path: '/hook/secret-a', contentType: 'application/json', body: { camera: 'front', kind: 'pancake-silent', state: 'raised', text: 'one', time: '2026-01-01T12:00:00.000Z' } },
      { path: '/hook/secret-a', contentType: 'application/json', body: { camera: null, kind: 'pancake-silent', state: 'cleared', text: 'two', time: '2026-01-01T12:00:00.000Z' } },
    ]);
    expect(b.hits.map((h) => (h.body as Alert).text)).toEqual(['one', 'two']);
  });

  it('retries server errors, 429 and a time-out with backoff, then delivers once; a 400 is given up at once', async () => {
    const r = await startReceiver([503, 0, 429, 200, 400]);
    cleanup.push(r.close);
    const hooks = new WebhookNotifier({ urls: [r.url('/h')], clock: systemClock, logger, timeoutMs: 300, initialBackoffMs: 20, maxBackoffMs: 100 });
    cleanup.push(() => hooks.close());
    hooks.send(alert('retried'));
    hooks.send(alert('refused'));
    hooks.send(alert('after'));
    await until(() => r.hits.length === 6, 'all answered');
    await hooks.idle();
    expect(r.hits.map((h) => (h.body as Alert).text)).toEqual(['retried', 'retried', 'retried', 'retried', 'refused', 'after']);
  });

  it('keeps at most queueSize alerts per URL while it is unreachable, dropping the oldest; send() never waits', async () => {
    const r = await startReceiver();
    const url = r.url('/h');
    await r.close(); // nothing listens there now
    const hooks = new WebhookNotifier({ urls: [url], clock: systemClock, logger, queueSize: 2, initialBackoffMs: 50, maxBackoffMs: 50, maxAttempts: 1000 });
    cleanup.push(() => hooks.close());
    // send() returns nothing to wait for: a caller (the receiver) is never held up by a dead URL.
    for (let i = 1; i <= 6; i++) expect(hooks.send(alert(`a${i}`))).toBeUndefined();
    // The one being tried stays; the queue keeps the newest two behind it.
    await new Promise((res) => setTimeout(res, 200));
    const again = await startReceiverOn(url);
    cleanup.push(again.close);
    await until(() => again.hits.length === 3, 'delivered after it came back');
    await new Promise((res) => setTimeout(res, 200));
    expect(again.hits.map((h) => (h.body as Alert).text)).toEqual(['a1', 'a5', 'a6']);
  });

  it.each([
    ['https://ntfy.sh/my-secret-topic', 'https://ntfy.sh/…'],
    ['https://ha.local:8123/api/webhook/abc?x=1', 'https://ha.local:8123/…'],
    ['http://user:pw@gw.example.com/', 'http://gw.example.com/'],
    ['not a url', '(a URL)'],
  ])('maskUrl(%j) is %j', (url, shown) => expect(maskUrl(url)).toBe(shown));

  it('retries what can change (no answer, 408, 429, 5xx) and not the rest; backoff doubles to its cap or follows Retry-After', () => {
    expect([undefined, 408, 429, 500, 503, 400, 401, 404].map(retryable)).toEqual([true, true, true, true, true, false, false, false]);
    expect([1, 2, 3, 10].map((n) => webhookDelayMs(n, 2000, 300_000))).toEqual([2000, 4000, 8000, 300_000]);
    expect(webhookDelayMs(1, 2000, 300_000, 30)).toBe(30_000);
  });
});

/** A receiver on the port of `url` (which was free). */
async function startReceiverOn(url: string) {
  const port = Number(new URL(url).port);
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { hits, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}
