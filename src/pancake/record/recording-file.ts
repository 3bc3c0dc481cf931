// One recording's life, the same for continuous and detection files: reserve a name, create, journal, write, finish or remove.
import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../common/clock.js';
import type { Rotation } from '../../common/events.js';
import type { AccessUnit } from '../../common/h264/annexb.js';
import type { SpsInfo } from '../../common/h264/sps.js';
import type { Logger } from '../../common/log.js';
import { FIRST_RESTART, withRestart } from '../../common/recording-name.js';
import { announcedFps, FrameTiming, type TimingRun } from './frame-timing.js';
import { H264File, reserveFile } from './h264-file.js';
import type { OpenRecording, RecordingJournal } from './journal.js';
import type { IndexedFileUpdates, RecordingIndexInput } from './recording-index.js';

/** A finished recording, ready to be announced. */
export interface FinishedRecording extends OpenRecording {
  /** Wall-clock ms of the last frame. */
  end: number;
  frames: number;
  bytes: number;
  /** Real frame durations (see FrameTiming); `fps` is then their average. */
  timing: TimingRun[];
}

/** What every recorder (continuous, detection) is given: where files go, what they hold, whom to tell. */
export interface RecorderSettings {
  /** Absolute directory for the files (continuous and detection files may share it). */
  dir: string;
  /** The nominal frame rate: the duration of a file's only frame, and the rate noted for a crash. */
  fps: number;
  /**
   * Whether the source runs at exactly `fps` (the Pi camera, the test card, a file): its files are
   * timed at that rate, as they always were, not by arrival, which jitters on a busy machine.
   * Network cameras (false) are timed by arrival.
   */
  fixedRate?: boolean;
  rotation: Rotation;
  clock: Clock;
  logger: Logger;
  journal: RecordingJournal;
  /** Called in order, once per finished file that holds at least one frame. */
  onFinished: (file: FinishedRecording) => void;
  /** Told of every file as it is opened, grows and is finished (the recordings index), when there is one. */
  index?: RecordingIndexInput;
}

/**
 * A file being written. Created at a keyframe (which the stream guarantees carries SPS+PPS), under
 * the first free name of `base.h264`, `base-2.h264`, … reserved with O_EXCL; noted in the journal
 * so a crash leaves it announced on the next start; its frames' arrival times kept for the MP4.
 */
export class RecordingFile {
  readonly rec: OpenRecording;
  private readonly file: H264File;
  private readonly timing = new FrameTiming();
  /** Frames of a fixed-rate source (see RecorderSettings.fixedRate). */
  private count = 0;
  private last: number;
  private finished: Promise<FinishedRecording | undefined> | undefined;
  private readonly indexed: IndexedFileUpdates | undefined;

  /** Creates the file for `first` (a keyframe); throws the file system's error when it cannot be created. */
  constructor(
    first: AccessUnit,
    sps: SpsInfo | undefined,
    base: string,
    detection: boolean | undefined,
    private readonly settings: RecorderSettings,
  ) {
    const { dir, fps, rotation, clock, journal, logger } = settings;
    const reserved = reserveFile(mapIterable(candidateNames(base), (name) => path.join(dir, name)));
    this.rec = {
      path: reserved.path, fps, rotation, start: first.wallTime, width: sps?.width ?? 0, height: sps?.height ?? 0,
      ...(detection === undefined ? {} : { detection }),
    };
    this.file = new H264File(reserved.path, reserved.fd, clock);
    if (!journal.opened(this.rec)) logger.warn(`record: cannot note ${this.rec.path} as open (disk full?); it is recorded, but would not be announced after a crash`);
    logger.info(`record: writing ${this.rec.path}`);
    this.indexed = settings.index?.opened(this.rec, () => this.file.bytes);
    this.last = first.wallTime;
    this.append(first);
  }

  get path(): string {
    return this.rec.path;
  }

  /** Wall-clock ms of the first frame. */
  get start(): number {
    return this.rec.start;
  }

  get frames(): number {
    return this.settings.fixedRate ? this.count : this.timing.frames;
  }

  /** The first write error: the file is then finished as it is. */
  get error(): Error | undefined {
    return this.file.error;
  }

  append(unit: AccessUnit): void {
    if (this.finished) return;
    // A fixed-rate source's frames are timed by its rate: their arrival times are not needed.
    if (this.settings.fixedRate) this.count++;
    else this.timing.add(unit.monoTime);
    this.last = unit.wallTime;
    this.file.append(unit.data);
    this.indexed?.grew(this.frames, unit.wallTime, unit);
  }

  /**
   * Writes the rest, syncs and closes; returns what to announce, or nothing when no byte reached
   * the disk (the empty file is removed and forgotten). Call {@link done} once it is announced.
   */
  finish(): Promise<FinishedRecording | undefined> {
    this.finished ??= this.finishOnce();
    return this.finished;
  }

  private async finishOnce(): Promise<FinishedRecording | undefined> {
    const { logger, journal, fps } = this.settings;
    await this.file.finish();
    if (this.file.error) logger.error(`record: ${this.rec.path} is incomplete: ${this.file.error.message}`);
    if (this.file.bytes === 0) {
      fs.rmSync(this.rec.path, { force: true });
      journal.closed(this.rec.path);
      this.indexed?.finished(undefined);
      return undefined;
    }
    const timing: TimingRun[] = this.settings.fixedRate ? [[this.frames, Math.round((1e6 / fps)) / 1000]] : this.timing.finish(1000 / fps);
    const rate = this.settings.fixedRate ? fps : announcedFps(timing);
    logger.info(`record: finished ${this.rec.path} (${this.frames} frames, ${this.file.bytes} bytes, ${rate} fps)`);
    const done: FinishedRecording = { ...this.rec, fps: rate, end: this.last, frames: this.frames, bytes: this.file.bytes, timing };
    this.indexed?.finished(done);
    return done;
  }

  /** Its event is in the outbox: the journal can forget it. */
  done(): void {
    this.settings.journal.closed(this.rec.path);
  }
}

/** `base.h264`, then `base-2.h264`, `base-3.h264` … (a restart within the same minute never overwrites). */
function* candidateNames(base: string): Generator<string> {
  yield `${base}.h264`;
  for (let n = FIRST_RESTART; n < 10_000; n++) yield `${withRestart(base, n)}.h264`;
}

function* mapIterable<T, U>(items: Iterable<T>, f: (item: T) => U): Generator<U> {
  for (const item of items) yield f(item);
}
