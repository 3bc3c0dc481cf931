// Continuous recording: YYYYMMDD-hhmm.h264 files split at the first keyframe at or after each segment mark.
import path from 'node:path';
import type { AccessUnit } from '../../common/h264/annexb.js';
import type { SpsInfo } from '../../common/h264/sps.js';
import type { StreamConsumer } from '../stream/consumer.js';
import { continuousBaseName, nextSegmentMark } from './naming.js';
import { RecordingFile, type RecorderSettings } from './recording-file.js';

export type { FinishedRecording, RecorderSettings } from './recording-file.js';

export interface ContinuousRecorderOptions extends RecorderSettings {
  segmentMinutes: number;
  /** Storage trouble ("error", once per outage) and recovery ("ok"). */
  onStorage: (state: 'error' | 'ok', reason: string, file?: string) => void;
  /** After a storage error, the next attempt waits this long (then starts at the next keyframe). */
  retryMs?: number;
}

/**
 * Every file starts with SPS+PPS and a keyframe, and the files concatenated are exactly the camera
 * stream from its first keyframe: each unit goes to exactly one file. With a camera that sends a
 * keyframe every few seconds, a split waits for the first keyframe at or after the mark.
 */
export class ContinuousRecorder implements StreamConsumer {
  private current: RecordingFile | undefined;
  private nextMark = 0;
  private finishing: Promise<void> = Promise.resolve();
  private retryAt = -Infinity;
  private storageDown = false;
  private closed = false;
  private pausedNow = false;

  constructor(private readonly options: ContinuousRecorderOptions) {}

  /** Whether a file is being written now. */
  get recording(): boolean {
    return this.current !== undefined;
  }

  /** Whether recording is paused (PUT /api/recording): no file is written until it is resumed. */
  get paused(): boolean {
    return this.pausedNow;
  }

  /** Pauses (the current file is finished now) or resumes (a new file starts at the next keyframe). */
  setPaused(paused: boolean): Promise<void> {
    this.pausedNow = paused;
    return paused ? this.finishCurrent() : this.finishing;
  }

  /** Takes the next access unit of the camera stream. */
  push(unit: AccessUnit, sps: SpsInfo | undefined): void {
    if (this.closed || this.pausedNow) return;
    const cur = this.current;
    if (cur?.error) {
      this.storageFailed(cur.error, cur.path);
    } else if (cur && unit.keyframe && (unit.wallTime >= this.nextMark || unit.wallTime < cur.start)) {
      // A mark was passed (or the wall clock jumped back, e.g. NTP after boot): split here.
      void this.finishCurrent();
    }
    if (this.current) {
      this.current.append(unit);
      return;
    }
    if (!unit.keyframe || this.options.clock.monotonic() < this.retryAt) return;
    const base = continuousBaseName(unit.wallTime);
    try {
      this.current = new RecordingFile(unit, sps, base, undefined, this.options);
    } catch (err) {
      this.storageFailed(err as Error, path.join(this.options.dir, `${base}.h264`));
      return;
    }
    this.nextMark = nextSegmentMark(unit.wallTime, this.options.segmentMinutes);
    if (this.storageDown) {
      this.storageDown = false;
      this.options.onStorage('ok', `recording again into ${this.current.path}`, this.current.path);
    }
  }

  private storageFailed(err: Error, file: string): void {
    const { logger, clock, retryMs = 10_000 } = this.options;
    const reason = `${(err as NodeJS.ErrnoException).code ?? 'error'}: ${err.message}`;
    logger.error(`record: cannot write ${file} (${reason}); the live view goes on, recording retries in ${retryMs / 1000} s`);
    if (!this.storageDown) {
      this.storageDown = true;
      this.options.onStorage('error', reason, file);
    }
    this.retryAt = clock.monotonic() + retryMs;
    if (this.current?.path === file) void this.finishCurrent();
  }

  /** The camera stopped: the file ends with what it has; the next run's first keyframe starts a new one. */
  cameraDown(): void {
    void this.finishCurrent();
  }

  /** Ends the current file (a split, the camera going down, shutdown); the next keyframe starts a new one. */
  finishCurrent(): Promise<void> {
    const file = this.current;
    this.current = undefined;
    if (!file) return this.finishing;
    this.finishing = this.finishing.then(async () => {
      const done = await file.finish();
      if (!done) return;
      this.options.onFinished(done);
      file.done();
    });
    return this.finishing;
  }

  /** Finishes the current file and stops taking units. */
  async close(): Promise<void> {
    await this.finishCurrent();
    this.closed = true;
  }
}
