// Which day folders of a YYYY/MM/DD backup tree pancake-limit-days deletes: pure name matching and selection.
import { isCalendarDate } from '../common/recording-name.js';
import { isRecent } from './retention.js';

/** A real (not symlinked) folder `root/YYYY/MM/DD` whose name is a valid date. */
export interface DayFolder {
  path: string;
  /** `YYYY-MM-DD`, which sorts like the date. */
  date: string;
  /** The newest modification time of the folder or anything in it (newest upload). */
  newestMtimeMs: number;
}

/** A real folder `root/YYYY/MM` with a valid month number. */
export interface MonthFolder {
  path: string;
  days: DayFolder[];
  /** Entries that are not day folders (files, symlinks, `32`, `1`): they keep the month. */
  otherEntries: number;
}

/** A real folder `root/YYYY`. */
export interface YearFolder {
  path: string;
  months: MonthFolder[];
  /** Entries that are not month folders: they keep the year. */
  otherEntries: number;
}

/** What pancake-limit-days does with one tree. */
export interface DayPlan {
  /** The newest days, newest first. */
  keep: DayFolder[];
  /** Older days, newest first. */
  remove: DayFolder[];
  /** Older days with something modified within the last minute (an upload in progress): kept this time. */
  spared: DayFolder[];
  /** Month folders that removing `remove` leaves empty. */
  removeMonths: string[];
  /** Year folders that removing those months leaves empty. */
  removeYears: string[];
}

/** A four-digit year folder name (0001–9999). */
export function isYearName(name: string): boolean {
  return /^\d{4}$/.test(name) && name !== '0000';
}

/** A two-digit month folder name, 01–12 (postproc writes them zero-padded). */
export function isMonthName(name: string): boolean {
  return /^\d{2}$/.test(name) && Number(name) >= 1 && Number(name) <= 12;
}

/** A two-digit day folder name that exists in that month: 29 only in leap Februaries, never 31 in April. */
export function isDayName(year: string, month: string, name: string): boolean {
  // The same calendar check as recording names, so every day postproc uploads into is one this sees.
  return /^\d{2}$/.test(name) && isCalendarDate(Number(year), Number(month), Number(name));
}

/**
 * Keeps the newest `keepDays` day folders across the whole tree; older ones go unless something in
 * them changed within the last minute. A month (then a year) folder goes only when this run empties
 * it: an empty month that was already there may have just been made by an uploader about to create
 * its day folder, and anything that is not a day folder keeps its month and year.
 */
export function planDays(years: readonly YearFolder[], keepDays: number, now: number): DayPlan {
  const all = years.flatMap((y) => y.months.flatMap((m) => m.days));
  all.sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0));
  const keep = all.slice(0, keepDays);
  const older = all.slice(keepDays);
  const remove = older.filter((d) => !isRecent(d.newestMtimeMs, now));
  const spared = older.filter((d) => isRecent(d.newestMtimeMs, now));

  const removed = new Set(remove.map((d) => d.path));
  const removeMonths: string[] = [];
  const removeYears: string[] = [];
  for (const year of years) {
    let monthsLeft = year.months.length;
    for (const month of year.months) {
      const emptied = month.days.length > 0 && month.otherEntries === 0 && month.days.every((d) => removed.has(d.path));
      if (emptied) {
        removeMonths.push(month.path);
        monthsLeft--;
      }
    }
    const anyMonthRemoved = monthsLeft < year.months.length;
    if (anyMonthRemoved && monthsLeft === 0 && year.otherEntries === 0) removeYears.push(year.path);
  }
  return { keep, remove, spared, removeMonths, removeYears };
}
