// Telegram notifications: a bounded queue, every destination gets every message, 429s and outages retried.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Api, NetworkError, ParseError, TelegramApiError, TimeoutError } from 'node-telegram-bot-api';
import { fromPath } from 'node-telegram-bot-api/node';
import { ChildProcessHandle, describeExit, lastLines } from '../common/child.js';
import { sleep, type Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import type { TelegramDestination } from './options.js';

/** One message for every chat: a text, with the MP4 it is about when there is one. */
export interface Notification {
  text: string;
  video?: string;
}

/** Telegram's limit for files a bot uploads. */
export const TELEGRAM_MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

export interface TelegramNotifierOptions {
  destinations: TelegramDestination[];
  /** Bot API server, default https://api.telegram.org. */
  apiRoot: string;
  /** Notifications waiting; past it the oldest is dropped with a warning. */
  queueSize: number;
  /** Where a still picture of a too-large clip is written (and deleted after sending). */
  tmpDir: string;
  clock: Clock;
  logger: Logger;
  /** Clips larger than this are sent as a still picture plus the text. */
  maxVideoBytes?: number;
  /** Tries per message and chat before giving up. */
  maxAttempts?: number;
  /** The ffmpeg that extracts stills. */
  ffmpeg?: string;
}

/**
 * How long to wait before trying a failed call again, or undefined when trying again cannot
 * help (a wrong token, an unknown chat, a refused file). Pure.
 */
export function retryDelayMs(err: unknown, attempt: number): number | undefined {
  const backoff = Math.min(60_000, 1000 * 2 ** (attempt - 1));
  if (err instanceof TelegramApiError) {
    if (err.errorCode === 429) return Math.min(3600, Math.max(1, err.retryAfter ?? 1)) * 1000;
    return err.errorCode >= 500 ? backoff : undefined;
  }
  if (err instanceof NetworkError || err instanceof TimeoutError || err instanceof ParseError) return backoff;
  return undefined;
}

/** ffmpeg's arguments for a JPEG of a clip's first frame. */
export function stillArgs(mp4: string, jpg: string): string[] {
  return ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', mp4, '-frames:v', '1', '-q:v', '3', '-f', 'image2', jpg];
}

type Prepared =
  | { method: 'sendMessage'; text: string }
  | { method: 'sendVideo' | 'sendPhoto'; file: string; caption: string; what: string };

interface Waiting {
  notification: Notification;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Sends notifications to every `--notify-telegram` chat, one notification at a time, to all
 * chats at once (a failing chat never holds the others). A 429 waits the `retry_after` Telegram
 * asks for; network errors and 5xx back off; other errors give up after logging. Bot tokens
 * appear in request URLs only, never in a log line or an error message.
 */
export class TelegramNotifier {
  private readonly queue: Waiting[] = [];
  private readonly apis: Api[];
  private readonly abort = new AbortController();
  private worker: Promise<void> | undefined;
  private started = false;
  private closed = false;

  constructor(private readonly options: TelegramNotifierOptions) {
    // Retries are done here (with the injected clock, and logged), not inside the library.
    this.apis = options.destinations.map((d) => new Api(d.token, { apiRoot: options.apiRoot, maxRetries: 0, timeoutMs: 300_000 }));
  }

  start(): void {
    this.started = true;
    this.kick();
  }

  /**
   * Queues a notification; resolves once it is settled — sent, given up on, or dropped because the
   * queue was full — and rejects only when postproc stops before that (so it is sent next time).
   */
  send(notification: Notification): Promise<void> {
    if (this.closed) return Promise.reject(new Error('Telegram notifier is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ notification, resolve, reject });
      while (this.queue.length > this.options.queueSize) {
        const dropped = this.queue.shift()!;
        this.options.logger.warn(`Telegram queue full (${this.options.queueSize} waiting): dropped the oldest notification: ${JSON.stringify(dropped.notification.text)}`);
        dropped.resolve();
      }
      this.kick();
    });
  }

  /** Aborts the send in progress; notifications not yet sent are rejected; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    for (const waiting of this.queue.splice(0)) waiting.reject(new Error('postproc is stopping'));
    await this.worker;
  }

  private kick(): void {
    // Only with work to do: work() on an empty queue would finish before `worker` is even set.
    if (!this.started || this.closed || this.worker || this.queue.length === 0) return;
    this.worker = this.work();
  }

  private async work(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const waiting = this.queue.shift()!;
      try {
        await this.deliver(waiting.notification);
        if (this.abort.signal.aborted) waiting.reject(new Error('postproc is stopping'));
        else waiting.resolve();
      } catch (err) {
        waiting.reject(err as Error);
      }
    }
    this.worker = undefined;
  }

  private async deliver(notification: Notification): Promise<void> {
    const stills: string[] = [];
    try {
      const prepared = await this.prepare(notification, stills);
      await Promise.all(this.options.destinations.map((d, i) => this.sendTo(i, d, prepared)));
    } finally {
      for (const still of stills) await fs.promises.rm(still, { force: true });
    }
  }

  /** Decides how to send: the clip, a still of a clip too large for Telegram, or the text alone. */
  private async prepare(notification: Notification, stills: string[]): Promise<Prepared> {
    const { logger } = this.options;
    const { text, video } = notification;
    if (video === undefined) return { method: 'sendMessage', text };
    let size: number;
    try {
      size = (await fs.promises.stat(video)).size;
    } catch (err) {
      logger.warn(`Telegram: clip ${video} is gone (${(err as NodeJS.ErrnoException).code}); sending the text only`);
      return { method: 'sendMessage', text: `${text} (the clip is no longer on disk)` };
    }
    const maxBytes = this.options.maxVideoBytes ?? TELEGRAM_MAX_UPLOAD_BYTES;
    if (size <= maxBytes) return { method: 'sendVideo', file: video, caption: text, what: `${path.basename(video)} (${megabytes(size)})` };
    const still = path.join(this.options.tmpDir, `still-${randomUUID()}.jpg`);
    stills.push(still);
    const note = `(the clip ${path.basename(video)}, ${megabytes(size)}, is over Telegram's ${megabytes(maxBytes)} limit)`;
    try {
      await fs.promises.mkdir(this.options.tmpDir, { recursive: true });
      await this.extractStill(video, still);
    } catch (err) {
      logger.warn(`Telegram: ${path.basename(video)} is too large to send (${megabytes(size)}) and no still could be made: ${(err as Error).message}`);
      return { method: 'sendMessage', text: `${text} ${note}` };
    }
    logger.info(`Telegram: ${path.basename(video)} is too large to send (${megabytes(size)}); sending a still picture of it`);
    return { method: 'sendPhoto', file: still, caption: `${text} ${note}`, what: `a still of ${path.basename(video)}` };
  }

  private async extractStill(mp4: string, jpg: string): Promise<void> {
    const child = new ChildProcessHandle(this.options.ffmpeg ?? 'ffmpeg', stillArgs(mp4, jpg), { stderrTailBytes: 2000 });
    const stop = (): void => child.kill('SIGKILL');
    this.abort.signal.addEventListener('abort', stop, { once: true });
    try {
      const exit = await child.exited;
      if (exit.code === 0) return;
      const tail = lastLines(child.stderrTail());
      throw new Error(`${child.commandLine()}: ${describeExit(exit)}${tail ? `: ${tail}` : ''}`);
    } finally {
      this.abort.signal.removeEventListener('abort', stop);
    }
  }

  private async sendTo(index: number, destination: TelegramDestination, prepared: Prepared): Promise<void> {
    const { clock, logger } = this.options;
    const maxAttempts = this.options.maxAttempts ?? 5;
    const signal = this.abort.signal;
    const what = prepared.method === 'sendMessage' ? JSON.stringify(prepared.text) : `${prepared.what} with caption ${JSON.stringify(prepared.caption)}`;
    const label = `Telegram ${prepared.method} ${what} to chat ${destination.chatId}`;
    for (let attempt = 1; ; attempt++) {
      const started = clock.monotonic();
      try {
        await this.call(this.apis[index]!, destination.chatId, prepared, signal);
        logger.info(`${label}: sent in ${((clock.monotonic() - started) / 1000).toFixed(1)} s`);
        return;
      } catch (err) {
        if (signal.aborted) return;
        const reason = this.redact(describeError(err));
        const wait = retryDelayMs(err, attempt);
        if (wait === undefined || attempt >= maxAttempts) {
          logger.warn(`${label}: failed (${reason}); giving up after ${attempt} attempt(s)`);
          return;
        }
        const why = err instanceof TelegramApiError && err.errorCode === 429 ? 'Telegram asks to wait' : 'retrying';
        logger.warn(`${label}: failed (${reason}); ${why} ${(wait / 1000).toFixed(wait < 1000 ? 1 : 0)} s (attempt ${attempt} of ${maxAttempts})`);
        await sleep(clock, wait, signal);
        if (signal.aborted) return;
      }
    }
  }

  private async call(api: Api, chatId: string, prepared: Prepared, signal: AbortSignal): Promise<void> {
    switch (prepared.method) {
      case 'sendMessage':
        await api.sendMessage({ chat_id: chatId, text: prepared.text }, signal);
        return;
      case 'sendVideo':
        await api.sendVideo({ chat_id: chatId, video: await fromPath(prepared.file, { contentType: 'video/mp4' }), caption: prepared.caption, supports_streaming: true }, signal);
        return;
      case 'sendPhoto':
        await api.sendPhoto({ chat_id: chatId, photo: await fromPath(prepared.file, { contentType: 'image/jpeg' }), caption: prepared.caption }, signal);
        return;
    }
  }

  /** Replaces every bot token in a text (an error message may quote a URL). */
  private redact(text: string): string {
    let out = text;
    for (const { token } of this.options.destinations) out = out.split(token).join('<bot_token>');
    return out;
  }
}

/** An error and its causes in one line ("Network request failed: sendVideo: fetch failed: connect ECONNREFUSED …"). */
function describeError(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    if (e instanceof TelegramApiError) parts.push(`${e.errorCode} ${e.description}`);
    else if (e instanceof Error) parts.push(e.message);
    else parts.push(String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(': ');
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
