// Calls the user's detect() in a worker thread every --detect-interval, with the newest frame, and survives whatever it does.
import { Worker } from 'node:worker_threads';
import type { Clock, Timer } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { DEFAULT_RESTART, RestartBackoff } from '../../common/restart.js';
import type { RgbFrame } from '../decode/frame-decoder.js';
import { HookError } from './hook.js';
import type { CallMessage, WorkerMessage, WorkerSetup } from './protocol.js';

export interface DetectorOptions {
  /** Absolute path of customize.ts (or --customize). */
  file: string;
  mode: 'no-image' | 'image';
  /** Time between the starts of two calls (--detect-interval). */
  intervalMs: number;
  clock: Clock;
  logger: Logger;
  /** --detect image: starts delivering frames to `onFrame` until the returned handle is closed. */
  frames?: (onFrame: (frame: RgbFrame) => void) => { close(): void };
  /** Every answer of detect(); a throw, a crash or a lost worker counts as false. */
  onDetection: (state: boolean) => void;
  /** The worker script (tests run src/ and point this at dist/). */
  workerUrl?: URL;
  /** How long customize.ts may take to load. */
  loadTimeoutMs?: number;
  /** Restart pause after the worker dies; doubles per consecutive failure up to 30 s. */
  restartMs?: number;
}

/** A call is reported as slow after this many intervals. */
const SLOW_INTERVALS = 10;
/** Repeated log lines (throws, slow calls) are written at most this often, with a count of the rest. */
const LOG_EVERY_MS = 60_000;

interface Call {
  seq: number;
  startedAt: number;
  slowTimer: Timer;
  slow: boolean;
}

/**
 * Owns the detect worker. detect() runs in its own thread, so a slow or busy-looping detect never
 * delays the camera, recording, the live view or events; the main thread only posts a call and
 * waits for a message. Calls never overlap and never queue: when detect() is slower than the
 * interval, the next call starts as soon as it returns, with the newest frame at that moment
 * (frames that arrived meanwhile are simply replaced). A throwing detect() is logged with its stack
 * and counts as false; a worker that dies (process.exit, an uncaught error, running out of memory)
 * counts as false and is started again, loading customize.ts afresh.
 */
export class Detector {
  private worker: Worker | undefined;
  private ready = false;
  private closed = false;
  private seq = 0;
  private call: Call | undefined;
  private lastCallStart = -Infinity;
  private newest: RgbFrame | undefined;
  private lastSent: RgbFrame | undefined;
  private nextTimer: Timer | undefined;
  private readonly restarts: RestartBackoff;
  private frames: { close(): void } | undefined;
  private readonly throwLog: LogThrottle;
  private readonly slowLog: LogThrottle;

  constructor(private readonly options: DetectorOptions) {
    this.throwLog = new LogThrottle(options.clock);
    this.slowLog = new LogThrottle(options.clock);
    this.restarts = new RestartBackoff(options.clock, { initialMs: options.restartMs ?? DEFAULT_RESTART.initialMs, maxMs: DEFAULT_RESTART.maxMs });
  }

  /**
   * Loads customize.ts in the worker, then starts calling detect(). Rejects with a HookError (a
   * one-line problem) when the file is missing, does not parse, or has no detect function.
   */
  async start(): Promise<void> {
    await this.launch();
    if (this.closed) return;
    const { mode, file, intervalMs, logger, frames } = this.options;
    logger.info(`detect: ${mode === 'image' ? 'detect(frame)' : 'detect()'} from ${file} every ${Number((intervalMs / 1000).toFixed(3))} s, in a worker thread`);
    if (frames) this.frames = frames((frame) => this.onFrame(frame));
    this.schedule();
  }

  /** Starts a worker and resolves once it has loaded the file. */
  private launch(): Promise<void> {
    const { file, logger, clock } = this.options;
    const url = this.options.workerUrl ?? new URL('./worker.js', import.meta.url);
    const setup: WorkerSetup = { file };
    const worker = new Worker(url, { workerData: setup });
    this.worker = worker;
    this.ready = false;
    return new Promise<void>((resolve, reject) => {
      let loading = true;
      const timeout = clock.setTimeout(() => fail(new HookError(`did not finish loading within ${(this.options.loadTimeoutMs ?? 30_000) / 1000} s`)), this.options.loadTimeoutMs ?? 30_000);
      const fail = (err: HookError): void => {
        if (!loading) return;
        loading = false;
        timeout.cancel();
        if (this.worker === worker) this.worker = undefined;
        void worker.terminate();
        reject(err);
      };
      worker.on('message', (message: WorkerMessage) => {
        if (this.worker !== worker) return;
        if (message.type === 'ready') {
          if (!loading) return;
          loading = false;
          timeout.cancel();
          this.ready = true;
          resolve();
        } else if (message.type === 'load-error') {
          fail(new HookError(message.message));
        } else {
          this.onAnswer(message);
        }
      });
      worker.on('error', (err) => {
        if (loading) return fail(new HookError(`failed to load: ${err.message}`));
        if (this.worker === worker) logger.error(`detect: uncaught error in the detect worker: ${err.stack ?? err.message}`);
      });
      worker.on('exit', (code) => {
        if (loading) return fail(new HookError(`the detect worker exited with code ${code} while loading`));
        if (this.worker !== worker || this.closed) return;
        this.worker = undefined;
        this.ready = false;
        this.lost(`the detect worker exited with code ${code}`);
      });
    });
  }

  /** The worker is gone: detection counts as false, and a new worker is started after a pause. */
  private lost(reason: string): void {
    const { logger } = this.options;
    this.endCall();
    this.nextTimer?.cancel();
    this.nextTimer = undefined;
    this.options.onDetection(false);
    const pause = this.restarts.failed(() => {
      if (this.closed) return;
      this.launch().then(
        () => {
          logger.info('detect: worker restarted');
          this.schedule();
        },
        (err: unknown) => {
          if (this.closed) return;
          this.lost(`${this.options.file}: ${err instanceof Error ? err.message : String(err)}`);
        },
      );
    });
    logger.warn(`detect: ${reason}; detection is false until it is back; restarting it in ${pause / 1000} s`);
  }

  private onFrame(frame: RgbFrame): void {
    this.newest = frame;
    // Waiting for a frame (no call running, no timer set): call now.
    if (!this.call && !this.nextTimer) this.schedule();
  }

  /** Starts the next call when it is due and what it needs is there; otherwise waits for that. */
  private schedule(): void {
    this.nextTimer?.cancel();
    this.nextTimer = undefined;
    if (this.closed || !this.ready || this.call || !this.worker) return;
    const { clock, intervalMs, mode } = this.options;
    const now = clock.monotonic();
    const due = this.lastCallStart + intervalMs;
    if (now < due) {
      this.nextTimer = clock.setTimeout(() => this.schedule(), due - now);
      return;
    }
    let frame: RgbFrame | undefined;
    if (mode === 'image') {
      // Only a frame detect() has not seen yet; onFrame() calls back when one arrives.
      if (!this.newest || this.newest === this.lastSent) return;
      frame = this.newest;
      this.lastSent = frame;
    }
    const seq = ++this.seq;
    this.lastCallStart = now;
    this.call = {
      seq, startedAt: now, slow: false,
      slowTimer: clock.setTimeout(() => this.reportSlow(seq), SLOW_INTERVALS * intervalMs),
    };
    const message: CallMessage = { type: 'call', seq };
    if (frame) message.frame = { data: frame.data, width: frame.width, height: frame.height, time: frame.time };
    this.worker.postMessage(message);
  }

  private onAnswer(message: Extract<WorkerMessage, { type: 'answer' | 'threw' }>): void {
    if (!this.call || message.seq !== this.call.seq) return;
    const { logger, clock } = this.options;
    const call = this.endCall()!;
    if (call.slow) logger.info(`detect: the slow call returned after ${((clock.monotonic() - call.startedAt) / 1000).toFixed(1)} s`);
    this.restarts.succeeded();
    if (message.type === 'answer') {
      this.options.onDetection(message.value);
    } else {
      const more = this.throwLog.allow();
      if (more !== undefined) logger.error(`detect: detect() threw; this counts as false${more ? ` (${more} more throws since the last report)` : ''}: ${message.error}`);
      this.options.onDetection(false);
    }
    this.schedule();
  }

  private endCall(): Call | undefined {
    const call = this.call;
    this.call = undefined;
    call?.slowTimer.cancel();
    return call;
  }

  private reportSlow(seq: number): void {
    if (this.call?.seq !== seq) return;
    this.call.slow = true;
    const more = this.slowLog.allow();
    const s = (SLOW_INTERVALS * this.options.intervalMs) / 1000;
    if (more !== undefined) {
      this.options.logger.warn(`detect: a call of detect() is still running after ${s.toFixed(s < 1 ? 2 : 1)} s (${SLOW_INTERVALS} intervals); newer frames replace each other until it returns${more ? ` (${more} more slow calls since the last report)` : ''}`);
    }
  }

  /** Stops calling detect() and ends the worker (even one stuck in a busy loop). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.nextTimer?.cancel();
    this.restarts.cancel();
    this.endCall();
    this.frames?.close();
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}

/** Lets a repeated log line through at most once per LOG_EVERY_MS, counting the ones held back. */
class LogThrottle {
  private last = -Infinity;
  private held = 0;

  constructor(private readonly clock: Clock) {}

  /** undefined: stay quiet; a number: log now, mentioning that many held-back occurrences. */
  allow(): number | undefined {
    const now = this.clock.monotonic();
    if (now - this.last < LOG_EVERY_MS) {
      this.held++;
      return undefined;
    }
    this.last = now;
    const held = this.held;
    this.held = 0;
    return held;
  }
}
