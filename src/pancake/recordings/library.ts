// The recordings as the API serves them: the index for what exists, the frame store for where each frame lies, timing for each file.
import type { Rotation } from '../../common/events.js';
import type { Logger } from '../../common/log.js';
import type { IndexedRecording, RecordingIndex } from '../record/recording-index.js';
import { planClip, type ClipPlan, type ClipSource } from './clip.js';
import type { FrameStore } from './frame-store.js';
import { planMovie, type RecordingMovie, type RecordingTiming } from './movie.js';

export interface RecordingLibraryOptions {
  index: RecordingIndex;
  store: FrameStore;
  /** The camera's frame rate: a found file (not recorded by this pancake) whose own rate cannot be told is timed at it. */
  fps: number;
  /** --rotation, for found files. */
  rotation: Rotation;
  logger: Logger;
}

/** A recording's MP4, planned. */
export interface PlannedMovie {
  rec: IndexedRecording;
  movie: RecordingMovie;
}

/** A found file's rate from its frames and the time between its name and its modification: a whole rate within 2 %, else undefined. */
export function foundFileFps(frames: number, start: number, end: number): number | undefined {
  const seconds = (end - start) / 1000;
  if (frames < 2 || seconds <= 0) return undefined;
  const fps = frames / seconds;
  const whole = Math.round(fps);
  return whole >= 1 && Math.abs(fps - whole) <= whole * 0.02 ? whole : undefined;
}

/**
 * The recordings index and the frame tables together. {@link start} rebuilds the index and then,
 * in the background, maps every file found without a frame table (newest first), so later
 * requests read only the frames they serve.
 */
export class RecordingLibrary {
  private mapping: Promise<void> = Promise.resolve();

  constructor(private readonly options: RecordingLibraryOptions) {}

  get index(): RecordingIndex {
    return this.options.index;
  }

  /** Rebuilds the index; maps found files in the background (see {@link mapped}). */
  async start(): Promise<void> {
    const { index, store } = this.options;
    await index.start();
    const all = index.all();
    store.prune(all.map((r) => r.path));
    const newestFirst = all.filter((r) => !r.live).sort((a, b) => b.start - a.start);
    this.mapping = store.mapAll(newestFirst, (rec, table) => this.describe(rec as IndexedRecording, table.units)).catch((err: Error) => {
      this.options.logger.warn(`recordings: mapping the files found on disk stopped: ${err.message}`);
    });
  }

  /** Resolves once every file found at start-up has its frame table. */
  get mapped(): Promise<void> {
    return this.mapping;
  }

  /** Notices files added or removed by others (a stat per directory). */
  refresh(): Promise<void> {
    return this.options.index.refresh();
  }

  /** How a recording's frames are timed. */
  timing(rec: IndexedRecording): RecordingTiming {
    return { fps: rec.fps ?? this.options.fps, ...(rec.timing ? { runs: rec.timing } : {}), rotation: rec.rotation ?? this.options.rotation };
  }

  /**
   * The MP4 of the recording `NAME.h264`: all of a finished file, the whole frames written so far
   * of a live one (`pinUnits`: as many units as an earlier request of the same viewer of the live
   * file got, so that its range requests all see one file, also once the file is finished). Undefined when there is no such recording or nothing decodable in it.
   */
  async movie(h264Name: string, pinUnits?: number): Promise<PlannedMovie | undefined> {
    const rec = await this.prepared(this.options.index.find(h264Name));
    if (!rec) return undefined;
    const table = await this.options.store.get(rec);
    if (!table) return undefined;
    let units = table.unitsWithin(rec.bytes);
    // (A pin outlives the file's end: a player that began on the live file keeps seeing the same MP4.)
    if (pinUnits !== undefined && pinUnits <= units) units = pinUnits;
    const movie = planMovie(table, units, this.timing(rec));
    return movie ? { rec, movie } : undefined;
  }

  /**
   * The clip of [fromMs, toMs): continuous recordings when any overlaps the range, else detection
   * clips (they repeat what a continuous file holds). Undefined when no frame lies in it.
   */
  async clip(fromMs: number, toMs: number): Promise<ClipPlan | undefined> {
    // A file ends with its last frame's start: look a little before the range for the keyframe at or before it.
    const found = this.options.index.between(fromMs, toMs);
    const continuous = found.filter((r) => r.kind === 'continuous');
    const recs = continuous.length > 0 ? continuous : found.filter((r) => r.kind === 'detection');
    const sources: ClipSource[] = [];
    for (const listed of recs) {
      const rec = await this.prepared(listed);
      if (!rec) continue;
      const table = await this.options.store.get(rec);
      if (!table) continue;
      sources.push({ path: rec.path, table, units: table.unitsWithin(rec.bytes), start: rec.start, timing: this.timing(rec) });
    }
    return planClip(sources, fromMs, toMs);
  }

  /** The recording with its frames and rate known: a found file is mapped first (once). */
  private async prepared(rec: IndexedRecording | undefined): Promise<IndexedRecording | undefined> {
    if (!rec || rec.live || rec.frames !== undefined) return rec;
    const table = await this.options.store.get(rec);
    if (!table) return undefined;
    this.describe(rec, table.units);
    return this.options.index.find(rec.name);
  }

  private describe(rec: IndexedRecording, units: number): void {
    if (rec.frames !== undefined) return;
    const fps = foundFileFps(units, rec.start, rec.end) ?? this.options.fps;
    this.options.index.describeFound(rec.path, units, fps);
  }
}
