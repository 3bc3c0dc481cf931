// The API's times and ranges (pure): ISO 8601 with the local offset, local days across daylight-saving changes, Range headers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRange } from '../../../src/pancake/recordings/api.js';
import { foundFileFps } from '../../../src/pancake/recordings/library.js';
import { formatLocal, localDayOf, localDayRange, parseTime, utcOffset } from '../../../src/pancake/recordings/times.js';

describe('times in Europe/London', () => {
  const saved = process.env.TZ;
  beforeAll(() => {
    process.env.TZ = 'Europe/London';
  });
  afterAll(() => {
    process.env.TZ = saved;
  });

  it('writes local time with the offset of that moment (GMT in winter, BST in summer)', () => {
    expect(formatLocal(Date.UTC(2026, 11, 1, 18, 5, 10, 250))).toBe('2026-12-01T18:05:10.250+00:00');
    expect(formatLocal(Date.UTC(2026, 6, 1, 17, 5, 10, 250))).toBe('2026-07-01T18:05:10.250+01:00');
    expect(utcOffset(Date.UTC(2026, 6, 1))).toBe('+01:00');
  });

  it('makes the spring day 23 hours and the autumn day 25 hours long', () => {
    const spring = localDayRange(2026, 3, 29);
    expect((spring.to - spring.from) / 3_600_000).toBe(23);
    const autumn = localDayRange(2026, 10, 25);
    expect((autumn.to - autumn.from) / 3_600_000).toBe(25);
    expect(localDayOf(autumn.to - 1)).toBe('2026-10-25');
    expect(localDayOf(autumn.to)).toBe('2026-10-26');
  });

  it('reads ISO 8601 with Z, an offset, a "+" a query string made a space, or no offset (local time)', () => {
    const t = Date.UTC(2026, 6, 1, 17, 5, 10, 250);
    for (const text of ['2026-07-01T17:05:10.250Z', '2026-07-01T18:05:10.250+01:00', '2026-07-01T18:05:10.250 01:00', '2026-07-01T18:05:10.250+0100', '2026-07-01T18:05:10.250']) {
      expect([text, parseTime(text)]).toEqual([text, t]);
    }
    expect(parseTime('2026-07-01T18:05')).toBe(Date.UTC(2026, 6, 1, 17, 5));
    for (const bad of ['2026-07-01', '2026-02-30T10:00:00Z', '2026-07-01T24:00:00Z', '2026-07-01T18:60Z', 'now', '1719853510', '2026-07-01T18:05:10+1']) {
      expect([bad, parseTime(bad)]).toEqual([bad, undefined]);
    }
  });
});

describe('Range headers', () => {
  it('reads one byte range, a suffix, an open end; refuses what lies outside; ignores what it does not know', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=990-2000', 1000)).toEqual({ start: 990, end: 999 });
    expect(parseRange('bytes=10-', 1000)).toEqual({ start: 10, end: 999 });
    expect(parseRange('bytes=-100', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 });
    expect(parseRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=50-10', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 1000)).toBe('unsatisfiable');
    for (const ignored of [undefined, '', 'bytes=0-1,5-9', 'items=0-1', 'bytes=-']) expect(parseRange(ignored, 1000)).toBeUndefined();
  });
});

describe('a found file\'s frame rate', () => {
  it('is the whole rate its frames and times give within 2 %, else unknown', () => {
    expect(foundFileFps(18000, 0, 600_000)).toBe(30);
    expect(foundFileFps(288, 0, 24_300)).toBe(12);
    expect(foundFileFps(288, 0, 3_600_000)).toBeUndefined();
    expect(foundFileFps(1, 0, 1000)).toBeUndefined();
  });
});
