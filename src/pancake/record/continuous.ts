// Continuous recording: YYYYMMDD-hhmm.h264 files split at the first IDR at or after each segment mark.
import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../common/clock.js';
import type { Rotation } from '../../common/events.js';
import type { AccessUnit } from '../../common/h264/annexb.js';
import type { SpsInfo } from '../../common/h264/sps.js';
import type { Logger } from '../../common/log.js';
import { H264File } from './h264-file.js';
import type { OpenRecording, RecordingJournal } from './journal.js';
import { continuousBaseName, nextSegmentMark, uniqueName } from './naming.js';

/** A finished recording, ready to be announced. */
export interface FinishedRecording extends OpenRecording {
  /** Wall-clock ms of the last frame. */
  end: number;
  frames: number;
  bytes: number;
}

/** What every recorder (continuous, detection) is given: where files go, what they hold, whom to tell. */
export interface RecorderSettings {
  /** Absolute directory for the files (continuous and detection files may share it). */
  dir: string;
  fps: number;
  rotation: Rotation;
  clock: Clock;
  logger: Logger;
  journal: RecordingJournal;
  /** Called in order, once per finished file that holds at least one frame. */
  onFinished: (file: FinishedRecording) => void;
}

export interface ContinuousRecorderOptions extends RecorderSettings {
  segmentMinutes: number;
  /** Storage trouble ("error", once per outage) and recovery ("ok"). */
  onStorage: (state: 'error' | 'ok', reason: string, file?: string) => void;
  /** After a storage error, the next attempt waits this long (then starts at the next IDR). */
  retryMs?: number;
}

interface Segment {
  rec: OpenRecording;
  nextMark: number;
  last: number;
  frames: number;
  file: H264File | undefined;
  /** Units that arrived while the file was being created. */
  early: Buffer[];
  opening: Promise<H264File | undefined>;
}

/**
 * Every file starts with SPS+PPS+IDR (the camera repeats them before each IDR), and the files
 * concatenated are exactly the camera stream from its first IDR: each unit goes to exactly one file.
 */
export class ContinuousRecorder {
  private current: Segment | undefined;
  private finishing: Promise<void> = Promise.resolve();
  private retryAt = -Infinity;
  private storageDown = false;
  private closed = false;

  constructor(private readonly options: ContinuousRecorderOptions) {}

  /** Whether a file is being written now. */
  get recording(): boolean {
    return this.current !== undefined;
  }

  /** Takes the next access unit of the camera stream. */
  push(unit: AccessUnit, sps: SpsInfo | undefined): void {
    if (this.closed) return;
    const cur = this.current;
    if (cur?.file?.error) {
      this.storageFailed(cur.file.error, cur.rec.path);
    } else if (cur && unit.keyframe && (unit.wallTime >= cur.nextMark || unit.wallTime < cur.rec.start)) {
      // A mark was passed (or the wall clock jumped back, e.g. NTP after boot): split here.
      this.finishCurrent();
    }
    if (!this.current) {
      if (!unit.keyframe || this.options.clock.monotonic() < this.retryAt) return;
      this.open(unit, sps);
    }
    const seg = this.current!;
    seg.frames++;
    seg.last = unit.wallTime;
    if (seg.file) seg.file.append(unit.data);
    else seg.early.push(unit.data);
  }

  private open(unit: AccessUnit, sps: SpsInfo | undefined): void {
    const { dir, fps, rotation, segmentMinutes, journal } = this.options;
    const name = uniqueName(continuousBaseName(unit.wallTime), (n) => fs.existsSync(path.join(dir, n)));
    const rec: OpenRecording = {
      path: path.join(dir, name), fps, rotation, start: unit.wallTime,
      width: sps?.width ?? 0, height: sps?.height ?? 0,
    };
    const seg: Segment = {
      rec, nextMark: nextSegmentMark(unit.wallTime, segmentMinutes), last: unit.wallTime, frames: 0,
      file: undefined, early: [], opening: Promise.resolve(undefined),
    };
    seg.opening = H264File.create(rec.path, this.options.clock).then(
      (file) => {
        if (!journal.opened(rec)) this.options.logger.warn(`record: cannot note ${rec.path} as open (disk full?); it is recorded, but would not be announced after a crash`);
        seg.file = file;
        for (const data of seg.early) file.append(data);
        seg.early = [];
        this.options.logger.info(`record: writing ${rec.path}`);
        if (this.storageDown) {
          this.storageDown = false;
          this.options.onStorage('ok', `recording again into ${rec.path}`, rec.path);
        }
        return file;
      },
      (err: Error) => {
        this.storageFailed(err, rec.path);
        return undefined;
      },
    );
    this.current = seg;
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
    if (this.current?.rec.path === file) this.finishCurrent();
  }

  /** Ends the current file (a split, the camera going down, shutdown); the next IDR starts a new one. */
  finishCurrent(): Promise<void> {
    const seg = this.current;
    this.current = undefined;
    if (!seg) return this.finishing;
    this.finishing = this.finishing.then(async () => {
      const file = await seg.opening;
      if (!file) return;
      await file.finish();
      if (file.error) this.options.logger.error(`record: ${seg.rec.path} is incomplete: ${file.error.message}`);
      if (file.bytes === 0) {
        // Nothing reached the disk: nothing to announce, and no empty file left behind.
        fs.rmSync(seg.rec.path, { force: true });
        this.options.journal.closed(seg.rec.path);
        return;
      }
      this.options.logger.info(`record: finished ${seg.rec.path} (${seg.frames} frames, ${file.bytes} bytes)`);
      this.options.onFinished({ ...seg.rec, end: seg.last, frames: seg.frames, bytes: file.bytes });
      this.options.journal.closed(seg.rec.path);
    });
    return this.finishing;
  }

  /** Finishes the current file and stops taking units. */
  async close(): Promise<void> {
    await this.finishCurrent();
    this.closed = true;
  }
}
