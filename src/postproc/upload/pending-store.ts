// Durable pending uploads of one destination: one small marker file per pending recording.
import fs from 'node:fs';
import path from 'node:path';
import { cameraNameError } from '../../common/camera-name.js';

// A named camera's file is pending under `camera@fileName`: "@" is in neither a camera name nor a
// recording's name, so the key splits back unambiguously, and a marker written before cameras had
// names (a bare file name) still reads as a file without a camera.
const CAMERA_SEPARATOR = '@';

/** The key a pending file is stored under: its base name, or `camera@name` for a named camera's file. */
export function pendingKey(fileName: string, camera?: string): string {
  if (camera === undefined) return fileName;
  const error = cameraNameError(camera);
  if (error !== undefined) throw new Error(`upload of ${fileName}: ${error}`);
  return `${camera}${CAMERA_SEPARATOR}${fileName}`;
}

/** The file name and camera of a key from {@link pendingKey}; undefined when the key is not one (a stray file). */
export function parsePendingKey(key: string): { fileName: string; camera?: string } | undefined {
  const at = key.indexOf(CAMERA_SEPARATOR);
  if (at === -1) return { fileName: key };
  const camera = key.slice(0, at);
  const fileName = key.slice(at + 1);
  if (cameraNameError(camera) !== undefined || fileName === '' || fileName.includes(CAMERA_SEPARATOR)) return undefined;
  return { fileName, camera };
}

/** Oldest first: by file name (names are timestamps), then by camera, so every camera's files take turns by age. */
export function comparePendingKeys(a: string, b: string): number {
  const fa = a.slice(a.indexOf(CAMERA_SEPARATOR) + 1);
  const fb = b.slice(b.indexOf(CAMERA_SEPARATOR) + 1);
  if (fa !== fb) return fa < fb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

// A marker per file (rather than one list rewritten on every change) makes adding and finishing
// one file a single atomic create or unlink, needs no compaction, and a crash can at worst leave
// a file pending that was already uploaded (it is then uploaded again, identically).
const MARKER = '.json';
const TEMP = '.tmp';

/** What a marker file holds. */
interface Marker {
  path: string;
  queuedAt: string;
}

/**
 * The pending files of one destination, on disk in `dir`, oldest name first; each is known by its
 * key ({@link pendingKey}: the base name, with the camera's name for a named camera). Only the oldest
 * `maxInMemory` names are held in memory; the rest are read back from disk as those are done, so
 * a long outage costs disk markers, not memory, and nothing is dropped.
 */
export class PendingStore {
  private window: string[] = [];
  private total = 0;

  constructor(
    readonly dir: string,
    private readonly maxInMemory: number,
  ) {
    if (!Number.isInteger(maxInMemory) || maxInMemory < 1) throw new RangeError(`maxInMemory must be a whole number ≥ 1: ${maxInMemory}`);
  }

  /** Creates the folder (with a note saying which destination it belongs to) and loads what is pending. */
  async open(description: string): Promise<void> {
    await fs.promises.mkdir(this.dir, { recursive: true });
    await fs.promises.writeFile(path.join(this.dir, 'destination.txt'), `${description}\n`);
    await this.scan(true);
  }

  /** Number of pending files, on disk and in memory. */
  count(): number {
    return this.total;
  }

  /** The pending files held in memory, oldest first (all of them when fewer than maxInMemory). */
  files(): string[] {
    return [...this.window];
  }

  /** The oldest pending file, reading more from disk when memory has run out; undefined when none. */
  async next(): Promise<string | undefined> {
    if (this.window.length === 0 && this.total > 0) await this.scan(false);
    return this.window[0];
  }

  /**
   * Records `fileName` (a key from {@link pendingKey}) as pending, durably: written, fsync'd, renamed into place and
   * the folder fsync'd before this resolves. Adding a file already pending changes nothing.
   */
  async add(fileName: string, localPath: string): Promise<void> {
    const marker = this.markerPath(fileName);
    const existed = await exists(marker);
    const temp = marker + TEMP;
    const body: Marker = { path: localPath, queuedAt: new Date().toISOString() };
    const fh = await fs.promises.open(temp, 'w');
    try {
      await fh.writeFile(JSON.stringify(body) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(temp, marker);
    await syncDir(this.dir);
    if (!existed) {
      this.total++;
      this.remember(fileName);
    }
  }

  /** The local path recorded for a pending file. */
  async localPath(fileName: string): Promise<string> {
    const body = JSON.parse(await fs.promises.readFile(this.markerPath(fileName), 'utf8')) as Marker;
    return body.path;
  }

  /** Forgets a file: uploaded, or dropped because it no longer exists locally. */
  async remove(fileName: string): Promise<void> {
    try {
      await fs.promises.unlink(this.markerPath(fileName));
      this.total--;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // Not fsync'd: if the unlink is lost in a power cut, the file is uploaded once more, identically.
    this.window = this.window.filter((n) => n !== fileName);
  }

  private markerPath(fileName: string): string {
    if (fileName.includes('/') || fileName.startsWith('.')) throw new Error(`not a plain file name: ${fileName}`);
    return path.join(this.dir, fileName + MARKER);
  }

  // Keeps the window the oldest maxInMemory names (names are timestamps, so name order is age).
  private remember(fileName: string): void {
    if (this.window.includes(fileName)) return;
    const full = this.window.length >= this.maxInMemory;
    if (full && comparePendingKeys(fileName, this.window[this.window.length - 1]!) > 0) return;
    this.window.push(fileName);
    this.window.sort(comparePendingKeys);
    if (full) this.window.pop();
  }

  // Streams the folder so memory stays bounded however many markers there are.
  private async scan(cleanTemps: boolean): Promise<void> {
    let total = 0;
    const dir = await fs.promises.opendir(this.dir);
    for await (const entry of dir) {
      if (cleanTemps && entry.name.endsWith(MARKER + TEMP)) {
        // A marker whose write a crash interrupted: its enqueue never resolved, so it was never promised.
        await fs.promises.rm(path.join(this.dir, entry.name), { force: true });
        continue;
      }
      if (!entry.isFile() || !entry.name.endsWith(MARKER)) continue;
      total++;
      this.remember(entry.name.slice(0, -MARKER.length));
    }
    this.total = total;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.promises.access(file);
    return true;
  } catch {
    return false;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
