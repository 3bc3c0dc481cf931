// Table tests of the pure selection behind pancake-limit-files-by-number and -by-size, and of their argument parsing.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/common/cli.js';
import {
  formatSize, parseCount, parsePairs, parseSize, parseSizeLimit, planByNumber, planBySize, RECENT_MS, type FileEntry,
} from '../../src/util/retention.js';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);
const HOUR = 3600_000;

/** Files named by age in hours: f(3) is three hours old. */
function f(hoursOld: number, size = 100, name = `h${hoursOld}`): FileEntry {
  return { path: name, size, mtimeMs: NOW - hoursOld * HOUR };
}
const names = (files: FileEntry[]): string[] => files.map((x) => x.path);

describe('planByNumber', () => {
  it.each([
    { keep: 2, files: [f(3), f(1), f(2), f(4)], kept: ['h1', 'h2'], removed: ['h3', 'h4'] },
    { keep: 0, files: [f(1), f(2)], kept: [], removed: ['h1', 'h2'] },
    { keep: 5, files: [f(1), f(2)], kept: ['h1', 'h2'], removed: [] },
    { keep: 1, files: [], kept: [], removed: [] },
  ])('keeps the newest $keep of $files.length', ({ keep, files, kept, removed }) => {
    const plan = planByNumber(files, keep, NOW);
    expect(names(plan.keep)).toEqual(kept);
    expect(names(plan.remove)).toEqual(removed);
    expect(plan.spared).toEqual([]);
  });

  it('breaks modification-time ties by name, later names (later recordings) kept', () => {
    const t = NOW - 5 * HOUR;
    const files = ['20240101-0000.h264', '20240101-0030.h264', '20240101-0015.h264'].map((path) => ({ path, size: 1, mtimeMs: t }));
    expect(names(planByNumber(files, 1, NOW).keep)).toEqual(['20240101-0030.h264']);
  });

  it.each([
    // Restarts within a minute: -2 is later than the plain name, -10 later than -9 (a string sort says otherwise).
    { files: ['h264/20240101-0000.h264', 'h264/20240101-0000-2.h264'], newest: ['h264/20240101-0000-2.h264', 'h264/20240101-0000.h264'] },
    { files: ['20240101-0000-9.h264', '20240101-0000-10.h264', '20240101-0000-2.h264'], newest: ['20240101-0000-10.h264', '20240101-0000-9.h264', '20240101-0000-2.h264'] },
    // A detection clip's seconds place it within its minute; restarts of the same second follow it.
    { files: ['20240101-0000-2.mp4', '20240101-000030.mp4', '20240101-0001.mp4'], newest: ['20240101-0001.mp4', '20240101-000030.mp4', '20240101-0000-2.mp4'] },
    { files: ['20240101-000030-2.mp4', '20240101-000030.mp4', '20231231-2359-3.mp4'], newest: ['20240101-000030-2.mp4', '20240101-000030.mp4', '20231231-2359-3.mp4'] },
    // Names that are not recordings still tie by name.
    { files: ['b.txt', 'c.txt', 'a.txt'], newest: ['c.txt', 'b.txt', 'a.txt'] },
  ])('ties between $files keep the later recordings first', ({ files, newest }) => {
    const t = NOW - 5 * HOUR;
    const entries = files.map((path) => ({ path, size: 1, mtimeMs: t }));
    expect(names(planByNumber(entries, files.length, NOW).keep)).toEqual(newest);
    expect(names(planByNumber(entries, 1, NOW).keep)).toEqual([newest[0]]);
  });

  it('orders by modification time before any name', () => {
    const files = [{ path: '20240101-0000-2.h264', size: 1, mtimeMs: NOW - 2 * HOUR }, { path: '20240101-0000.h264', size: 1, mtimeMs: NOW - HOUR }];
    expect(names(planByNumber(files, 1, NOW).keep)).toEqual(['20240101-0000.h264']);
  });

  it('never removes a file modified within the last minute, and counts it toward N', () => {
    const writing = { path: 'writing', size: 1, mtimeMs: NOW - 5_000 };
    const plan = planByNumber([writing, f(1), f(2)], 0, NOW);
    expect(names(plan.spared)).toEqual(['writing']);
    expect(names(plan.remove)).toEqual(['h1', 'h2']);
    // With N = 1 the file being written is the one kept: the older ones go.
    const plan1 = planByNumber([writing, f(1), f(2)], 1, NOW);
    expect(names(plan1.keep)).toEqual(['writing']);
    expect(names(plan1.remove)).toEqual(['h1', 'h2']);
  });

  it.each([
    { age: RECENT_MS - 1, spared: true },
    { age: RECENT_MS, spared: false },
    { age: -HOUR, spared: true }, // a future time (clock set back): treated as being written
  ])('a file $age ms old is spared: $spared', ({ age, spared }) => {
    const plan = planByNumber([{ path: 'x', size: 1, mtimeMs: NOW - age }], 0, NOW);
    expect(plan.spared.length === 1).toBe(spared);
    expect(plan.remove.length === 1).toBe(!spared);
  });
});

describe('planBySize', () => {
  it.each([
    { max: 300, files: [f(1), f(2), f(3), f(4)], kept: ['h1', 'h2', 'h3'], removed: ['h4'] },
    { max: 299, files: [f(1), f(2), f(3), f(4)], kept: ['h1', 'h2'], removed: ['h3', 'h4'] },
    { max: 0, files: [f(1), f(2)], kept: [], removed: ['h1', 'h2'] },
    { max: 1000, files: [f(1), f(2)], kept: ['h1', 'h2'], removed: [] },
    // The newest file alone is over the limit: it goes too, as in the original.
    { max: 50, files: [f(1), f(2, 10)], kept: [], removed: ['h1', 'h2'] },
    // Once over, every older file goes even if it would fit: no gaps in the kept stretch.
    { max: 250, files: [f(1), f(2), f(3, 200), f(4, 1)], kept: ['h1', 'h2'], removed: ['h3', 'h4'] },
  ])('keeps newest files within $max bytes', ({ max, files, kept, removed }) => {
    const plan = planBySize(files, max, NOW);
    expect(names(plan.keep)).toEqual(kept);
    expect(names(plan.remove)).toEqual(removed);
  });

  it('counts a file being written toward the total, and spares it even beyond the limit', () => {
    const writing = { path: 'writing', size: 500, mtimeMs: NOW - 1_000 };
    const plan = planBySize([writing, f(1), f(2)], 300, NOW);
    expect(names(plan.keep)).toEqual([]);
    expect(names(plan.spared)).toEqual(['writing']);
    expect(names(plan.remove)).toEqual(['h1', 'h2']);
    const plan2 = planBySize([{ ...writing, size: 150 }, f(1), f(2)], 300, NOW);
    expect(names(plan2.keep)).toEqual(['writing', 'h1']);
    expect(names(plan2.remove)).toEqual(['h2']);
  });
});

describe('parseSize', () => {
  it.each([
    ['1200000', 1200000], ['0', 0], ['10K', 10240], ['10k', 10240], ['500M', 500 * 1024 ** 2], ['1.5G', 1.5 * 1024 ** 3],
    ['2T', 2 * 1024 ** 4], ['1.5K', 1536], ['500MB', 500 * 1024 ** 2], ['500MiB', 500 * 1024 ** 2], [' 7 ', 7], ['1.0001K', 1024],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'M', '1.5', '-1', '10X', '1e6', '0x10', '1,5G', '5 M B', '1..5G', '99999999999999999999'])('%j is not a size', (text) => {
    expect(parseSize(text)).toBeUndefined();
  });

  it.each([
    ['-5M', 'h264: the size limit must not be negative: -5M'],
    ['lots', 'h264: not a size: "lots" (use bytes, or a number with K, M, G or T, e.g. 500M or 1.5G)'],
  ])('parseSizeLimit(%j) throws exit 2: %s', (text, message) => {
    expect(() => parseSizeLimit(text, 'h264')).toThrow(expect.objectContaining({ message, exitCode: 2 }));
  });
});

describe('parseCount and parsePairs', () => {
  it.each([['8', 8], ['0', 0], ['+3', 3], [' 12 ', 12]])('count %j is %d', (text, n) => {
    expect(parseCount(text, 'h264', 'files')).toBe(n);
  });

  it.each([
    ['-3', 'h264: the number of files to keep must not be negative: -3'],
    ['eight', 'h264: the number of files to keep is not a whole number: "eight"'],
    ['2.5', 'h264: the number of files to keep is not a whole number: "2.5"'],
    ['', 'h264: the number of files to keep is not a whole number: ""'],
    ['1e3', 'h264: the number of files to keep is not a whole number: "1e3"'],
  ])('count %j throws exit 2: %s', (text, message) => {
    expect(() => parseCount(text, 'h264', 'files')).toThrow(expect.objectContaining({ message, exitCode: 2 }));
  });

  it('reads pairs in order', () => {
    expect(parsePairs(['a', '1', 'b', '2'], (t) => Number(t))).toEqual([{ dir: 'a', limit: 1 }, { dir: 'b', limit: 2 }]);
  });

  it.each([
    [['a', '1', 'b'], 'expected pairs of directory and limit, got 3 arguments; the last, "b", has no limit'],
    [[], 'expected pairs of directory and limit, got nothing'],
  ])('%j throws exit 2', (args, message) => {
    expect(() => parsePairs(args, Number)).toThrow(expect.objectContaining({ message, exitCode: 2 }));
  });

  it('checks the last pair before returning any', () => {
    const seen: string[] = [];
    expect(() => parsePairs(['a', '1', 'b', 'x'], (t, dir) => {
      seen.push(dir);
      return parseCount(t, dir, 'files');
    })).toThrow(UsageError);
    expect(seen).toEqual(['a', 'b']);
  });
});

describe('formatSize', () => {
  it.each([[0, '0 B'], [1023, '1023 B'], [1024, '1.0 KiB'], [1536, '1.5 KiB'], [5 * 1024 ** 3, '5.0 GiB']])('%d is %s', (n, s) => {
    expect(formatSize(n)).toBe(s);
  });
});
