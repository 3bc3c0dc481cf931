// Which files the limit commands delete: pure selection by count or total size, argument pairs and size parsing.
import path from 'node:path';
import { UsageError } from '../common/cli.js';
import { compareRecordingNames } from '../common/recording-name.js';

/**
 * A file modified less than this long before `now` (or in the future) may still be being
 * written, by pancake's recorder or postproc's converter, so it is never deleted.
 */
export const RECENT_MS = 60_000;

/** Exit code for bad arguments: nothing has been deleted anywhere when it is used. */
export const USAGE_EXIT = 2;

/** A regular file directly in a directory, as the limit commands see it. */
export interface FileEntry {
  path: string;
  size: number;
  mtimeMs: number;
}

/** What a limit command does with one directory's files; each list is newest first. */
export interface FilePlan {
  /** Within the limit. */
  keep: FileEntry[];
  /** Beyond the limit: deleted (or listed, with --dry-run). */
  remove: FileEntry[];
  /** Beyond the limit but modified within {@link RECENT_MS}: kept this time. */
  spared: FileEntry[];
}

/** True when a file modified at `mtimeMs` may still be being written at `now`. */
export function isRecent(mtimeMs: number, now: number): boolean {
  return mtimeMs > now - RECENT_MS;
}

/**
 * Newest first by modification time; ties by recording name, later recordings first, because
 * recording names are their start times and a tie is common when files were copied with
 * whole-second times. A restart's `x-2.h264` is later than `x.h264` (and `x-10` than `x-9`),
 * which plain name order gets wrong; other names fall back to name order.
 */
export function newestFirst<T extends { path: string; mtimeMs: number }>(files: readonly T[]): T[] {
  return [...files].sort(
    (a, b) => b.mtimeMs - a.mtimeMs || compareRecordingNames(path.basename(b.path), path.basename(a.path)) || (a.path < b.path ? 1 : a.path > b.path ? -1 : 0),
  );
}

/** Splits files beyond the limit into removed and spared (recent) ones. */
function split(sorted: FileEntry[], beyondFrom: number, now: number): FilePlan {
  const beyond = sorted.slice(beyondFrom);
  return {
    keep: sorted.slice(0, beyondFrom),
    remove: beyond.filter((f) => !isRecent(f.mtimeMs, now)),
    spared: beyond.filter((f) => isRecent(f.mtimeMs, now)),
  };
}

/** Keeps the newest `keepCount` files; older ones go unless they are recent. */
export function planByNumber(files: readonly FileEntry[], keepCount: number, now: number): FilePlan {
  return split(newestFirst(files), keepCount, now);
}

/**
 * Keeps the newest files while their running total stays within `maxBytes`. The first file that
 * would exceed it goes, and so does every older one, even a small one that would still fit: the
 * kept recordings stay one unbroken stretch of time, as in the original script. Recent files
 * count toward the total even when they are spared.
 */
export function planBySize(files: readonly FileEntry[], maxBytes: number, now: number): FilePlan {
  const sorted = newestFirst(files);
  let total = 0;
  let i = 0;
  for (; i < sorted.length; i++) {
    total += sorted[i]!.size;
    if (total > maxBytes) break;
  }
  return split(sorted, i, now);
}

/** A directory argument and its limit. */
export interface DirectoryLimit<T> {
  dir: string;
  limit: T;
}

/**
 * Reads `dirA limitA dirB limitB …`. Throws a UsageError (exit 2) for an odd count or a bad limit,
 * so a typo in the last pair stops the command before the first directory is touched.
 */
export function parsePairs<T>(args: readonly string[], parseLimit: (text: string, dir: string) => T): DirectoryLimit<T>[] {
  if (args.length === 0) throw new UsageError('expected pairs of directory and limit, got nothing', USAGE_EXIT);
  if (args.length % 2 !== 0) {
    throw new UsageError(
      `expected pairs of directory and limit, got ${args.length} arguments; the last, ${JSON.stringify(args[args.length - 1])}, has no limit`,
      USAGE_EXIT,
    );
  }
  const pairs: DirectoryLimit<T>[] = [];
  for (let i = 0; i < args.length; i += 2) pairs.push({ dir: args[i]!, limit: parseLimit(args[i + 1]!, args[i]!) });
  return pairs;
}

/** Parses a whole number ≥ 0 given as the limit for `dir`; `what` says what it counts ("files", "days"). */
export function parseCount(text: string, dir: string, what: string): number {
  const t = text.trim();
  if (/^-\d/.test(t)) throw new UsageError(`${dir}: the number of ${what} to keep must not be negative: ${text}`, USAGE_EXIT);
  if (!/^\+?\d+$/.test(t) || !Number.isSafeInteger(Number(t))) {
    throw new UsageError(`${dir}: the number of ${what} to keep is not a whole number: ${JSON.stringify(text)}`, USAGE_EXIT);
  }
  return Number(t);
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * Parses a size: whole bytes (`1200000`) or a number with a 1024-based suffix K, M, G or T
 * (`10K` = 10240, `500M`, `1.5G`; case-insensitive, an optional trailing `B` or `iB` is allowed).
 * 1024-based because `du -h`, `df -h` and `ls -h`, which an operator checks the result with, are.
 * Returns undefined when the text is not a size.
 */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) return undefined;
  const [, num, unit] = m as unknown as [string, string, string];
  const multiplier = UNITS[unit.toLowerCase()]!;
  // A fraction of a byte means nothing: "1.5" alone is refused, "1.5K" is 1536.
  if (multiplier === 1 && num.includes('.')) return undefined;
  const bytes = Math.floor(Number(num) * multiplier);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Parses the size limit given for `dir`, or throws a UsageError (exit 2) naming it. */
export function parseSizeLimit(text: string, dir: string): number {
  if (/^\s*-/.test(text)) throw new UsageError(`${dir}: the size limit must not be negative: ${text}`, USAGE_EXIT);
  const bytes = parseSize(text);
  if (bytes === undefined) {
    throw new UsageError(`${dir}: not a size: ${JSON.stringify(text)} (use bytes, or a number with K, M, G or T, e.g. 500M or 1.5G)`, USAGE_EXIT);
  }
  return bytes;
}

/** A byte count for people: 1024-based with one decimal, like `ls -h` ("1.5 GiB", "512 B"). */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let u = 0;
  while (value >= 1024 && u < units.length - 1) {
    value /= 1024;
    u++;
  }
  return u === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[u]}`;
}

/** Sums the sizes of `files`. */
export function totalSize(files: readonly FileEntry[]): number {
  return files.reduce((sum, f) => sum + f.size, 0);
}
