// Decoded pictures on demand: an ffmpeg child per picture size, fed the camera's access units, alive only while subscribed.
import type { Clock } from '../../common/clock.js';
import { ChildProcessHandle, describeExit, lastLines } from '../../common/child.js';
import type { AccessUnit } from '../../common/h264/annexb.js';
import type { Logger } from '../../common/log.js';
import { DEFAULT_RESTART, RestartBackoff } from '../../common/restart.js';
import { ACCESS_UNIT_DELIMITER, DecoderFeed, withoutLeadingAud } from './feed.js';
import { buildDecoderArgs, type DecodeConfig } from './ffmpeg-args.js';
import { RawFrameSplitter } from './raw-frames.js';

/** One decoded picture. Shared by every subscriber of the same configuration: read it, never modify it. */
export interface RgbFrame {
  /** RGB24, width*height*3 bytes, rows top to bottom. */
  data: Uint8Array;
  width: number;
  height: number;
  /** Wall-clock ms of the access unit it was decoded from. */
  time: number;
}

export interface FrameSubscriptionOptions extends DecodeConfig {
  onFrame: (frame: RgbFrame) => void;
}

/** Ends a subscription; the last one of a configuration stops its ffmpeg. */
export interface FrameSubscription {
  close(): void;
}

export interface FrameDecoderOptions {
  clock: Clock;
  logger: Logger;
  /** The ffmpeg executable (default: `ffmpeg` on PATH). */
  ffmpeg?: string;
  /** Restart pause after a failure; doubles per consecutive failure up to 30 s. */
  restartMs?: number;
  /** Bytes waiting to be written to ffmpeg beyond which the rest of a GOP is skipped (ffmpeg is too slow). */
  maxPendingBytes?: number;
}

/**
 * Decodes the camera stream into RGB pictures for whoever asks (detect(frame), the live view's JPEG
 * fallback, snapshots). Decoding is the one expensive thing pancake can do, so nothing runs until a
 * subscription exists, and each distinct size/keyframe choice has its own ffmpeg child that stops
 * with its last subscriber. A child that dies is restarted; one that cannot keep up is fed from the
 * next IDR on rather than letting a backlog grow (frames are never queued for anyone).
 */
export class FrameDecoder {
  private readonly runs = new Map<string, DecoderRun>();
  private closed = false;

  constructor(private readonly options: FrameDecoderOptions) {}

  /** Takes every access unit of the camera stream; costs nothing while nobody subscribes. */
  push(unit: AccessUnit): void {
    if (this.runs.size === 0) return;
    for (const run of this.runs.values()) run.push(unit);
  }

  /** Delivers pictures of `width`x`height` (every picture, or keyframes only) until closed. */
  subscribe(options: FrameSubscriptionOptions): FrameSubscription {
    const { width, height, keyframesOnly, onFrame } = options;
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
      throw new RangeError(`picture size must be positive whole numbers: ${width}x${height}`);
    }
    if (this.closed) return { close: () => {} };
    const key = `${width}x${height}${keyframesOnly ? ':key' : ''}`;
    let run = this.runs.get(key);
    if (!run) {
      run = new DecoderRun({ width, height, keyframesOnly }, this.options);
      this.runs.set(key, run);
      run.start();
    }
    const listener = (frame: RgbFrame): void => onFrame(frame);
    run.listeners.add(listener);
    let open = true;
    return {
      close: () => {
        if (!open) return;
        open = false;
        run.listeners.delete(listener);
        if (run.listeners.size === 0 && this.runs.get(key) === run) {
          this.runs.delete(key);
          void run.close();
        }
      },
    };
  }

  /** Stops every child; resolves when they are gone. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const runs = [...this.runs.values()];
    this.runs.clear();
    await Promise.all(runs.map((r) => r.close()));
  }
}

/** One ffmpeg child and its restarts, for one configuration. */
class DecoderRun {
  readonly listeners = new Set<(frame: RgbFrame) => void>();
  private child: ChildProcessHandle | undefined;
  private readonly feed: DecoderFeed;
  private readonly splitter: RawFrameSplitter;
  private readonly ffmpeg: string;
  private readonly maxPendingBytes: number;
  private readonly restarts: RestartBackoff;
  private closed = false;

  constructor(
    private readonly config: DecodeConfig,
    private readonly options: FrameDecoderOptions,
  ) {
    this.feed = new DecoderFeed(config.keyframesOnly);
    this.splitter = new RawFrameSplitter(config.width * config.height * 3);
    this.ffmpeg = options.ffmpeg ?? 'ffmpeg';
    this.maxPendingBytes = options.maxPendingBytes ?? 4 * 1024 * 1024;
    this.restarts = new RestartBackoff(options.clock, { initialMs: options.restartMs ?? DEFAULT_RESTART.initialMs, maxMs: DEFAULT_RESTART.maxMs });
  }

  private get description(): string {
    return `${this.config.width}x${this.config.height}${this.config.keyframesOnly ? ' keyframes' : ''}`;
  }

  start(): void {
    if (this.closed) return;
    const { logger } = this.options;
    this.feed.reset();
    this.splitter.reset();
    const child = new ChildProcessHandle(this.ffmpeg, buildDecoderArgs(this.config), { stdin: true, stderrTailBytes: 2048 });
    this.child = child;
    logger.info(`decoder: ffmpeg started for ${this.description} pictures`);
    child.stdout.on('data', (chunk: Buffer) => {
      if (this.child !== child) return;
      for (const data of this.splitter.push(chunk)) {
        const time = this.feed.picture();
        if (time === undefined) continue;
        this.restarts.succeeded();
        const frame: RgbFrame = { data, width: this.config.width, height: this.config.height, time };
        for (const listener of this.listeners) listener(frame);
      }
    });
    void child.exited.then((exit) => {
      if (this.child !== child || this.closed) return;
      this.child = undefined;
      const pause = this.restarts.failed(() => this.start());
      const tail = lastLines(child.stderrTail());
      logger.warn(`decoder: ${child.commandLine()} ended with ${describeExit(exit)}${tail ? `; stderr: ${tail}` : ''}; restarting in ${pause / 1000} s`);
    });
  }

  push(unit: AccessUnit): void {
    const stdin = this.child?.stdin;
    if (!stdin || !stdin.writable) return;
    // ffmpeg is more than the allowed backlog behind: leave out the rest of this GOP.
    if (stdin.writableLength > this.maxPendingBytes) this.feed.skipToKeyframe();
    if (!this.feed.take(unit)) return;
    stdin.write(withoutLeadingAud(unit.data));
    stdin.write(ACCESS_UNIT_DELIMITER);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.restarts.cancel();
    const child = this.child;
    this.child = undefined;
    if (!child) return;
    child.stdin?.end();
    await child.stop(1000);
    this.options.logger.info(`decoder: ffmpeg for ${this.description} pictures stopped`);
  }
}
