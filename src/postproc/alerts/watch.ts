// The health monitor's eyes: on a timer, measures free disk space and upload backlogs and asks it to check the time.
import fs from 'node:fs';
import path from 'node:path';
import type { Clock, Timer } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import type { DiskReading, HealthMonitor, UploadBacklog } from './health.js';

export interface HealthWatchOptions {
  monitor: HealthMonitor;
  clock: Clock;
  logger: Logger;
  /** Folders always watched for free space (mp4_dir, the --accept-dir folders). */
  dirs: string[];
  /** Whether the folders of recordings seen in events are watched too (when no --accept-dir says where they are). */
  learnRecordingDirs: boolean;
  /** The upload queue's backlog per destination, when there are destinations. */
  backlog?: () => Promise<UploadBacklog[]>;
  /** Time between checks. */
  intervalMs: number;
}

// Recording folders learned from events: a bound, as any local client can name folders.
const MAX_LEARNED_DIRS = 16;

/** How often to check: a fifth of the shortest threshold, between 1 s and a minute. Pure. */
export function checkIntervalMs(shortestThresholdMs: number | undefined): number {
  if (shortestThresholdMs === undefined) return 60_000;
  return Math.min(60_000, Math.max(1000, Math.round(shortestThresholdMs / 5)));
}

/**
 * Runs the monitor's checks every `intervalMs` on the clock: the time-based conditions, free space
 * on every watched folder's file system (grouped by device, so a disk is named once), and the
 * upload backlogs. A failed measurement is logged once per folder and skipped.
 */
export class HealthWatch {
  private readonly dirs: string[];
  private readonly learned: string[] = [];
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly unreadable = new Set<string>();

  constructor(private readonly options: HealthWatchOptions) {
    this.dirs = [...new Set(options.dirs)];
  }

  start(): void {
    this.schedule();
  }

  /** A recording's folder becomes watched (when learning is on). */
  noteRecording(h264: string): void {
    if (!this.options.learnRecordingDirs || !path.isAbsolute(h264)) return;
    const dir = path.dirname(h264);
    if (this.dirs.includes(dir) || this.learned.includes(dir)) return;
    if (this.learned.length >= MAX_LEARNED_DIRS) this.learned.shift();
    this.learned.push(dir);
  }

  /** Checks once now (also what the timer does). */
  async checkNow(): Promise<void> {
    const { monitor, backlog, logger } = this.options;
    monitor.check();
    monitor.disks(await this.readDisks());
    if (backlog) {
      try {
        monitor.uploads(await backlog());
      } catch (err) {
        logger.warn(`alerts: cannot read the upload backlog: ${(err as Error).message}`);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    await this.running;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.options.clock.setTimeout(() => {
      this.running = this.checkNow()
        .catch((err: Error) => {
          this.options.logger.error(`alerts: check failed: ${err.message}`);
        })
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.options.intervalMs);
  }

  private async readDisks(): Promise<DiskReading[]> {
    const byDevice = new Map<string, DiskReading>();
    for (const dir of [...this.dirs, ...this.learned]) {
      try {
        const [stat, fsStat] = await Promise.all([fs.promises.stat(dir), fs.promises.statfs(dir)]);
        this.unreadable.delete(dir);
        const device = String(stat.dev);
        const reading = byDevice.get(device);
        if (reading) reading.dirs.push(dir);
        else byDevice.set(device, { device, dirs: [dir], freeBytes: fsStat.bavail * fsStat.bsize });
      } catch (err) {
        if (!this.unreadable.has(dir)) {
          this.unreadable.add(dir);
          this.options.logger.warn(`alerts: cannot measure free space of ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
    }
    return [...byDevice.values()];
  }
}
