// The file-system side of the limit commands: list what a directory holds without following symlinks, then delete a plan.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../common/cli.js';
import { isDayName, isMonthName, isYearName, type DayFolder, type DayPlan, type MonthFolder, type YearFolder } from './day-retention.js';
import { formatSize, isRecent, totalSize, USAGE_EXIT, type FileEntry, type FilePlan } from './retention.js';

/** Where a command's lines go: `out` for what it did, `err` for what it could not do. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

/** Options shared by every deletion. */
export interface RemoveOptions {
  dryRun: boolean;
  /** Wall-clock ms, for the "modified within the last minute" check made again just before deleting. */
  now: number;
  output: Output;
}

/** What happened to one directory. */
export interface RemoveResult {
  /** Entries that could not be deleted (permission, I/O error); each was reported on `err`. */
  failures: number;
}

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

/**
 * Checks that `dir` is an existing directory (a symlink to one is fine: the argument is the
 * operator's choice) or throws a UsageError, exit 2, naming it.
 */
export function checkDirectory(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    if (code(err) === 'ENOENT') throw new UsageError(`no such directory: ${dir}`, USAGE_EXIT);
    throw new UsageError(`cannot use directory ${dir}: ${code(err)}`, USAGE_EXIT);
  }
  if (!st.isDirectory()) throw new UsageError(`not a directory: ${dir}`, USAGE_EXIT);
}

/** Reads a directory's names, turning a failure into a UsageError (exit 2) so nothing is deleted anywhere. */
function readNames(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (err) {
    throw new UsageError(`cannot read directory ${dir}: ${code(err)}`, USAGE_EXIT);
  }
}

/** lstat that answers undefined for an entry that vanished meanwhile. */
function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** lstat while planning: a failure (a directory readable but not searchable) stops everything with exit 2. */
function lstatForPlan(p: string): fs.Stats | undefined {
  try {
    return lstatOrUndefined(p);
  } catch (err) {
    throw new UsageError(`cannot look at ${p}: ${code(err)}`, USAGE_EXIT);
  }
}

/**
 * The regular files directly in `dir`, by lstat: subdirectories, symlinks (even to files), sockets
 * and the like are neither counted nor deleted. Names starting with a dot are skipped too, as the
 * original's glob did: they are hidden state (queues, partial uploads), not recordings.
 */
export function listRegularFiles(dir: string): FileEntry[] {
  const files: FileEntry[] = [];
  for (const name of readNames(dir)) {
    if (name.startsWith('.')) continue;
    const p = path.join(dir, name);
    const st = lstatForPlan(p);
    if (st?.isFile()) files.push({ path: p, size: st.size, mtimeMs: st.mtimeMs });
  }
  return files;
}

/**
 * Deletes `plan.remove` (or lists it, with dryRun), then prints a summary line for `dir`.
 * Each file is looked at again just before it goes: one that became a symlink or was written to
 * since the listing is kept.
 */
export function removeFiles(dir: string, plan: FilePlan, { dryRun, now, output }: RemoveOptions): RemoveResult {
  const kept = [...plan.keep];
  const removed: FileEntry[] = [];
  let failures = 0;
  const spare = (f: FileEntry): void => {
    kept.push(f);
    output.out(`kept ${f.path}: modified within the last minute`);
  };
  for (const f of plan.spared) spare(f);
  for (const f of plan.remove) {
    let st: fs.Stats | undefined;
    try {
      st = lstatOrUndefined(f.path);
    } catch (err) {
      output.err(`cannot look at ${f.path}: ${code(err)}`);
      failures++;
      continue;
    }
    if (!st) continue; // someone else removed it
    if (!st.isFile()) continue; // replaced by a symlink or a folder: not ours to delete
    if (isRecent(st.mtimeMs, now)) {
      spare({ ...f, mtimeMs: st.mtimeMs, size: st.size });
      continue;
    }
    if (dryRun) {
      output.out(`would remove ${f.path} (${formatSize(st.size)})`);
      removed.push(f);
      continue;
    }
    try {
      fs.unlinkSync(f.path);
      output.out(`removed ${f.path} (${formatSize(st.size)})`);
      removed.push({ ...f, size: st.size });
    } catch (err) {
      if (code(err) === 'ENOENT') continue;
      output.err(`cannot remove ${f.path}: ${code(err)}`);
      kept.push(f);
      failures++;
    }
  }
  const verb = dryRun ? 'would remove' : 'removed';
  const remain = dryRun ? 'would remain (dry run: nothing deleted)' : 'remain';
  output.out(
    `${dir}: ${verb} ${count(removed.length, 'file')} (${formatSize(totalSize(removed))}); ` +
      `${count(kept.length, 'file')} (${formatSize(totalSize(kept))}) ${remain}`,
  );
  return { failures };
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** The newest modification time of `p` or anything below it, by lstat: symlinks are not followed. */
export function newestMtime(p: string): number {
  const st = fs.lstatSync(p);
  let newest = st.mtimeMs;
  if (st.isDirectory()) {
    for (const name of fs.readdirSync(p)) {
      try {
        newest = Math.max(newest, newestMtime(path.join(p, name)));
      } catch (err) {
        if (code(err) !== 'ENOENT') throw err;
      }
    }
  }
  return newest;
}

/** Real directories among `dir`'s entries whose names pass `accept`, and how many entries did not. */
function realFolders(dir: string, accept: (name: string) => boolean): { folders: string[]; others: number } {
  const folders: string[] = [];
  let others = 0;
  for (const name of readNames(dir)) {
    const st = lstatForPlan(path.join(dir, name));
    if (!st) continue;
    if (st.isDirectory() && accept(name)) folders.push(name);
    else others++;
  }
  return { folders, others };
}

/**
 * The `YYYY/MM/DD` tree under `root`: only real folders with valid names are part of it, so a
 * symlink named `2020`, a folder `2020/13` or a file `2020/01/notes.txt` is never selected, and it
 * keeps its month and year from being removed.
 */
export function scanDayTree(root: string): YearFolder[] {
  const years: YearFolder[] = [];
  for (const y of realFolders(root, isYearName).folders) {
    const yearPath = path.join(root, y);
    const monthNames = realFolders(yearPath, isMonthName);
    const months: MonthFolder[] = [];
    for (const m of monthNames.folders) {
      const monthPath = path.join(yearPath, m);
      const dayNames = realFolders(monthPath, (d) => isDayName(y, m, d));
      const days: DayFolder[] = dayNames.folders.map((d) => {
        const dayPath = path.join(monthPath, d);
        let newestMtimeMs: number;
        try {
          newestMtimeMs = newestMtime(dayPath);
        } catch (err) {
          throw new UsageError(`cannot read directory ${dayPath}: ${code(err)}`, USAGE_EXIT);
        }
        return { path: dayPath, date: `${y}-${m}-${d}`, newestMtimeMs };
      });
      months.push({ path: monthPath, days, otherEntries: dayNames.others });
    }
    years.push({ path: yearPath, months, otherEntries: monthNames.others });
  }
  return years;
}

/**
 * Deletes a day plan (or lists it, with dryRun): old day folders with everything in them, then the
 * month and year folders this leaves empty, then prints a summary line for `root`.
 */
export function removeDays(root: string, plan: DayPlan, { dryRun, now, output }: RemoveOptions): RemoveResult {
  let failures = 0;
  let keptDays = plan.keep.length;
  const removed = { days: 0, months: 0, years: 0 };
  // Folders of the plan that turned out to stay (spared on a second look, or failed): their month
  // and year are not emptied. A real run would find that out from rmdir, a dry run could not.
  const stayed: string[] = [];
  const spare = (d: DayFolder): void => {
    keptDays++;
    stayed.push(d.path);
    output.out(`kept ${d.path}${path.sep}: modified within the last minute`);
  };
  for (const d of plan.spared) spare(d);
  for (const d of plan.remove) {
    try {
      const st = lstatOrUndefined(d.path);
      if (!st?.isDirectory()) continue; // gone, or replaced by a symlink
      if (isRecent(newestMtime(d.path), now)) {
        spare(d);
        continue;
      }
      if (!dryRun) fs.rmSync(d.path, { recursive: true }); // removes symlinks inside, never what they point to
      output.out(`${dryRun ? 'would remove' : 'removed'} ${d.path}${path.sep}`);
      removed.days++;
    } catch (err) {
      output.err(`cannot remove ${d.path}${path.sep}: ${code(err)}`);
      keptDays++;
      stayed.push(d.path);
      failures++;
    }
  }
  const removeEmpty = (folder: string, kind: 'months' | 'years'): void => {
    if (stayed.some((p) => p.startsWith(folder + path.sep))) {
      stayed.push(folder);
      return;
    }
    try {
      if (!dryRun) fs.rmdirSync(folder);
      output.out(`${dryRun ? 'would remove' : 'removed'} ${folder}${path.sep} (emptied)`);
      removed[kind]++;
    } catch (err) {
      // Not empty after all: a day failed to go, was spared, or an upload just added one. Not an error.
      stayed.push(folder);
      if (code(err) === 'ENOTEMPTY' || code(err) === 'EEXIST' || code(err) === 'ENOENT') return;
      output.err(`cannot remove ${folder}${path.sep}: ${code(err)}`);
      failures++;
    }
  };
  for (const m of plan.removeMonths) removeEmpty(m, 'months');
  for (const y of plan.removeYears) removeEmpty(y, 'years');
  const verb = dryRun ? 'would remove' : 'removed';
  const remain = dryRun ? 'would remain (dry run: nothing deleted)' : 'remain';
  output.out(
    `${root}: ${verb} ${count(removed.days, 'day folder')}, ${count(removed.months, 'month folder')}, ` +
      `${count(removed.years, 'year folder')}; ${count(keptDays, 'day folder')} ${remain}`,
  );
  return { failures };
}
