// The frame tables of all recordings: live ones in memory, finished ones in small files beside the index, found ones made by one scan.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { AnnexBParser } from '../../common/h264/annexb.js';
import type { Logger } from '../../common/log.js';
import { FrameTable } from './frame-table.js';

/** Bytes read at a time when a file is scanned. */
const SCAN_BYTES = 1 << 20;
/** Finished tables kept in memory (a few hundred KB each at most). */
const CACHED_TABLES = 16;

export interface FrameStoreOptions {
  /** Directory of the table files (`<state-dir>/frames`). */
  dir: string;
  logger: Logger;
}

/** What the store needs to know of a recording. */
export interface StoredRecording {
  path: string;
  name: string;
  /** Bytes on disk now. */
  bytes: number;
  live: boolean;
}

/**
 * Keeps every recording's {@link FrameTable}. The recorders fill a live table as they write
 * ({@link track}); it is saved when the file is finished ({@link finished}), so serving a recording
 * never reads more of the .h264 than the frames served. A file pancake did not record (copied in,
 * or cut by a crash before its table was saved) is scanned once, in the background at start-up
 * ({@link mapAll}) or when it is first asked for, and its table saved too.
 */
export class FrameStore {
  private readonly live = new Map<string, FrameTable>();
  private readonly cache = new Map<string, { table: FrameTable; bytes: number }>();
  private readonly scans = new Map<string, Promise<FrameTable | undefined>>();
  private closed = false;

  constructor(private readonly options: FrameStoreOptions) {
    fs.mkdirSync(options.dir, { recursive: true });
  }

  /** A new live table for a file being created. */
  track(file: string): FrameTable {
    const table = new FrameTable();
    this.live.set(file, table);
    return table;
  }

  /** The live file is finished with `bytes` on disk (undefined: removed); its table is saved. */
  finished(file: string, bytes: number | undefined): void {
    const table = this.live.get(file);
    this.live.delete(file);
    if (!table || bytes === undefined) {
      this.forget(file);
      return;
    }
    this.remember(file, table, bytes);
    this.save(file, table, bytes);
  }

  /** The recording is gone: its table too. */
  forget(file: string): void {
    this.cache.delete(file);
    fs.rmSync(this.tablePath(file), { force: true });
  }

  /** Removes table files of recordings that no longer exist. */
  prune(existing: readonly string[]): void {
    const keep = new Set(existing.map((f) => path.basename(this.tablePath(f))));
    for (const name of fs.readdirSync(this.options.dir)) if (!keep.has(name)) fs.rmSync(path.join(this.options.dir, name), { force: true });
  }

  /** Whether the recording's table is at hand without a scan. */
  has(rec: StoredRecording): boolean {
    return this.live.has(rec.path) || this.cache.get(rec.path)?.bytes === rec.bytes || this.load(rec) !== undefined;
  }

  /** The recording's table (scanning the file when there is none); undefined when it cannot be read. */
  async get(rec: StoredRecording): Promise<FrameTable | undefined> {
    const live = this.live.get(rec.path);
    if (live) return live;
    const cached = this.cache.get(rec.path);
    if (cached && cached.bytes === rec.bytes) return cached.table;
    const loaded = this.load(rec);
    if (loaded) return loaded;
    let scan = this.scans.get(rec.path);
    if (!scan) {
      scan = this.scan(rec).finally(() => this.scans.delete(rec.path));
      this.scans.set(rec.path, scan);
    }
    return scan;
  }

  /** Scans, one after another, every finished recording without a table; `onMapped` is told of each. */
  async mapAll(recs: readonly StoredRecording[], onMapped: (rec: StoredRecording, table: FrameTable) => void): Promise<void> {
    let mapped = 0;
    for (const rec of recs) {
      if (this.closed) return;
      if (rec.live) continue;
      const had = this.has(rec);
      const table = await this.get(rec);
      if (!table) continue;
      onMapped(rec, table);
      if (!had) mapped++;
    }
    if (mapped > 0) this.options.logger.info(`recordings: mapped ${mapped} recording(s) found on disk`);
  }

  /** Stops background scanning. */
  close(): void {
    this.closed = true;
  }

  private tablePath(file: string): string {
    return path.join(this.options.dir, `${path.basename(file)}.frames`);
  }

  private remember(file: string, table: FrameTable, bytes: number): void {
    this.cache.delete(file);
    this.cache.set(file, { table, bytes });
    if (this.cache.size > CACHED_TABLES) this.cache.delete(this.cache.keys().next().value as string);
  }

  private load(rec: StoredRecording): FrameTable | undefined {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(this.tablePath(rec.path));
    } catch {
      return undefined;
    }
    const parsed = FrameTable.parse(buf);
    if (!parsed || parsed.coveredBytes !== rec.bytes) return undefined;
    this.remember(rec.path, parsed.table, rec.bytes);
    return parsed.table;
  }

  private save(file: string, table: FrameTable, bytes: number): void {
    const target = this.tablePath(file);
    try {
      fs.writeFileSync(`${target}.tmp`, table.serialize(bytes));
      fs.renameSync(`${target}.tmp`, target);
    } catch (err) {
      // A full disk: the table is in memory now, and the file is scanned again after a restart.
      this.options.logger.warn(`recordings: cannot save the frame table of ${file}: ${(err as Error).message}`);
    }
  }

  /** Reads the whole file once and notes every access unit. */
  private async scan(rec: StoredRecording): Promise<FrameTable | undefined> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(rec.path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch {
      return undefined;
    }
    const parser = new AnnexBParser();
    let table: FrameTable | undefined;
    let read = 0;
    try {
      const size = (await fh.stat()).size;
      const take = (units: ReturnType<AnnexBParser['push']>): void => {
        for (const au of units) {
          // Bytes before the first start code belong to no unit.
          table ??= new FrameTable(parser.droppedBytes);
          table.add(au);
        }
      };
      while (read < size) {
        const buf = Buffer.allocUnsafe(Math.min(SCAN_BYTES, size - read));
        const { bytesRead } = await fh.read(buf, 0, buf.length, read);
        if (bytesRead === 0) break;
        read += bytesRead;
        take(parser.push(buf.subarray(0, bytesRead), 0, 0));
      }
      take(parser.end());
    } catch (err) {
      this.options.logger.warn(`recordings: cannot read ${rec.path}: ${(err as Error).message}`);
      return undefined;
    } finally {
      await fh.close();
    }
    if (!table || !table.first) return undefined;
    this.remember(rec.path, table, read);
    this.save(rec.path, table, read);
    return table;
  }
}
