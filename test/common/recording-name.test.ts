// Recording names: a table of names that are and are not recordings, formatting in local time, ordering.
import { afterEach, describe, expect, it } from 'vitest';
import {
  compareRecordingNames,
  formatRecordingBase,
  isCalendarDate,
  parseRecordingName,
  recordingStartMs,
  withRestart,
  type RecordingName,
} from '../../src/common/recording-name.js';

const local = (y: number, mo: number, d: number, h: number, mi: number, s = 0, ms = 0): number => new Date(y, mo - 1, d, h, mi, s, ms).getTime();

describe('parseRecordingName', () => {
  it.each<[string, RecordingName]>([
    ['20200624-0900.h264', { kind: 'continuous', year: 2020, month: 6, day: 24, hour: 9, minute: 0, base: '20200624-0900', ext: '.h264' }],
    ['20200624-0900.mp4', { kind: 'continuous', year: 2020, month: 6, day: 24, hour: 9, minute: 0, base: '20200624-0900', ext: '.mp4' }],
    ['20200623-180511.mp4', { kind: 'detection', year: 2020, month: 6, day: 23, hour: 18, minute: 5, second: 11, base: '20200623-180511', ext: '.mp4' }],
    ['20200624-0900-2.mp4', { kind: 'continuous', year: 2020, month: 6, day: 24, hour: 9, minute: 0, restart: 2, base: '20200624-0900-2', ext: '.mp4' }],
    ['20200624-0900-10.h264', { kind: 'continuous', year: 2020, month: 6, day: 24, hour: 9, minute: 0, restart: 10, base: '20200624-0900-10', ext: '.h264' }],
    ['20200623-180511-3.h264', { kind: 'detection', year: 2020, month: 6, day: 23, hour: 18, minute: 5, second: 11, restart: 3, base: '20200623-180511-3', ext: '.h264' }],
    ['20240229-0000.MP4', { kind: 'continuous', year: 2024, month: 2, day: 29, hour: 0, minute: 0, base: '20240229-0000', ext: '.MP4' }],
    ['20000229-2359.mp4', { kind: 'continuous', year: 2000, month: 2, day: 29, hour: 23, minute: 59, base: '20000229-2359', ext: '.mp4' }],
    ['19991231-235959.mkv', { kind: 'detection', year: 1999, month: 12, day: 31, hour: 23, minute: 59, second: 59, base: '19991231-235959', ext: '.mkv' }],
    ['00960229-1200.mp4', { kind: 'continuous', year: 96, month: 2, day: 29, hour: 12, minute: 0, base: '00960229-1200', ext: '.mp4' }],
  ])('%s is a recording', (fileName, expected) => {
    expect(parseRecordingName(fileName)).toEqual(expected);
  });

  it.each([
    // not the shape
    ['clip.mp4', 'no date'],
    ['20200624-0900', 'no extension'],
    ['20200624-0900.', 'an empty extension'],
    ['20200624-09.mp4', 'a two-digit time'],
    ['20200624-09000.mp4', 'a five-digit time'],
    ['20200624-0900000.mp4', 'a seven-digit time'],
    ['2020062-0900.mp4', 'a seven-digit date'],
    ['20200624_0900.mp4', 'an underscore'],
    ['20200624-0900.mp4.part', 'two extensions'],
    ['.20200624-0900.mp4.part', 'a hidden temporary name'],
    ['../20200624-0900.mp4', 'a path'],
    ['cam/20200624-0900.mp4', 'a path'],
    ['20200624-0900.mp-4', 'a dash in the extension'],
    [' 20200624-0900.mp4', 'a leading space'],
    ['20200624-0900.mp4\n', 'a trailing newline'],
    // dates and times that do not exist
    ['20201324-0900.mp4', 'month 13'],
    ['20200024-0900.mp4', 'month 0'],
    ['20200600-0900.mp4', 'day 0'],
    ['20200230-0900.mp4', '30 February'],
    ['20230229-0900.mp4', '29 February of a common year'],
    ['19000229-0900.mp4', '29 February 1900'],
    ['20230231-0900.mp4', '31 February'],
    ['20200431-0900.mp4', '31 April'],
    ['00000101-0900.mp4', 'year 0'],
    ['20200624-2400.mp4', 'hour 24'],
    ['20200624-0960.mp4', 'minute 60'],
    ['20200624-090060.mp4', 'second 60'],
    // restart numbers that uniqueName never makes
    ['20200624-0900-1.mp4', 'restart 1'],
    ['20200624-0900-0.mp4', 'restart 0'],
    ['20200624-0900-02.mp4', 'a leading zero'],
    ['20200624-0900--2.mp4', 'a double dash'],
    ['20200624-0900-.mp4', 'an empty restart'],
    ['20200624-0900-2-2.mp4', 'two restarts'],
    ['20200624-0900-x.mp4', 'a letter'],
    ['20200624-0900-99999999999999999999.mp4', 'beyond a safe integer'],
  ])('%j is not a recording (%s)', (fileName) => {
    expect(parseRecordingName(fileName)).toBeUndefined();
  });
});

describe('formatRecordingBase', () => {
  it.each([
    ['continuous', local(2020, 6, 23, 17, 15, 59, 999), undefined, '20200623-1715'],
    ['detection', local(2020, 6, 23, 18, 5, 11, 500), undefined, '20200623-180511'],
    ['continuous', local(2020, 6, 23, 17, 15), 2, '20200623-1715-2'],
    ['detection', local(2021, 1, 2, 3, 4, 5), 12, '20210102-030405-12'],
    ['continuous', local(2020, 12, 31, 23, 59, 59), undefined, '20201231-2359'],
    ['continuous', local(2021, 1, 1, 0, 0), undefined, '20210101-0000'],
  ] as const)('%s at %d, restart %s → %s', (kind, wallMs, restart, base) => {
    expect(formatRecordingBase(kind, wallMs, restart)).toBe(base);
  });

  it.each([
    ['continuous', local(2020, 6, 24, 9, 0, 30)],
    ['detection', local(2020, 6, 24, 9, 0, 30)],
    ['detection', local(2024, 2, 29, 23, 59, 59)],
  ] as const)('a %s name parses back to its kind and the start of its minute or second', (kind, wallMs) => {
    for (const restart of [undefined, 2, 7]) {
      const parsed = parseRecordingName(`${formatRecordingBase(kind, wallMs, restart)}.h264`);
      expect(parsed?.kind).toBe(kind);
      expect(parsed?.restart).toBe(restart);
      expect(recordingStartMs(parsed!)).toBe(kind === 'continuous' ? wallMs - 30_000 : wallMs);
    }
  });

  it.each([1, 0, -2, 2.5, NaN])('refuses restart number %d', (n) => {
    expect(() => formatRecordingBase('continuous', local(2020, 6, 24, 9, 0), n)).toThrow(RangeError);
    expect(() => withRestart('20200624-0900', n)).toThrow(/restart number must be a whole number ≥ 2/);
  });

  it.each([NaN, Infinity, 8.64e15])('refuses time %d, whose name would not parse back', (wallMs) => {
    expect(() => formatRecordingBase('detection', wallMs)).toThrow(RangeError);
  });
});

describe('recordingStartMs', () => {
  it.each([
    ['20200624-0900.mp4', local(2020, 6, 24, 9, 0)],
    ['20200624-0900-3.mp4', local(2020, 6, 24, 9, 0)],
    ['20200623-180511.h264', local(2020, 6, 23, 18, 5, 11)],
    ['19991231-235959.h264', local(1999, 12, 31, 23, 59, 59)],
  ])('%s starts at %d local time', (fileName, ms) => {
    expect(recordingStartMs(parseRecordingName(fileName)!)).toBe(ms);
  });

  it('reads a two-digit year as that year, not 19xx', () => {
    expect(new Date(recordingStartMs(parseRecordingName('00960229-1200.mp4')!)).getFullYear()).toBe(96);
  });
});

describe('around a daylight-saving change (Europe/Berlin)', () => {
  const savedTz = process.env.TZ;
  afterEach(() => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  });

  it.each([
    // 31 March 2024: 02:00 CET jumps to 03:00 CEST; 27 October 2024: 03:00 CEST falls back to 02:00 CET.
    [Date.UTC(2024, 2, 31, 0, 59, 59), '20240331-015959'],
    [Date.UTC(2024, 2, 31, 1, 0, 0), '20240331-030000'],
    [Date.UTC(2024, 9, 27, 0, 30, 0), '20241027-023000'],
    [Date.UTC(2024, 9, 27, 1, 30, 0), '20241027-023000'], // the repeated hour gives the same name
  ])('the instant %d is named %s in local time', (wallMs, base) => {
    process.env.TZ = 'Europe/Berlin';
    expect(formatRecordingBase('detection', wallMs)).toBe(base);
  });

  it.each([
    ['20240331-015959.mp4', Date.UTC(2024, 2, 31, 0, 59, 59)],
    ['20240331-030000.mp4', Date.UTC(2024, 2, 31, 1, 0, 0)],
    ['20240331-0230.mp4', Date.UTC(2024, 2, 31, 1, 30)], // skipped: read as where the skip lands, 03:30 CEST
    ['20241027-0230.mp4', Date.UTC(2024, 9, 27, 0, 30)], // repeated: the earlier, 02:30 CEST
  ])('%s starts at %d', (fileName, ms) => {
    process.env.TZ = 'Europe/Berlin';
    expect(recordingStartMs(parseRecordingName(fileName)!)).toBe(ms);
  });
});

describe('isCalendarDate', () => {
  it.each([
    [2024, 2, 29, true], [2023, 2, 29, false], [1900, 2, 29, false], [2000, 2, 29, true], [96, 2, 29, true], [99, 2, 29, false],
    [2024, 4, 30, true], [2024, 4, 31, false], [2024, 12, 31, true], [2024, 1, 0, false], [2024, 0, 1, false], [2024, 13, 1, false],
    [0, 1, 1, false], [9999, 12, 31, true], [10000, 1, 1, false], [2024, 1, 1.5, false],
  ])('%d-%d-%d: %s', (y, m, d, ok) => expect(isCalendarDate(y, m, d)).toBe(ok));
});

describe('compareRecordingNames', () => {
  it('orders by start, then restart number, unlike a plain string sort', () => {
    const names = [
      '20200624-0900-10.h264', '20200624-0900-2.h264', '20200624-0901.h264', '20200624-0900.h264',
      '20200624-090030.h264', '20200624-0900-9.h264', '20200623-235959-2.h264', '20200624-090000.h264',
    ];
    expect([...names].sort(compareRecordingNames)).toEqual([
      '20200623-235959-2.h264',
      // The same start (09:00:00) and no restart: by name, continuous first.
      '20200624-0900.h264', '20200624-090000.h264',
      '20200624-0900-2.h264', '20200624-0900-9.h264', '20200624-0900-10.h264',
      '20200624-090030.h264', '20200624-0901.h264',
    ]);
    // A plain sort, for contrast: the restarts land before the first recording of the minute.
    expect([...names].sort()[0]).toBe('20200623-235959-2.h264');
    expect([...names].sort().indexOf('20200624-0900-2.h264')).toBeLessThan([...names].sort().indexOf('20200624-0900.h264'));
  });

  it('is a total order that places other names by their text', () => {
    const names = ['notes.txt', '20200624-0900-2.mp4', 'a', '20200624-0900.mp4', 'zz', '20200624-0900.h264'];
    const sorted = [...names].sort(compareRecordingNames);
    expect(sorted).toEqual(['20200624-0900.h264', '20200624-0900.mp4', '20200624-0900-2.mp4', 'a', 'notes.txt', 'zz']);
    for (const a of names) for (const b of names) expect(Math.sign(compareRecordingNames(a, b)) + Math.sign(compareRecordingNames(b, a))).toBe(0);
    expect(compareRecordingNames('20200624-0900.mp4', '20200624-0900.mp4')).toBe(0);
  });
});
