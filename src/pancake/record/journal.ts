// Which recordings are open right now, on disk: after a crash, the files left open are finished and announced.
import fs from 'node:fs';
import path from 'node:path';
import type { Rotation } from '../../common/events.js';

/** What is known about a recording when it is opened. */
export interface OpenRecording {
  path: string;
  fps: number;
  width: number;
  height: number;
  rotation: Rotation;
  /** Wall-clock ms of the first frame. */
  start: number;
  /** Set on detection clips (the new detection state), absent on continuous files. */
  detection?: boolean;
}

/** A small JSON file per open recording; removed once its event is safely in the outbox. */
export class RecordingJournal {
  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  private entryPath(file: string): string {
    return path.join(this.dir, `${path.basename(file)}.json`);
  }

  /**
   * Notes an open recording. Returns false when the note cannot be written (a full disk): the
   * recording goes on, it just would not be announced after a crash.
   */
  opened(rec: OpenRecording): boolean {
    try {
      fs.writeFileSync(this.entryPath(rec.path), JSON.stringify(rec));
      return true;
    } catch {
      fs.rmSync(this.entryPath(rec.path), { force: true });
      return false;
    }
  }

  closed(file: string): void {
    try {
      fs.rmSync(this.entryPath(file), { force: true });
    } catch {
      // Nothing to do: a stale note only makes the next start announce the file again (same id).
    }
  }

  /** Recordings a previous run left open (crash, power loss, kill -9). */
  leftovers(): OpenRecording[] {
    const found: OpenRecording[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        found.push(JSON.parse(fs.readFileSync(path.join(this.dir, name), 'utf8')) as OpenRecording);
      } catch {
        fs.rmSync(path.join(this.dir, name), { force: true });
      }
    }
    return found.sort((a, b) => a.start - b.start);
  }
}
