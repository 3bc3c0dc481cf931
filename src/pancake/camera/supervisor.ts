// Keeps the camera running: parses its stream, restarts it with backoff when it dies or stalls.
import type { Clock, Timer } from '../../common/clock.js';
import { AnnexBParser, type AccessUnit } from '../../common/h264/annexb.js';
import type { SpsInfo } from '../../common/h264/sps.js';
import type { Logger } from '../../common/log.js';
import type { CameraSource, SourceFactory } from './source.js';

export interface CameraSupervisorOptions {
  factory: SourceFactory;
  clock: Clock;
  logger: Logger;
  /** A running camera that delivers no access unit for this long is killed and restarted. */
  stallMs?: number;
  /** Restart pause after the first failure; doubles per consecutive failure up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  onAccessUnit: (unit: AccessUnit, sps: SpsInfo | undefined) => void;
  /** Once per outage, with the reason (exit code or signal and the last stderr lines, or the stall). */
  onDown: (reason: string) => void;
  /** When frames flow again after an outage. */
  onUp: () => void;
  /**
   * For the live view: called when the unit being received looks complete (it holds a slice and no
   * byte has come for `earlyMs`), one frame interval before the next start code proves it.
   */
  onEarlyUnit?: (data: Buffer, keyframe: boolean, wallTime: number) => void;
  /** Whether anyone wants early units now (the timer per chunk costs a wake-up per frame otherwise). */
  wantEarly?: () => boolean;
  earlyMs?: number;
}

const RUNNING = 0;
const WAITING = 1; // between a failure and the restart
const CLOSED = 2;

/** Owns the sequence of camera runs; exactly one source is alive at any time. */
export class CameraSupervisor {
  private state = WAITING;
  private source: CameraSource | undefined;
  private parser = new AnnexBParser();
  private lastUnitMono = 0;
  private failures = 0;
  private down = false;
  private flowing = false;
  private watchdog: Timer | undefined;
  private restartTimer: Timer | undefined;
  private earlyTimer: Timer | undefined;
  private readonly stallMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly options: CameraSupervisorOptions) {
    this.stallMs = options.stallMs ?? 5000;
    this.initialBackoffMs = options.initialBackoffMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
  }

  start(): void {
    if (this.state === CLOSED) return;
    this.launch();
  }

  /** Whether the camera is delivering frames now. */
  get isUp(): boolean {
    return this.state === RUNNING && this.flowing;
  }

  private launch(): void {
    const { clock, factory, logger } = this.options;
    this.state = RUNNING;
    this.flowing = false;
    this.parser = new AnnexBParser(); // a half-received unit of the previous run must not leak into this one
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
    if (source !== this.source || this.state !== RUNNING) return;
    const { clock, onEarlyUnit } = this.options;
    const wall = clock.now();
    const units = this.parser.push(chunk, wall, clock.monotonic());
    if (onEarlyUnit && (this.options.wantEarly?.() ?? true)) {
      this.earlyTimer?.cancel();
      this.earlyTimer = clock.setTimeout(() => {
        if (source !== this.source || this.state !== RUNNING) return;
        const pending = this.parser.peekPending();
        if (pending) onEarlyUnit(pending.data, pending.keyframe, wall);
      }, this.options.earlyMs ?? 4);
    }
    if (units.length === 0) return;
    this.lastUnitMono = clock.monotonic();
    if (!this.flowing) {
      this.flowing = true;
      this.failures = 0;
      this.options.logger.info(`camera: frames are flowing from ${source.description}`);
      if (this.down) {
        this.down = false;
        this.options.onUp();
      }
    }
    const sps = this.parser.sps;
    for (const unit of units) this.options.onAccessUnit(unit, sps);
  }

  private armWatchdog(source: CameraSource): void {
    const { clock } = this.options;
    const check = (): void => {
      if (source !== this.source || this.state !== RUNNING) return;
      const silent = clock.monotonic() - this.lastUnitMono;
      if (silent >= this.stallMs) {
        const seconds = Math.round(silent / 100) / 10;
        const describe = (source as { describeStall?: (s: number) => string }).describeStall;
        this.fail(source, describe ? describe.call(source, seconds) : `${source.description} sent no frame for ${seconds} s`);
        return;
      }
      this.watchdog = clock.setTimeout(check, Math.min(1000, this.stallMs - silent + 10));
    };
    this.watchdog = clock.setTimeout(check, Math.min(1000, this.stallMs));
  }

  private fail(source: CameraSource, reason: string): void {
    if (source !== this.source || this.state !== RUNNING) return;
    const { clock, logger } = this.options;
    this.state = WAITING;
    this.watchdog?.cancel();
    void source.close();
    const pause = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** this.failures);
    this.failures++;
    logger.error(`camera: ${reason}; restarting in ${pause / 1000} s`);
    if (!this.down) {
      this.down = true;
      this.options.onDown(reason);
    }
    this.restartTimer = clock.setTimeout(() => {
      if (this.state === WAITING) this.launch();
    }, pause);
  }

  /** Stops the camera for good; resolves when the child is gone. Idempotent. */
  async close(): Promise<void> {
    this.state = CLOSED;
    this.earlyTimer?.cancel();
    this.watchdog?.cancel();
    this.restartTimer?.cancel();
    await this.source?.close();
  }
}
