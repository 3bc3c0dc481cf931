// Detection recording: clips around edges (edge) or files covering detections (all), with pre-roll from a ring of whole GOPs.
import type { Timer } from '../../common/clock.js';
import type { AccessUnit } from '../../common/h264/annexb.js';
import type { SpsInfo } from '../../common/h264/sps.js';
import { EdgeTracker } from '../detect/edges.js';
import type { StreamConsumer } from '../stream/consumer.js';
import { detectionBaseName } from './naming.js';
import { RecordingFile, type RecorderSettings } from './recording-file.js';
import { PreRollBuffer } from './preroll.js';

/** Settings shared by both modes. */
export interface DetectionRecorderOptions extends RecorderSettings {
  /** Stream kept before an edge, in ms (whole GOPs from the first IDR at or after edge − preRollMs). */
  preRollMs?: number;
  /** Stream kept after an edge, in ms. */
  postRollMs?: number;
  /** Length of the ring of GOPs the pre-roll comes from (at least 6 s, see EdgeRecorder). */
  bufferMs?: number;
}

/** What main.ts needs of either mode. */
export interface DetectionRecorder extends StreamConsumer {
  /** Whether a file is being written now. */
  readonly recording: boolean;
  push(unit: AccessUnit, sps: SpsInfo | undefined): void;
  /** Every answer of detect(). */
  setDetection(state: boolean): void;
  /** The camera stopped: files end with what they have; the ring starts afresh with the next run. */
  cameraDown(): void;
  close(): Promise<void>;
}

const DEFAULTS = { preRollMs: 3000, postRollMs: 3000, bufferMs: 6000 };

/** A detection file for `first` (a keyframe), or nothing when the file cannot be created (logged: the clip is lost). */
function openClipFile(first: AccessUnit, sps: SpsInfo | undefined, detection: boolean | undefined, options: DetectionRecorderOptions): RecordingFile | undefined {
  try {
    return new RecordingFile(first, sps, detectionBaseName(first.wallTime), detection, options);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    options.logger.error(`record: cannot create a detection clip in ${options.dir} (${e.code ?? 'error'}: ${e.message}); this detection clip is lost`);
    return undefined;
  }
}

/** Finishes files one after the other, announcing each before the journal forgets it, in order. */
class Finisher {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly options: DetectionRecorderOptions) {}

  /** Queues `file` to be finished and announced; `before` runs first, in the same order (an event). */
  finish(file: RecordingFile | undefined, before?: () => void): Promise<void> {
    this.chain = this.chain.then(async () => {
      before?.();
      const done = await file?.finish();
      if (!done) return;
      this.options.onFinished(done);
      file!.done();
    });
    return this.chain;
  }

  get idle(): Promise<void> {
    return this.chain;
  }
}

interface Clip {
  /** The edge's new state, carried by the clip's event. */
  detection: boolean;
  /** Units at or after this monotonic time are past the clip. */
  end: number;
  /** Created at the first IDR (from the ring, or the next one to arrive). */
  file: RecordingFile | undefined;
}

/**
 * `--record-detection edge`: for every reported edge (see EdgeTracker), one clip from about 3 s
 * before the edge to 3 s after it, announced with `"detection": <new state>` once written.
 *
 * The clip starts at the last keyframe at or before edge − 3 s (so it opens with SPS+PPS and a
 * keyframe, and the pre-roll is at least 3 s whatever the GOP length), which with the camera's
 * one keyframe per second is 3–4 s before the edge: clips are 6–7 s long. Edges
 * closer together than 3 s: the second change is held back until 3 s after the first edge; if
 * detection is still changed then, that is the next edge, dated from when the current state
 * began, and its clip is cut from the ring (which holds 6 s and more) — so two clips may share
 * frames. A change that is undone within those 3 s makes no clip at all.
 */
export class EdgeRecorder implements DetectionRecorder {
  private readonly ring: PreRollBuffer;
  private readonly tracker: EdgeTracker;
  private readonly finisher: Finisher;
  private readonly preRollMs: number;
  private readonly postRollMs: number;
  private clips: Clip[] = [];
  private sps: SpsInfo | undefined;
  private holdTimer: Timer | undefined;
  private closed = false;

  constructor(private readonly options: DetectionRecorderOptions) {
    this.preRollMs = options.preRollMs ?? DEFAULTS.preRollMs;
    this.postRollMs = options.postRollMs ?? DEFAULTS.postRollMs;
    // The held-back edge of a pair is up to 3 s old when its clip is cut: the ring must reach 6 s back.
    this.ring = new PreRollBuffer({ keepMs: Math.max(options.bufferMs ?? DEFAULTS.bufferMs, this.preRollMs + this.postRollMs) });
    this.tracker = new EdgeTracker(this.postRollMs);
    this.finisher = new Finisher(options);
  }

  get recording(): boolean {
    return this.clips.length > 0;
  }

  push(unit: AccessUnit, sps: SpsInfo | undefined): void {
    if (this.closed) return;
    if (sps) this.sps = sps;
    this.ring.push(unit);
    for (const clip of [...this.clips]) {
      if (unit.monoTime >= clip.end) this.finishClip(clip);
      else if (clip.file) clip.file.append(unit);
      else if (unit.keyframe) clip.file = openClipFile(unit, this.sps, clip.detection, this.options);
    }
  }

  setDetection(state: boolean): void {
    if (this.closed) return;
    const now = this.options.clock.monotonic();
    const edge = this.tracker.update(state, now);
    if (edge) this.startClip(edge.state, edge.at);
  }

  private startClip(detection: boolean, at: number): void {
    const clip: Clip = { detection, end: at + this.postRollMs, file: undefined };
    const units = this.ring.covering(at - this.preRollMs);
    if (units.length > 0) {
      clip.file = openClipFile(units[0]!, this.sps, detection, this.options);
      for (const unit of units.slice(1)) {
        if (unit.monoTime >= clip.end) break;
        clip.file?.append(unit);
      }
    }
    this.clips.push(clip);
    this.options.logger.info(`detect: detection ${detection ? 'started' : 'ended'}; recording the edge`);
    this.armHold();
  }

  /** When the hold after an edge ends, a change made during it becomes the next edge. */
  private armHold(): void {
    this.holdTimer?.cancel();
    const { clock } = this.options;
    const until = this.tracker.holdUntil(clock.monotonic());
    if (until === undefined) return;
    this.holdTimer = clock.setTimeout(() => {
      const edge = this.tracker.release(clock.monotonic());
      if (edge) this.startClip(edge.state, edge.at);
    }, until - clock.monotonic());
  }

  private finishClip(clip: Clip): void {
    this.clips = this.clips.filter((c) => c !== clip);
    void this.finisher.finish(clip.file);
  }

  cameraDown(): void {
    for (const clip of [...this.clips]) this.finishClip(clip);
    this.ring.clear();
  }

  /** Finishes open clips with what they have. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.holdTimer?.cancel();
    for (const clip of [...this.clips]) this.finishClip(clip);
    await this.finisher.idle;
  }
}

export interface AllRecorderOptions extends DetectionRecorderOptions {
  /** Long detections are split into files of this length (ms of stream). */
  splitMs?: number;
  /** `{"detection": false}` when a detection has ended, just before its last file is announced. */
  onDetectionEnd: (wallTime: number) => void;
}

const IDLE = 0;
/** Writing the first file: pre-roll and 3 s after detection turned true. */
const FIRST = 1;
/** Writing the files that follow, while detection lasts and 3 s after. */
const FOLLOWING = 2;

/**
 * `--record-detection all`, as the original: when detection turns true, a first file takes the
 * pre-roll (from the first IDR at or after 3 s before) and 3 s after the edge, and is announced
 * with `"detection": true` (about 3 s after the edge, so a notification does not wait for the
 * detection to end); recording goes on without a gap into the next file, split every 15 minutes
 * (`{"h264": …}` each), and ends once detection has been false for 3 s — true again within those 3 s
 * carries on in the same file. The end is announced as `{"detection": false}` then `{"h264": last}`.
 * Files begin at IDRs; the first file ends at the first IDR at or after edge + 3 s.
 */
export class AllRecorder implements DetectionRecorder {
  private readonly ring: PreRollBuffer;
  private readonly finisher: Finisher;
  private readonly preRollMs: number;
  private readonly postRollMs: number;
  private readonly splitMs: number;
  private state = IDLE;
  private detection = false;
  /** Monotonic ms since when detection has been false, while a recording is running. */
  private falseSince: number | undefined;
  /** FIRST: the first file ends at the first IDR at or after this. FOLLOWING: the split time. */
  private boundary = 0;
  /** Monotonic ms of the first unit of the current following file (the post-roll never ends before it). */
  private followingStart = 0;
  /** The first unit not written by the last recording: the next pre-roll starts after it. */
  private lastEnd = -Infinity;
  private file: RecordingFile | undefined;
  private sps: SpsInfo | undefined;
  private closed = false;

  constructor(private readonly options: AllRecorderOptions) {
    this.preRollMs = options.preRollMs ?? DEFAULTS.preRollMs;
    this.postRollMs = options.postRollMs ?? DEFAULTS.postRollMs;
    this.splitMs = options.splitMs ?? 15 * 60_000;
    this.ring = new PreRollBuffer({ keepMs: Math.max(options.bufferMs ?? DEFAULTS.bufferMs, this.preRollMs) });
    this.finisher = new Finisher(options);
  }

  get recording(): boolean {
    return this.state !== IDLE;
  }

  push(unit: AccessUnit, sps: SpsInfo | undefined): void {
    if (this.closed) return;
    if (sps) this.sps = sps;
    this.ring.push(unit);
    if (this.state === FIRST) {
      // (Without a file yet, no IDR came since the edge: this one starts the first file instead.)
      if (unit.keyframe && unit.monoTime >= this.boundary && this.file) {
        this.finishFile();
        this.state = FOLLOWING;
        this.openFollowing(unit);
        return;
      }
      this.write(unit, true);
    } else if (this.state === FOLLOWING) {
      if (this.falseSince !== undefined && unit.monoTime >= Math.max(this.falseSince, this.followingStart) + this.postRollMs) {
        this.end(unit);
        return;
      }
      if (unit.keyframe && (!this.file || unit.monoTime >= this.boundary)) {
        this.finishFile();
        this.openFollowing(unit);
        return;
      }
      if (this.file) this.file.append(unit);
    }
  }

  setDetection(state: boolean): void {
    if (this.closed || state === this.detection) return;
    this.detection = state;
    const now = this.options.clock.monotonic();
    if (!state) {
      if (this.state !== IDLE) this.falseSince = now;
      return;
    }
    this.falseSince = undefined;
    if (this.state !== IDLE) return;
    // A detection begins: the first file starts with the pre-roll, never before the last recording's end.
    this.state = FIRST;
    this.boundary = now + this.postRollMs;
    this.options.logger.info('detect: detection started; recording');
    const units = this.ring.covering(now - this.preRollMs, this.lastEnd);
    for (const unit of units) this.write(unit, true);
  }

  /** Appends to the current file, creating it at an IDR. */
  private write(unit: AccessUnit, detection: boolean | undefined): void {
    if (this.file) this.file.append(unit);
    else if (unit.keyframe) this.file = openClipFile(unit, this.sps, detection, this.options);
  }

  private openFollowing(unit: AccessUnit): void {
    this.file = openClipFile(unit, this.sps, undefined, this.options);
    this.followingStart = unit.monoTime;
    this.boundary = unit.monoTime + this.splitMs;
  }

  private finishFile(before?: () => void): void {
    const file = this.file;
    this.file = undefined;
    void this.finisher.finish(file, before);
  }

  /** Detection has been false for the post-roll: `{"detection": false}`, then the last file. */
  private end(firstAfter: AccessUnit): void {
    this.state = IDLE;
    this.falseSince = undefined;
    this.lastEnd = firstAfter.monoTime;
    this.options.logger.info('detect: detection ended; recording stopped');
    this.finishFile(() => this.options.onDetectionEnd(firstAfter.wallTime));
  }

  cameraDown(): void {
    // The file ends here; recording goes on at the next IDR of the next camera run.
    if (this.state === FIRST) this.state = FOLLOWING;
    if (this.file) this.finishFile();
    this.ring.clear();
  }

  /** Finishes the file being written (announced like a split). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.file) this.finishFile();
    await this.finisher.idle;
  }
}

/** The `--record-detection` recorder for `mode`. */
export function createDetectionRecorder(mode: 'edge' | 'all', options: AllRecorderOptions): DetectionRecorder {
  return mode === 'edge' ? new EdgeRecorder(options) : new AllRecorder(options);
}
