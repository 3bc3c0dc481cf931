// The fixed-rate feed of an MJPEG camera: every 1/fps the newest JPEG (repeated when none came, extras dropped), so files play at real speed.
import type { Clock, Timer } from '../../../common/clock.js';

export interface FixedRateFeederOptions {
  clock: Clock;
  /** Pictures per second written, whatever the camera sends. */
  fps: number;
  /** No new JPEG for this long: the feed stops (no more repeats) and `onStall` is called once. */
  stallMs: number;
  /** Gets each picture to encode, at the fixed rate. */
  write: (jpeg: Buffer) => void;
  /** The camera sent nothing for `silentMs`; nothing is written after it. */
  onStall: (silentMs: number) => void;
  /** Once, after {@link MEASURE_MS} of frames: the camera's own rate (frames per second, unrounded). */
  onMeasured?: (fps: number) => void;
  /** Catch-up limit after a late tick (a busy event loop), in pictures; default one second's worth. */
  maxCatchUp?: number;
}

/** How long the camera's own rate is measured, from its first frame. */
export const MEASURE_MS = 2000;

/**
 * Turns a camera's irregular JPEGs into exactly `fps` pictures a second on the clock, starting at
 * the first JPEG: tick n is due at first + n/fps, and a late tick writes the ones it missed (up to
 * `maxCatchUp`), so the count of pictures always matches the time passed. A JPEG that is replaced
 * before a tick took it is dropped; a tick without a new JPEG repeats the last one, until
 * `stallMs` without any, when the feed stops for good.
 */
export class FixedRateFeeder {
  private newest: Buffer | undefined;
  private fresh = false;
  private anchorMono = 0;
  private written = 0;
  private lastOfferMono = 0;
  private timer: Timer | undefined;
  private stopped = false;
  private received = 0;
  private firstMono = 0;
  private measured = false;
  /** Pictures written that repeat the previous one. */
  repeated = 0;
  /** JPEGs replaced by a newer one before a tick took them. */
  dropped = 0;
  private readonly intervalMs: number;
  private readonly maxCatchUp: number;

  constructor(private readonly options: FixedRateFeederOptions) {
    this.intervalMs = 1000 / options.fps;
    this.maxCatchUp = options.maxCatchUp ?? Math.max(1, Math.round(options.fps));
  }

  /** Pictures written so far. */
  get count(): number {
    return this.written;
  }

  /** A JPEG from the camera; the first one is written at once and starts the ticks. */
  offer(jpeg: Buffer): void {
    if (this.stopped) return;
    const now = this.options.clock.monotonic();
    this.received++;
    if (this.fresh) this.dropped++;
    this.newest = jpeg;
    this.fresh = true;
    this.lastOfferMono = now;
    if (this.received === 1) {
      this.firstMono = now;
      this.anchorMono = now;
      this.tick();
    }
  }

  /** Stops the ticks; nothing is written after it. Idempotent. */
  close(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private tick(): void {
    if (this.stopped) return;
    const { clock, stallMs } = this.options;
    const now = clock.monotonic();
    const silent = now - this.lastOfferMono;
    if (silent >= stallMs) {
      this.close();
      this.options.onStall(silent);
      return;
    }
    this.measure(now);
    let due = Math.floor((now - this.anchorMono) / this.intervalMs + 1e-9) + 1 - this.written;
    if (due > this.maxCatchUp) {
      // Far behind (the process was stopped or starved): start counting again from now rather
      // than writing a burst of repeats.
      this.anchorMono = now - this.written * this.intervalMs;
      due = 1;
    }
    for (let i = 0; i < due; i++) this.writeOne();
    const next = this.anchorMono + this.written * this.intervalMs;
    this.timer = clock.setTimeout(() => this.tick(), Math.max(0, next - clock.monotonic()));
  }

  private writeOne(): void {
    if (!this.fresh) this.repeated++;
    this.fresh = false;
    this.written++;
    this.options.write(this.newest!);
  }

  private measure(now: number): void {
    if (this.measured || !this.options.onMeasured || now - this.firstMono < MEASURE_MS) return;
    this.measured = true;
    this.options.onMeasured(((this.received - 1) * 1000) / Math.max(1, this.lastOfferMono - this.firstMono));
  }
}
