// An MJPEG stream's own frame rate, measured from its first JPEGs before recording starts; the connection that measured it becomes the first run's.
import type { Clock, Timer } from '../../../common/clock.js';
import type { Logger } from '../../../common/log.js';
import type { SourceEnd } from '../source.js';
import { MjpegHttpSource, type JpegFrameSource } from './http-source.js';
import type { HttpCameraUrl } from './url.js';

/** How long the rate is measured, from the second JPEG on. */
export const RATE_WINDOW_MS = 2000;
/** Or this many JPEGs after the second, whichever comes first (2 s of a 60 fps camera). */
export const RATE_WINDOW_FRAMES = 120;
/** The recording rates a measured camera may get. */
export const MIN_MEASURED_FPS = 1;
export const MAX_MEASURED_FPS = 60;

/**
 * Measures a camera's rate from the arrival times of its JPEGs (monotonic ms). The first JPEG is
 * left out: servers often send the newest picture they hold at once on connect, which says
 * nothing about the rate. From the second on, frames are counted until {@link RATE_WINDOW_MS} have
 * passed or {@link RATE_WINDOW_FRAMES} came: the rate is frames per second over that span.
 */
export class FrameRateMeter {
  private seen = 0;
  private anchorMs = 0;
  private lastMs = 0;

  /** One JPEG's arrival; returns the rate (frames per second, unrounded) once the window is full. */
  add(monoMs: number): number | undefined {
    this.seen++;
    if (this.seen <= 2) {
      this.anchorMs = this.lastMs = monoMs;
      return undefined;
    }
    this.lastMs = monoMs;
    const full = monoMs - this.anchorMs >= RATE_WINDOW_MS || this.seen - 2 >= RATE_WINDOW_FRAMES;
    return full ? this.estimate() : undefined;
  }

  /** The rate from what came so far; undefined before a third JPEG (two arrivals after the first). */
  estimate(): number | undefined {
    const counted = this.seen - 2;
    if (counted < 1) return undefined;
    // Frames of one chunk arrive together: never divide by (almost) nothing.
    return (counted * 1000) / Math.max(1, this.lastMs - this.anchorMs);
  }
}

/** The recording rate for a measured camera rate: rounded, within 1..60. */
export function recordingFps(measured: number): number {
  return Math.min(MAX_MEASURED_FPS, Math.max(MIN_MEASURED_FPS, Math.round(measured)));
}

export interface RateProbeOptions {
  camera: HttpCameraUrl;
  /** The rate used when none can be measured (the camera down, too few JPEGs). */
  fallbackFps: number;
  /** --camera-timeout: for the first JPEG, then for the window; also how long the open connection waits to be taken. */
  timeoutMs: number;
  clock: Clock;
  logger: Logger;
  /** For tests: the JPEG source instead of an {@link MjpegHttpSource}. */
  jpegSource?: JpegFrameSource;
}

export interface RateProbe {
  /** The rate to record at: the measured one rounded, or the fallback. */
  fps: number;
  /** The camera's rate, unrounded; undefined when it could not be measured. */
  measured?: number;
  /**
   * The connection that measured the rate, still receiving (the newest JPEG is kept), for the
   * first run to take: cameras that serve one client (ESP32-CAM boards, ffmpeg's server) are not
   * asked to reconnect at once. Closed by itself when not taken within `timeoutMs`.
   */
  source?: JpegFrameSource;
}

/**
 * Connects to the MJPEG stream and measures its rate with a {@link FrameRateMeter}; logs the
 * outcome (`camera: … measured 15.1 fps; recording at 15 fps (set --fps to choose)`). A camera that
 * fails or sends too few JPEGs within `timeoutMs` + {@link RATE_WINDOW_MS} gets the fallback
 * rate, with the reason in the log; the usual supervision then reports it down and retries.
 */
export function probeFrameRate(options: RateProbeOptions): Promise<RateProbe> {
  const { camera, clock, logger, timeoutMs, fallbackFps } = options;
  const inner = options.jpegSource ?? new MjpegHttpSource({ camera, clock, logger, timeoutMs });
  const handOver = new HandedOverSource(inner, clock, timeoutMs);
  const meter = new FrameRateMeter();
  logger.info(`camera: ${camera.masked}: measuring its frame rate (up to ${(timeoutMs + RATE_WINDOW_MS) / 1000} s; --fps skips this)`);
  return new Promise((resolve) => {
    let done = false;
    const finish = (measured: number | undefined, reason: string): void => {
      if (done) return;
      done = true;
      deadline.cancel();
      if (measured === undefined) {
        void handOver.close();
        logger.warn(`camera: ${camera.masked}: its frame rate could not be measured (${reason}); recording at ${fallbackFps} fps (set --fps to choose)`);
        resolve({ fps: fallbackFps });
        return;
      }
      const fps = recordingFps(measured);
      logger.info(`camera: ${camera.masked}: measured ${Math.round(measured * 10) / 10} fps; recording at ${fps} fps (set --fps to choose)`);
      handOver.waitToBeTaken();
      resolve({ fps, measured, source: handOver });
    };
    const deadline = clock.setTimeout(() => {
      finish(meter.estimate(), `it sent too few JPEGs within ${(timeoutMs + RATE_WINDOW_MS) / 1000} s`);
    }, timeoutMs + RATE_WINDOW_MS);
    handOver.listen(
      () => {
        if (done) return;
        const rate = meter.add(clock.monotonic());
        if (rate !== undefined) finish(rate, '');
      },
      (end) => finish(undefined, end.reason),
    );
  });
}

/**
 * The probe's running source as the first run sees it: until {@link start}, only the newest JPEG
 * and an end are kept, then both are passed on (on a microtask, so that nothing arrives inside
 * `start`). Not taken within `timeoutMs` (pancake stopped while starting up): closed, and its end
 * is what the run, if any, gets.
 */
class HandedOverSource implements JpegFrameSource {
  readonly description: string;
  private newest: { jpeg: Buffer; wallMs: number } | undefined;
  private ended: SourceEnd | undefined;
  private probeFrame: (() => void) | undefined;
  private onFrame: ((jpeg: Buffer, wallMs: number) => void) | undefined;
  private onEnd: ((end: SourceEnd) => void) | undefined;
  private closed = false;
  private untaken: Timer | undefined;

  constructor(private readonly inner: JpegFrameSource, private readonly clock: Clock, private readonly timeoutMs: number) {
    this.description = inner.description;
  }

  /** Starts the connection for the probe: `onFrame` hears of each JPEG until the run takes over. */
  listen(onFrame: () => void, onEnd: (end: SourceEnd) => void): void {
    this.probeFrame = onFrame;
    this.inner.start(
      (jpeg, wallMs) => {
        if (this.closed) return;
        if (this.onFrame) return this.onFrame(jpeg, wallMs);
        this.newest = { jpeg, wallMs };
        this.probeFrame?.();
      },
      (end) => {
        if (this.closed) return;
        if (this.onEnd) return this.onEnd(end);
        this.ended ??= end;
        onEnd(end);
      },
    );
  }

  /** The probe is done: from now the connection waits for its run, at most `timeoutMs`. */
  waitToBeTaken(): void {
    this.probeFrame = undefined;
    this.untaken = this.clock.setTimeout(() => {
      this.ended ??= { reason: `${this.description}: the connection that measured the frame rate was not taken within ${this.timeoutMs / 1000} s` };
      void this.inner.close();
    }, this.timeoutMs);
  }

  start(onFrame: (jpeg: Buffer, wallTimeMs: number) => void, onEnd: (end: SourceEnd) => void): void {
    if (this.closed || this.onFrame) return;
    this.untaken?.cancel();
    queueMicrotask(() => {
      if (this.closed) return;
      const { newest, ended } = this;
      this.newest = undefined;
      if (newest) onFrame(newest.jpeg, newest.wallMs);
      if (ended) onEnd(ended);
      else {
        this.onFrame = onFrame;
        this.onEnd = onEnd;
      }
    });
  }

  close(): Promise<void> {
    this.closed = true;
    this.untaken?.cancel();
    return this.inner.close();
  }
}
