// --notify-webhook: each alert as a JSON POST to every URL; a bounded queue per URL, retried with backoff, never blocking.
import { sleep, type Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import type { Alert } from './health.js';

export interface WebhookNotifierOptions {
  /** Resolved URLs (env:/file: already read); never logged whole, see {@link maskUrl}. */
  urls: string[];
  clock: Clock;
  logger: Logger;
  /** Alerts waiting per URL; past it the oldest is dropped with a warning (default 32). */
  queueSize?: number;
  /** One POST's time limit (default 10 s). */
  timeoutMs?: number;
  /** Tries per alert and URL before giving up (default 8: about 4 minutes of retrying). */
  maxAttempts?: number;
  /** First pause after a failure, doubling up to `maxBackoffMs` (defaults 2 s and 5 min). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** For tests: the fetch used (default the global one). */
  fetch?: typeof fetch;
}

/**
 * A URL as logs show it: scheme and host only, the path and query (where webhook secrets live)
 * replaced by "/…", user and password dropped.
 */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    const rest = u.pathname !== '/' || u.search !== '' || u.hash !== '' ? '/…' : '/';
    return `${u.protocol}//${u.host}${rest}`;
  } catch {
    return '(a URL)';
  }
}

/** Whether a failed POST is worth trying again: no answer, a time-out, 408, 429 or a server error. Pure. */
export function retryable(status: number | undefined): boolean {
  return status === undefined || status === 408 || status === 429 || status >= 500;
}

/** The pause before try `attempt + 1`: `initialMs` doubling up to `maxMs`, or the server's Retry-After (capped at maxMs). Pure. */
export function webhookDelayMs(attempt: number, initialMs: number, maxMs: number, retryAfterSeconds?: number): number {
  if (retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0) return Math.min(maxMs, retryAfterSeconds * 1000);
  return Math.min(maxMs, initialMs * 2 ** (attempt - 1));
}

class Failure extends Error {
  constructor(message: string, readonly status?: number, readonly retryAfterSeconds?: number) {
    super(message);
  }
}

/** One URL's queue and worker: a dead URL never holds back the others. */
class WebhookTarget {
  private readonly queue: Alert[] = [];
  private worker: Promise<void> | undefined;
  private current: Alert | undefined;
  readonly shown: string;

  constructor(
    private readonly url: string,
    private readonly options: Required<Omit<WebhookNotifierOptions, 'urls' | 'fetch'>> & { fetch: typeof fetch },
    private readonly signal: AbortSignal,
  ) {
    this.shown = maskUrl(url);
  }

  push(alert: Alert): void {
    this.queue.push(alert);
    while (this.queue.length > this.options.queueSize) {
      const dropped = this.queue.shift()!;
      this.options.logger.warn(`webhook ${this.shown}: queue full (${this.options.queueSize} waiting): dropped the oldest alert: ${JSON.stringify(dropped.text)}`);
    }
    this.worker ??= this.work().finally(() => (this.worker = undefined));
  }

  /** Alerts not delivered yet, the one in flight included. */
  get waiting(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  async done(): Promise<void> {
    await this.worker;
  }

  private async work(): Promise<void> {
    const { logger, clock, maxAttempts, initialBackoffMs, maxBackoffMs } = this.options;
    // Taken off the queue while it is tried: a full queue drops the oldest waiting, never the one in flight.
    let alert: Alert | undefined;
    while (!this.signal.aborted && (alert = this.queue.shift()) !== undefined) {
      this.current = alert;
      for (let attempt = 1; ; attempt++) {
        try {
          await this.post(alert);
          logger.info(`webhook ${this.shown}: sent ${alert.kind} ${alert.state}`);
          break;
        } catch (err) {
          if (this.signal.aborted) return;
          const failure = err as Failure;
          if (!retryable(failure.status) || attempt >= maxAttempts) {
            logger.error(`webhook ${this.shown}: gave up on ${JSON.stringify(alert.text)} after ${attempt} attempt(s): ${failure.message}`);
            break;
          }
          const delay = webhookDelayMs(attempt, initialBackoffMs, maxBackoffMs, failure.retryAfterSeconds);
          logger.warn(`webhook ${this.shown}: ${failure.message} (attempt ${attempt}); retrying in ${Math.round(delay / 1000)} s`);
          await sleep(clock, delay, this.signal);
          if (this.signal.aborted) return;
        }
      }
      this.current = undefined;
    }
  }

  private async post(alert: Alert): Promise<void> {
    const { clock, timeoutMs, fetch: doFetch } = this.options;
    const abort = new AbortController();
    const onStop = (): void => abort.abort();
    this.signal.addEventListener('abort', onStop, { once: true });
    let timedOut = false;
    const timer = clock.setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, timeoutMs);
    try {
      let response: Response;
      try {
        response = await doFetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(alert),
          signal: abort.signal,
          redirect: 'error',
        });
      } catch (err) {
        // fetch's messages can carry the URL; say what happened without it.
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        throw new Failure(timedOut ? `no answer within ${Math.round(timeoutMs / 1000)} s` : `cannot connect${cause ? ` (${cause})` : ''}`);
      }
      // The body is not needed; reading it frees the connection.
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return;
      const retryAfter = response.headers.get('retry-after');
      throw new Failure(`HTTP ${response.status}`, response.status, retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined);
    } finally {
      timer.cancel();
      this.signal.removeEventListener('abort', onStop);
    }
  }
}

/**
 * Sends every alert to every `--notify-webhook` URL as `{"camera", "kind", "state", "text",
 * "time"}`. {@link send} only queues, so conversions and uploads never wait for a webhook.
 */
export class WebhookNotifier {
  private readonly targets: WebhookTarget[];
  private readonly abort = new AbortController();
  private closed = false;

  constructor(private readonly options: WebhookNotifierOptions) {
    const settings = {
      clock: options.clock, logger: options.logger, queueSize: options.queueSize ?? 32, timeoutMs: options.timeoutMs ?? 10_000,
      maxAttempts: options.maxAttempts ?? 8, initialBackoffMs: options.initialBackoffMs ?? 2000, maxBackoffMs: options.maxBackoffMs ?? 300_000,
      fetch: options.fetch ?? globalThis.fetch,
    };
    this.targets = options.urls.map((url) => new WebhookTarget(url, settings, this.abort.signal));
  }

  /** The URLs as logs show them. */
  get shownUrls(): string[] {
    return this.targets.map((t) => t.shown);
  }

  /** Queues `alert` for every URL; returns at once. */
  send(alert: Alert): void {
    if (this.closed) return;
    for (const t of this.targets) t.push(alert);
  }

  /** Waits until every queue is empty (for tests and a clean stop). */
  async idle(): Promise<void> {
    while (!this.closed && this.targets.some((t) => t.waiting > 0)) await Promise.all(this.targets.map((t) => t.done()));
  }

  /** Stops: the POSTs in flight are aborted, what waits is dropped (said in the log); idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const left = this.targets.reduce((n, t) => n + t.waiting, 0);
    this.abort.abort();
    await Promise.all(this.targets.map((t) => t.done()));
    if (left > 0) this.options.logger.warn(`webhooks: ${left} alert(s) not delivered at shutdown`);
  }
}
