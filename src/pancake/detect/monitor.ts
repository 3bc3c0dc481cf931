// Monitor mode (--detect without --record-detection): one {"detection": …} event per edge.
import type { Clock, Timer } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { EdgeTracker, type Edge } from './edges.js';

export interface DetectionMonitorOptions {
  clock: Clock;
  logger: Logger;
  /** Changes within this long after an edge are held back (as in edge recording). */
  holdMs?: number;
  /** An edge: the new state and the wall-clock ms it began. */
  onEdge: (state: boolean, wallTime: number) => void;
}

/**
 * Reports the same edges edge recording would make clips of, at once rather than 3 s later (the
 * original waited to mirror its clips; with no clip there is nothing to wait for).
 */
export class DetectionMonitor {
  private readonly tracker: EdgeTracker;
  private holdTimer: Timer | undefined;
  private closed = false;

  constructor(private readonly options: DetectionMonitorOptions) {
    this.tracker = new EdgeTracker(options.holdMs ?? 3000);
  }

  /** Every answer of detect(). */
  setDetection(state: boolean): void {
    if (this.closed) return;
    this.report(this.tracker.update(state, this.options.clock.monotonic()));
  }

  private report(edge: Edge | undefined): void {
    if (!edge) return;
    const { clock, logger, onEdge } = this.options;
    logger.info(`detect: detection ${edge.state ? 'started' : 'ended'}`);
    onEdge(edge.state, clock.now() - (clock.monotonic() - edge.at));
    this.holdTimer?.cancel();
    const until = this.tracker.holdUntil(clock.monotonic());
    if (until !== undefined) {
      this.holdTimer = clock.setTimeout(() => this.report(this.tracker.release(clock.monotonic())), until - clock.monotonic());
    }
  }

  close(): void {
    this.closed = true;
    this.holdTimer?.cancel();
  }
}
