// TelegramNotifier against the fake Bot API server: texts, video bytes, 429, queue bound, large clips, no token in logs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { NetworkError, TelegramApiError } from 'node-telegram-bot-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/common/clock.js';
import { TESTCARD_PATH } from '../../src/common/paths.js';
import { retryDelayMs, stillArgs, TelegramNotifier, type TelegramNotifierOptions } from '../../src/postproc/telegram.js';
import { FakeTelegram } from '../helpers/fake-telegram.js';
import { makeTmp, removeTmp } from '../helpers/env.js';

const TOKEN = '123456:SECRET-token-value';
const OTHER = '654321:other-SECRET';

/** A winston logger whose lines land in an array. */
function memoryLogger(): { logger: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = winston.createLogger({ format: winston.format.printf(({ level, message }) => `${level}: ${String(message)}`), transports: [new winston.transports.Stream({ stream })] });
  return { logger, lines };
}

describe('retryDelayMs', () => {
  it.each([
    ['429 with retry_after 3', new TelegramApiError(429, 'Too Many Requests', { retry_after: 3 }), 1, 3000],
    ['429 without retry_after', new TelegramApiError(429, 'Too Many Requests'), 1, 1000],
    ['502', new TelegramApiError(502, 'Bad Gateway'), 3, 4000],
    ['network error', new NetworkError('Network request failed: sendVideo'), 1, 1000],
    ['network error, 10th attempt (capped)', new NetworkError('x'), 10, 60_000],
    ['401 (wrong token)', new TelegramApiError(401, 'Unauthorized'), 1, undefined],
    ['400 (chat not found)', new TelegramApiError(400, 'Bad Request: chat not found'), 1, undefined],
    ['a bug', new TypeError('x is undefined'), 1, undefined],
  ])('%s', (_name, err, attempt, expected) => {
    expect(retryDelayMs(err, attempt)).toBe(expected);
  });
});

describe('stillArgs', () => {
  it('asks ffmpeg for one JPEG frame, quietly, overwriting', () => {
    expect(stillArgs('/m/a.mp4', '/t/s.jpg')).toEqual(['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', '/m/a.mp4', '-frames:v', '1', '-q:v', '3', '-f', 'image2', '/t/s.jpg']);
  });
});

describe('TelegramNotifier', () => {
  let tmp: string;
  let fake: FakeTelegram;
  let notifier: TelegramNotifier | undefined;
  let log: ReturnType<typeof memoryLogger>;

  beforeEach(async () => {
    tmp = makeTmp('postproc-telegram-');
    fake = await FakeTelegram.start([TOKEN, OTHER]);
    log = memoryLogger();
  });

  afterEach(async () => {
    await notifier?.close();
    notifier = undefined;
    await fake.close();
    removeTmp(tmp);
  });

  function make(options: Partial<TelegramNotifierOptions> = {}): TelegramNotifier {
    notifier = new TelegramNotifier({
      destinations: [{ token: TOKEN, chatId: '1001' }], apiRoot: fake.apiRoot, queueSize: 8,
      tmpDir: path.join(tmp, 'state-tmp'), clock: systemClock, logger: log.logger, ...options,
    });
    notifier.start();
    return notifier;
  }

  it('sends a text to every chat, and a video with its caption and exact bytes', async () => {
    const mp4 = path.join(tmp, '20260101-120000.mp4');
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff));
    fs.writeFileSync(mp4, bytes);
    const n = make({ destinations: [{ token: TOKEN, chatId: '1001' }, { token: OTHER, chatId: '@cctv' }] });
    await n.send({ text: 'Detection changed to True' });
    await n.send({ text: 'Detection changed to False', video: mp4 });
    const calls = fake.delivered;
    expect(calls.map((c) => [c.method, c.token, c.fields.chat_id])).toEqual(expect.arrayContaining([
      ['sendMessage', TOKEN, '1001'], ['sendMessage', OTHER, '@cctv'], ['sendVideo', TOKEN, '1001'], ['sendVideo', OTHER, '@cctv'],
    ]));
    expect(calls).toHaveLength(4);
    for (const c of calls.filter((c) => c.method === 'sendMessage')) expect(c.fields.text).toBe('Detection changed to True');
    for (const c of calls.filter((c) => c.method === 'sendVideo')) {
      expect(c.fields.caption).toBe('Detection changed to False');
      expect(c.files.video!.filename).toBe('20260101-120000.mp4');
      expect(c.files.video!.data.equals(bytes)).toBe(true);
    }
  });

  it('waits the retry_after of a 429 and then delivers', async () => {
    fake.rateLimit('sendMessage', 1);
    const n = make();
    const started = performance.now();
    await n.send({ text: 'Camera down: camera child exited' });
    const [limited, delivered] = fake.calls;
    expect([limited!.status, delivered!.status]).toEqual([429, 200]);
    expect(delivered!.at - limited!.at).toBeGreaterThanOrEqual(950);
    // Telegram's 1 s, not a longer wait of its own.
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(log.lines.join('')).toContain('Telegram asks to wait 1 s');
  });

  it('gives up on a refused call without holding the other chats, and never logs a token', async () => {
    const n = make({ destinations: [{ token: 'wrong:TOKEN-never-logged', chatId: '1' }, { token: TOKEN, chatId: '1001' }] });
    await n.send({ text: 'Storage error: ENOSPC' });
    expect(fake.calls.map((c) => c.status).sort()).toEqual([200, 401]);
    const text = log.lines.join('');
    expect(text).toContain('failed (401 Unauthorized); giving up after 1 attempt(s)');
    expect(text).not.toContain('TOKEN-never-logged');
    expect(text).not.toContain('SECRET');
  });

  it('retries a server that is down and redacts the token from network errors', async () => {
    const port = Number(new URL(fake.apiRoot).port);
    await fake.close();
    fake = await FakeTelegram.start(); // for afterEach; the notifier talks to the closed port
    const n = make({ maxAttempts: 2, apiRoot: `http://127.0.0.1:${port}/${TOKEN}` });
    const started = performance.now();
    await n.send({ text: 'x' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    const text = log.lines.join('');
    expect(text).toContain('ECONNREFUSED');
    expect(text).toContain('retrying 1 s (attempt 1 of 2)');
    expect(text).toContain('giving up after 2 attempt(s)');
    expect(text).not.toContain('SECRET');
  });

  it('drops the oldest waiting notification when the queue is full', async () => {
    fake.rateLimit('sendMessage', 1); // holds the first one for a second, so the others queue up
    const n = make({ queueSize: 2 });
    const sends = ['one', 'two', 'three', 'four'].map((text) => n.send({ text }));
    await Promise.all(sends);
    expect(fake.delivered.map((c) => c.fields.text)).toEqual(['one', 'three', 'four']);
    expect(log.lines.join('')).toContain('Telegram queue full (2 waiting): dropped the oldest notification: "two"');
  });

  it('sends a still picture and the text for a clip over the size limit', async () => {
    const mp4 = path.join(tmp, '20260101-120000.mp4');
    const r = spawnSync('ffmpeg', ['-v', 'error', '-framerate', '12', '-i', TESTCARD_PATH, '-frames:v', '24', '-c', 'copy', mp4]);
    expect(r.status).toBe(0);
    const n = make({ maxVideoBytes: 1000 });
    await n.send({ text: 'Detection changed to True', video: mp4 });
    const [call] = fake.delivered;
    expect(call!.method).toBe('sendPhoto');
    expect(call!.fields.caption).toMatch(/^Detection changed to True \(the clip 20260101-120000\.mp4, [\d.]+ MB, is over Telegram's 0\.0 MB limit\)$/);
    const jpeg = call!.files.photo!.data;
    expect(jpeg.subarray(0, 2).toString('hex')).toBe('ffd8');
    expect(fs.readdirSync(path.join(tmp, 'state-tmp'))).toEqual([]); // the still is removed
  });

  it('sends the text with a note when no still can be made (ffmpeg missing)', async () => {
    const mp4 = path.join(tmp, '20260101-120000.mp4');
    fs.writeFileSync(mp4, Buffer.alloc(2000));
    const n = make({ maxVideoBytes: 1000, ffmpeg: path.join(tmp, 'no-ffmpeg') });
    await n.send({ text: 'Detection changed to True', video: mp4 });
    expect(fake.delivered.map((c) => [c.method, c.fields.text])).toEqual([
      ['sendMessage', "Detection changed to True (the clip 20260101-120000.mp4, 0.0 MB, is over Telegram's 0.0 MB limit)"],
    ]);
    expect(log.lines.join('')).toContain('no still could be made');
  });

  it('sends the text alone when the clip is gone', async () => {
    const n = make();
    await n.send({ text: 'Detection changed to True', video: path.join(tmp, 'gone.mp4') });
    expect(fake.delivered.map((c) => [c.method, c.fields.text])).toEqual([['sendMessage', 'Detection changed to True (the clip is no longer on disk)']]);
  });

  it('rejects what it has not sent when closed', async () => {
    fake.rateLimit('sendMessage', 30);
    const n = make();
    const first = n.send({ text: 'one' });
    const second = n.send({ text: 'two' });
    await new Promise((r) => setTimeout(r, 200));
    await n.close();
    await expect(first).rejects.toThrow('postproc is stopping');
    await expect(second).rejects.toThrow('postproc is stopping');
    await expect(n.send({ text: 'three' })).rejects.toThrow('closed');
  });
});
