// The one camera stream: runs the source, parses it once, watches its health and fans each access unit out.
import type { Clock, Timer } from '../../common/clock.js';
import { AnnexBParser } from '../../common/h264/annexb.js';
import type { Logger } from '../../common/log.js';
import { DEFAULT_RESTART, RestartBackoff, type BackoffRule } from '../../common/restart.js';
import type { CameraSource, SourceFactory } from '../camera/source.js';
import type { StreamConsumer } from './consumer.js';
import { ParameterSets } from './parameter-sets.js';

export interface CameraStreamOptions {
  /** Makes a new source for every (re)start: sources are single-use and know nothing of restarts. */
  factory: SourceFactory;
  clock: Clock;
  logger: Logger;
  /** A running source that delivers no access unit for this long is stopped and restarted. */
  stallMs: number;
  /** Pauses between restarts (default 1 s doubling to 30 s). */
  restart?: BackoffRule;
  /** Once per outage, with a reason a person understands. */
  onDown: (reason: string) => void;
  /** When frames flow again after an outage. */
  onUp: () => void;
  /** How long no byte must come after a slice before the unit counts as complete for early consumers. */
  earlyMs?: number;
}

/** What the camera is doing, as the live page and the events say it. */
export type CameraState = 'starting' | 'up' | 'down';

const RUNNING = 0;
const WAITING = 1; // between a failure and the restart
const CLOSED = 2;

/**
 * Owns the sequence of source runs (exactly one source alive at a time), the Annex B parser, the
 * newest parameter sets and the camera's up/down state, and hands every access unit to each
 * consumer in the order they were added. Keyframes that lack SPS/PPS get the newest ones in front,
 * so every file and every new viewer starts decodable whatever the camera sends.
 */
export class CameraStream {
  private readonly consumers: StreamConsumer[] = [];
  private readonly parameterSets = new ParameterSets();
  private readonly restarts: RestartBackoff;
  private run = WAITING;
  private source: CameraSource | undefined;
  private parser = new AnnexBParser();
  private lastUnitMono = 0;
  private flowing = false;
  private cameraState: CameraState = 'starting';
  private downReason: string | undefined;
  private watchdog: Timer | undefined;
  private earlyTimer: Timer | undefined;
  private toldInserted = false;

  constructor(private readonly options: CameraStreamOptions) {
    this.restarts = new RestartBackoff(options.clock, options.restart ?? DEFAULT_RESTART);
  }

  /** Adds a consumer; it gets every access unit from now on. */
  add(consumer: StreamConsumer): void {
    this.consumers.push(consumer);
  }

  /** starting, up (frames flowing) or down (with {@link reason}). */
  get state(): CameraState {
    return this.cameraState;
  }

  /** Why the camera is down, while it is. */
  get reason(): string | undefined {
    return this.cameraState === 'down' ? this.downReason : undefined;
  }

  start(): void {
    if (this.run === CLOSED) return;
    this.launch();
  }

  private launch(): void {
    const { clock, factory, logger } = this.options;
    this.run = RUNNING;
    this.flowing = false;
    this.parser = new AnnexBParser(); // a half-received unit of the previous run must not leak into this one
    this.parameterSets.clear();
    this.lastUnitMono = clock.monotonic();
    const source = factory();
    this.source = source;
    source.start(
      (chunk) => this.onChunk(source, chunk),
      (end) => this.fail(source, end.reason),
    );
    this.armWatchdog(source);
    logger.debug(`camera: ${source.description} starting`);
  }

  private onChunk(source: CameraSource, chunk: Buffer): void {
    if (source !== this.source || this.run !== RUNNING) return;
    const { clock } = this.options;
    const wall = clock.now();
    const units = this.parser.push(chunk, wall, clock.monotonic());
    if (this.consumers.some((c) => c.pushEarly && (c.wantsEarly?.() ?? true))) this.armEarly(source, wall);
    if (units.length === 0) return;
    this.lastUnitMono = clock.monotonic();
    if (!this.flowing) this.nowFlowing(source);
    const sps = this.parser.sps;
    for (const raw of units) {
      const unit = this.parameterSets.complete(raw);
      for (const consumer of this.consumers) consumer.push(unit, sps);
    }
    if (!this.toldInserted && this.parameterSets.inserted > 0) {
      this.toldInserted = true;
      this.options.logger.info('camera: the stream does not repeat SPS/PPS before every keyframe; pancake puts the newest ones in front of each, so every file starts decodable');
    }
  }

  /** Offers the unit being received once no byte has come for `earlyMs` (it looks complete). */
  private armEarly(source: CameraSource, wall: number): void {
    const { clock, earlyMs = 4 } = this.options;
    this.earlyTimer?.cancel();
    this.earlyTimer = clock.setTimeout(() => {
      if (source !== this.source || this.run !== RUNNING) return;
      const pending = this.parser.peekPending();
      if (!pending) return;
      // The same completion as the whole unit will get, so the early copy and the unit agree.
      const unit = this.parameterSets.complete({ data: pending.data, keyframe: pending.keyframe, wallTime: wall, monoTime: 0 });
      for (const consumer of this.consumers) {
        if (consumer.pushEarly && (consumer.wantsEarly?.() ?? true)) consumer.pushEarly(unit.data, unit.keyframe, wall);
      }
    }, earlyMs);
  }

  private nowFlowing(source: CameraSource): void {
    this.flowing = true;
    this.restarts.succeeded();
    this.options.logger.info(`camera: frames are flowing from ${source.description}`);
    const wasDown = this.cameraState === 'down';
    this.cameraState = 'up';
    if (wasDown) this.options.onUp();
  }

  private armWatchdog(source: CameraSource): void {
    const { clock, stallMs } = this.options;
    const check = (): void => {
      if (source !== this.source || this.run !== RUNNING) return;
      // Until its first unit a source may take longer than the stall limit (an RTSP ingest probes
      // the stream, then starts at a keyframe): a short --camera-timeout must not kill every start.
      const limit = this.flowing ? stallMs : stallMs + (source.firstFrameGraceMs ?? 0);
      const silent = clock.monotonic() - this.lastUnitMono;
      if (silent >= limit) {
        const seconds = Math.round(silent / 100) / 10;
        this.fail(source, source.describeStall ? source.describeStall(seconds) : `${source.description} sent no frame for ${seconds} s`);
        return;
      }
      this.watchdog = clock.setTimeout(check, Math.min(1000, limit - silent + 10));
    };
    this.watchdog = clock.setTimeout(check, Math.min(1000, stallMs));
  }

  private fail(source: CameraSource, reason: string): void {
    if (source !== this.source || this.run !== RUNNING) return;
    const { logger } = this.options;
    this.run = WAITING;
    this.watchdog?.cancel();
    this.earlyTimer?.cancel();
    void source.close();
    const pause = this.restarts.failed(() => {
      if (this.run === WAITING) this.launch();
    });
    logger.error(`camera: ${reason}; restarting in ${pause / 1000} s`);
    this.downReason = reason;
    if (this.cameraState !== 'down') {
      this.cameraState = 'down';
      for (const consumer of this.consumers) consumer.cameraDown?.(reason);
      this.options.onDown(reason);
    }
  }

  /** Stops the source for good; resolves when it is gone. Idempotent. */
  async close(): Promise<void> {
    this.run = CLOSED;
    this.earlyTimer?.cancel();
    this.watchdog?.cancel();
    this.restarts.cancel();
    await this.source?.close();
  }
}
