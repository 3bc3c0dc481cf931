// Recording file names (YYYYMMDD-hhmm[ss][-N].ext, local time of the first frame): formatting, parsing, ordering (pure).

/** `continuous`: `YYYYMMDD-hhmm`, one file per segment; `detection`: `YYYYMMDD-hhmmss`, one clip per detection. */
export type RecordingKind = 'continuous' | 'detection';

/** What a recording's file name says about it. Months and days count from 1, as written in the name. */
export interface RecordingName {
  kind: RecordingKind;
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** Only in a detection name. */
  second?: number;
  /** N of a `-N` suffix (2, 3, …): the file was started when the plain name was taken. */
  restart?: number;
  /** The name without its extension, restart suffix included: `20200624-0900-2`. */
  base: string;
  /** The extension with its dot: `.h264`, `.mp4`. */
  ext: string;
}

/** The smallest restart number: the first recording of a minute has none, the next is `-2`. */
export const FIRST_RESTART = 2;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * Whether year-month-day exists in the (proleptic Gregorian) calendar: 29 February only in leap
 * years, never 31 April. Years 1–9999, the ones a four-digit name can hold (0000 is refused).
 */
export function isCalendarDate(year: number, month: number, day: number): boolean {
  if (![year, month, day].every(Number.isInteger) || year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return false;
  // Day 0 of the next month (month indexes are 0-based) is the last day of this one, leap years
  // included; setUTCFullYear, unlike Date.UTC, does not read year 0099 as 1999.
  const last = new Date(0);
  last.setUTCFullYear(year, month, 0);
  return day <= last.getUTCDate();
}

/** Throws a RangeError unless `n` is a restart number: a whole number ≥ 2. */
function checkRestart(n: number): void {
  if (!Number.isSafeInteger(n) || n < FIRST_RESTART) throw new RangeError(`restart number must be a whole number ≥ ${FIRST_RESTART}, got ${n}`);
}

/** `base-N`: the name of the N-th recording that would have been called `base` (N ≥ 2, else RangeError). */
export function withRestart(base: string, n: number): string {
  checkRestart(n);
  return `${base}-${n}`;
}

/**
 * The base name (no extension) of a recording whose first frame is at `wallMs`, in the local time
 * zone as the original named them: `YYYYMMDD-hhmm` (continuous) or `YYYYMMDD-hhmmss` (detection),
 * then `-N` when `restart` is given. Throws a RangeError for a time outside years 1–9999 (whose
 * name would not parse back) or a restart number below 2.
 */
export function formatRecordingBase(kind: RecordingKind, wallMs: number, restart?: number): string {
  const d = new Date(wallMs);
  const year = d.getFullYear();
  if (!Number.isFinite(wallMs) || year < 1 || year > 9999) throw new RangeError(`no recording name for time ${wallMs}: outside years 1–9999`);
  let base = `${pad(year, 4)}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}`;
  if (kind === 'detection') base += pad(d.getSeconds());
  return restart === undefined ? base : withRestart(base, restart);
}

// Date, time (4 digits continuous, 6 detection), an optional -N without leading zero, one extension.
const NAME = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})?(?:-([1-9]\d*))?(\.[A-Za-z0-9]+)$/;

/**
 * Reads a recording's file name (a base name, not a path): `20200624-0900.h264`,
 * `20200623-180511.mp4`, `20200624-0900-2.mp4` … with any one extension of letters and digits.
 * Returns undefined for anything else: a date or time that does not exist (20230229, hour 24,
 * minute or second 60), a restart number that is not 2, 3, … (`-1`, `-0`, `-02`), a path, a
 * hidden or temporary name (`.x.mp4.part`), two extensions, or no extension at all. A bare
 * `20200624-0900` is refused because every recording is a file with a type, and a name without
 * one is more likely a folder or a stripped name; check a base as `${base}.h264`.
 */
export function parseRecordingName(fileName: string): RecordingName | undefined {
  const m = NAME.exec(fileName);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, n, ext] = m as unknown as [string, string, string, string, string, string, string | undefined, string | undefined, string];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? undefined : Number(s);
  const restart = n === undefined ? undefined : Number(n);
  if (!isCalendarDate(year, month, day) || hour > 23 || minute > 59 || (second !== undefined && second > 59)) return undefined;
  if (restart !== undefined && (!Number.isSafeInteger(restart) || restart < FIRST_RESTART)) return undefined;
  const name: RecordingName = { kind: second === undefined ? 'continuous' : 'detection', year, month, day, hour, minute, base: fileName.slice(0, -ext.length), ext };
  if (second !== undefined) name.second = second;
  if (restart !== undefined) name.restart = restart;
  return name;
}

/**
 * The local-time instant a name stands for, in wall-clock ms (the start of the minute or second
 * the first frame fell in). A time the clock skipped (spring forward) is read as the one the
 * skip lands on; a time it repeated (fall back) as the earlier of the two, as `Date` does.
 */
export function recordingStartMs(name: Pick<RecordingName, 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second'>): number {
  const d = new Date(2000, 0, 1);
  // setFullYear, unlike the Date constructor, does not read year 0099 as 1999.
  d.setFullYear(name.year, name.month - 1, name.day);
  d.setHours(name.hour, name.minute, name.second ?? 0, 0);
  return d.getTime();
}

/** A string that sorts like the recording's start, then its restart number; undefined for other names. */
function sortKey(fileName: string): string | undefined {
  const r = parseRecordingName(fileName);
  if (!r) return undefined;
  // Fixed widths make string order the order of the numbers; 16 digits hold any safe integer.
  return `${pad(r.year, 4)}${pad(r.month)}${pad(r.day)}-${pad(r.hour)}${pad(r.minute)}${pad(r.second ?? 0)}-${pad(r.restart ?? 1, 16)}`;
}

/**
 * Orders file names (base names) from earliest to latest recording: by the start the name
 * says, then by restart number (`x.h264` before `x-2.h264` before `x-10.h264`), then by name
 * (a continuous `…-0900` before a detection `…-090000`). A name that is not a recording's is
 * placed by its own text, as a plain string sort would, so the order is total. For `sort`.
 */
export function compareRecordingNames(a: string, b: string): number {
  const ka = sortKey(a) ?? a;
  const kb = sortKey(b) ?? b;
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
