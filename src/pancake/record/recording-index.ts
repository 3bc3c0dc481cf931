// The recordings on disk (start, end, frames, size, kind, detection periods), kept by the recorders and rebuilt at start-up.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Rotation, TimingRun } from '../../common/events.js';
import type { AccessUnit } from '../../common/h264/annexb.js';
import { compareRecordingNames, parseRecordingName, recordingStartMs, type RecordingKind } from '../../common/recording-name.js';
import type { OpenRecording } from './journal.js';
import type { FinishedRecording } from './recording-file.js';

/** One `.h264` recording as the index knows it. */
export interface IndexedRecording {
  /** Absolute path, and its base name (`20260314-1215.h264`). */
  path: string;
  name: string;
  kind: RecordingKind;
  /** Wall-clock ms of the first and the last frame: exact when this pancake recorded it, else from the name and the file's modification time. */
  start: number;
  end: number;
  /** Frames, and their real durations and average rate, when this pancake recorded the file (undefined for a file it only found). */
  frames?: number;
  timing?: TimingRun[];
  fps?: number;
  /** Bytes on disk. */
  bytes: number;
  /** Being written now. */
  live: boolean;
  /** A detection clip's detection state (edge clips), as its event carries it. */
  detection?: boolean;
  /** Display rotation, when this pancake recorded the file. */
  rotation?: Rotation;
}

/** A time detection was on; `end` absent while it still is. */
export interface DetectionPeriod {
  start: number;
  end?: number;
}

/** What a recorder tells the index about one file while it writes it. */
export interface IndexedFileUpdates {
  /** Another frame was appended; `lastFrameWallMs` is its wall-clock time, `unit` its bytes as written (for the frame table). */
  grew(frames: number, lastFrameWallMs: number, unit?: Pick<AccessUnit, 'data' | 'keyframe'>): void;
  /** The file is finished (`undefined`: nothing reached the disk and the file was removed). */
  finished(done: FinishedRecording | undefined): void;
}

/** The one method a recorder needs of the index (see RecorderSettings.index). */
export interface RecordingIndexInput {
  /** A recording was created; `bytesOnDisk` says how much of it is written so far. */
  opened(rec: OpenRecording, bytesOnDisk: () => number): IndexedFileUpdates;
}

/** Where the index keeps each file's frame table (see FrameStore): told of live files, finished and removed ones. */
export interface FrameTracker {
  track(file: string): { add(unit: Pick<AccessUnit, 'data' | 'keyframe'>): void };
  finished(file: string, bytes: number | undefined): void;
  forget(file: string): void;
}

export interface RecordingIndexOptions {
  /** The recording directories (--record-continuous, --record-detection; they may be the same). */
  dirs: readonly string[];
  /** The catalog, an append-only NDJSON file in the state directory (what the recorders learnt about finished files). */
  catalog: string;
  /** Frame tables of the files, when recordings are served. */
  frames?: FrameTracker;
}

/**
 * The longest a recording lasts (60-minute segments; detection files split every 15 minutes): a
 * found file is dated no later than this after its name, whatever its modification time says
 * (a file copied in later).
 */
const LONGEST_RECORDING_MS = 60 * 60_000;

/** A line of the catalog: a finished recording, or a detection edge. */
type CatalogLine = { finished: FinishedRecording } | { detection: boolean; at: number };

interface Entry {
  rec: IndexedRecording;
  /** Written bytes of a live file. */
  bytesOnDisk?: () => number;
}

/**
 * Every recording in the directories, so that no request lists a directory or reads a file.
 *
 * The recorders report each file as it is opened, grows and is finished ({@link opened}); finished
 * files are appended to the catalog, so that after a restart {@link start} knows their exact
 * frames and times again: it reads the catalog and lists the directories, trusts a catalog line
 * whose file still has the same size, and dates any other file from its name and modification
 * time (a file copied in, or one a crash cut). {@link refresh} notices files removed or added by
 * others (a cleanup command) with one stat per directory, and lists a directory only when that
 * stat says its entries changed.
 */
export class RecordingIndex implements RecordingIndexInput {
  private readonly entries = new Map<string, Entry>();
  private readonly dirs: string[];
  private readonly dirVersions = new Map<string, number>();
  private edges: { detection: boolean; at: number }[] = [];

  constructor(private readonly options: RecordingIndexOptions) {
    this.dirs = [...new Set(options.dirs.map((d) => path.resolve(d)))];
  }

  /** Rebuilds the index from the catalog and the directories, and compacts the catalog to the files that remain. */
  async start(): Promise<void> {
    const known = new Map<string, FinishedRecording>();
    const edges: { detection: boolean; at: number }[] = [];
    for (const line of await readCatalog(this.options.catalog)) {
      if ('finished' in line) known.set(line.finished.path, line.finished);
      else edges.push(line);
    }
    await this.refresh();
    for (const entry of this.entries.values()) {
      const done = known.get(entry.rec.path);
      if (done && done.bytes === entry.rec.bytes) entry.rec = fromFinished(done);
    }
    // Edges before the oldest recording describe nothing that is left, but the last of them may begin a period that reaches into it.
    const oldest = Math.min(...[...this.entries.values()].map((e) => e.rec.start));
    const firstKept = edges.findLastIndex((e) => e.at <= oldest);
    this.edges = edges.slice(Math.max(0, firstKept));
    const lines: CatalogLine[] = [...this.edges];
    for (const entry of this.entries.values()) {
      const done = known.get(entry.rec.path);
      if (done && entry.rec.frames !== undefined) lines.push({ finished: done });
    }
    await writeCatalog(this.options.catalog, lines);
  }

  opened(rec: OpenRecording, bytesOnDisk: () => number): IndexedFileUpdates {
    const kind = parseRecordingName(path.basename(rec.path))?.kind ?? 'continuous';
    const entry: Entry = {
      rec: { path: rec.path, name: path.basename(rec.path), kind, start: rec.start, end: rec.start, frames: 0, fps: rec.fps, rotation: rec.rotation, bytes: 0, live: true, ...(rec.detection === undefined ? {} : { detection: rec.detection }) },
      bytesOnDisk,
    };
    this.entries.set(rec.path, entry);
    const table = this.options.frames?.track(rec.path);
    return {
      grew: (frames, lastFrameWallMs, unit) => {
        entry.rec.frames = frames;
        entry.rec.end = lastFrameWallMs;
        if (unit) table?.add(unit);
      },
      finished: (done) => {
        this.options.frames?.finished(rec.path, done?.bytes);
        if (!done) {
          this.entries.delete(rec.path);
          return;
        }
        entry.bytesOnDisk = undefined;
        entry.rec = fromFinished(done);
        // Still on disk (not removed meanwhile by a cleanup): remembered for the next start.
        if (this.entries.get(rec.path) === entry) this.append({ finished: done });
      },
    };
  }

  /** Detection turned on or off at `wallMs` (the detection state's edges). */
  detectionChanged(detection: boolean, wallMs: number): void {
    if (this.edges.at(-1)?.detection === detection) return;
    const edge = { detection, at: wallMs };
    this.edges.push(edge);
    this.append(edge);
  }

  /**
   * Notices files added or removed by others since the last look: one stat per directory, and a
   * listing (plus a stat per new file) only for a directory whose entries changed.
   */
  async refresh(): Promise<void> {
    for (const dir of this.dirs) {
      const stat = await fsp.stat(dir).catch(() => undefined);
      const version = stat?.mtimeMs ?? -1;
      if (this.dirVersions.get(dir) === version) continue;
      this.dirVersions.set(dir, version);
      const names = new Set(stat ? await fsp.readdir(dir).catch(() => []) : []);
      for (const [file, entry] of this.entries) {
        if (path.dirname(file) === dir && !names.has(entry.rec.name)) {
          this.entries.delete(file);
          this.options.frames?.forget(file);
        }
      }
      for (const name of names) {
        const file = path.join(dir, name);
        if (this.entries.has(file)) continue;
        const parsed = parseRecordingName(name);
        if (!parsed || parsed.ext !== '.h264') continue;
        const st = await fsp.lstat(file).catch(() => undefined);
        if (!st?.isFile()) continue;
        const start = recordingStartMs(parsed);
        this.entries.set(file, { rec: { path: file, name, kind: parsed.kind, start, end: Math.min(Math.max(start, st.mtimeMs), start + LONGEST_RECORDING_MS), bytes: st.size, live: false } });
      }
    }
  }

  /**
   * What a scan of a found file (one this pancake did not record) told: its frames at `fps`, so
   * that it ends at its last frame rather than at its modification time.
   */
  describeFound(file: string, frames: number, fps: number): void {
    const entry = this.entries.get(file);
    if (!entry || entry.rec.live || entry.rec.timing) return;
    entry.rec = { ...entry.rec, frames, fps, end: entry.rec.start + Math.max(0, frames - 1) * (1000 / fps) };
  }

  /** Every recording, live ones included. */
  all(): IndexedRecording[] {
    return [...this.entries.values()].map(snapshot);
  }

  /** Local days (`YYYY-MM-DD`) with any recording, newest first. */
  days(): string[] {
    const days = new Set<string>();
    for (const { rec } of this.entries.values()) {
      for (let d = localMidnight(rec.start); d <= rec.end; d = nextLocalMidnight(d)) days.add(localDay(d));
    }
    return [...days].sort().reverse();
  }

  /** The recordings that overlap [from, to) in wall-clock ms, oldest first (a live file up to its newest frame). */
  between(from: number, to: number): IndexedRecording[] {
    const found: IndexedRecording[] = [];
    for (const entry of this.entries.values()) {
      if (entry.rec.start < to && entry.rec.end >= from) found.push(snapshot(entry));
    }
    return found.sort((a, b) => a.start - b.start || compareRecordingNames(a.name, b.name));
  }

  /** The recording with this file name (`20260314-1215.h264`), in any of the directories. */
  find(name: string): IndexedRecording | undefined {
    for (const entry of this.entries.values()) if (entry.rec.name === name) return snapshot(entry);
    return undefined;
  }

  /** The periods detection was on that overlap [from, to). */
  detectionPeriods(from: number, to: number): DetectionPeriod[] {
    const periods: DetectionPeriod[] = [];
    for (const edge of this.edges) {
      if (edge.detection) periods.push({ start: edge.at });
      else if (periods.length > 0 && periods.at(-1)!.end === undefined) periods.at(-1)!.end = edge.at;
    }
    return periods.filter((p) => p.start < to && (p.end === undefined || p.end >= from));
  }

  private append(line: CatalogLine): void {
    try {
      fs.appendFileSync(this.options.catalog, `${JSON.stringify(line)}\n`);
    } catch {
      // A full disk: the index in memory is right; after a restart this file is dated from its name and mtime.
    }
  }
}

function fromFinished(done: FinishedRecording): IndexedRecording {
  const name = path.basename(done.path);
  return {
    path: done.path, name, kind: parseRecordingName(name)?.kind ?? 'continuous', start: done.start, end: done.end,
    frames: done.frames, timing: done.timing, fps: done.fps, rotation: done.rotation, bytes: done.bytes, live: false,
    ...(done.detection === undefined ? {} : { detection: done.detection }),
  };
}

function snapshot(entry: Entry): IndexedRecording {
  return { ...entry.rec, ...(entry.bytesOnDisk ? { bytes: entry.bytesOnDisk() } : {}) };
}

/** The catalog's lines; a torn last line (a crash while appending) and unreadable lines are skipped. */
async function readCatalog(file: string): Promise<CatalogLine[]> {
  const text = await fsp.readFile(file, 'utf8').catch(() => '');
  const lines: CatalogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      lines.push(JSON.parse(line) as CatalogLine);
    } catch {
      continue;
    }
  }
  return lines;
}

/** Replaces the catalog whole (a temporary file renamed over it, so a crash leaves the old or the new one). */
async function writeCatalog(file: string, lines: CatalogLine[]): Promise<void> {
  const tmp = `${file}.tmp`;
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(tmp, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  await fsp.rename(tmp, file);
}

function localMidnight(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** The next local midnight (a day is 23 or 25 hours long across a daylight-saving change). */
function nextLocalMidnight(midnight: number): number {
  const d = new Date(midnight);
  d.setDate(d.getDate() + 1);
  return d.getTime();
}

function localDay(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getFullYear()).padStart(4, '0')}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}
