// File names and segment marks follow local wall-clock time.
import { describe, expect, it } from 'vitest';
import { parseRecordingName } from '../../../src/common/recording-name.js';
import { continuousBaseName, detectionBaseName, nextSegmentMark, uniqueName } from '../../../src/pancake/record/naming.js';

const local = (y: number, mo: number, d: number, h: number, mi: number, s = 0, ms = 0): number => new Date(y, mo - 1, d, h, mi, s, ms).getTime();

describe('names', () => {
  it('follow the original: YYYYMMDD-hhmm and YYYYMMDD-hhmmss', () => {
    expect(continuousBaseName(local(2020, 6, 23, 17, 15, 59))).toBe('20200623-1715');
    expect(detectionBaseName(local(2020, 6, 23, 18, 5, 11))).toBe('20200623-180511');
  });
  it('never reuse an existing file', () => {
    const taken = new Set(['20200623-1715.h264', '20200623-1715-2.h264']);
    expect(uniqueName('20200623-1715', (n) => taken.has(n))).toBe('20200623-1715-3.h264');
    expect(uniqueName('20200623-1730', (n) => taken.has(n))).toBe('20200623-1730.h264');
  });
  it.each([
    [[], '20200623-180511.h264'],
    [['20200623-180511.h264'], '20200623-180511-2.h264'],
    [['20200623-180511.h264', '20200623-180511-2.h264', '20200623-180511-3.h264'], '20200623-180511-4.h264'],
    // A gap is filled: the first free name, as an O_EXCL-free check can only ask about names.
    [['20200623-180511.h264', '20200623-180511-3.h264'], '20200623-180511-2.h264'],
  ])('with %j taken, a detection clip is %s, a name postproc accepts', (taken, expected) => {
    const name = uniqueName('20200623-180511', (n) => taken.includes(n));
    expect(name).toBe(expected);
    expect(parseRecordingName(name)).toMatchObject({ kind: 'detection', year: 2020, month: 6, day: 23, second: 11, ext: '.h264' });
  });
  it('names a year before 1000 with four digits', () => {
    const d = new Date(2020, 0, 2, 3, 4, 5);
    d.setFullYear(999);
    expect(continuousBaseName(d.getTime())).toBe('09990102-0304');
    expect(detectionBaseName(d.getTime())).toBe('09990102-030405');
  });
});

describe('nextSegmentMark', () => {
  it.each([
    [local(2020, 6, 23, 17, 14, 59, 999), 15, local(2020, 6, 23, 17, 15)],
    [local(2020, 6, 23, 17, 15, 0, 0), 15, local(2020, 6, 23, 17, 30)],
    [local(2020, 6, 23, 17, 46), 15, local(2020, 6, 23, 18, 0)],
    [local(2020, 12, 31, 23, 59, 30), 15, local(2021, 1, 1, 0, 0)],
    [local(2020, 6, 23, 17, 1), 60, local(2020, 6, 23, 18, 0)],
    [local(2020, 6, 23, 17, 7), 5, local(2020, 6, 23, 17, 10)],
  ])('after %s with %i-minute segments', (at, minutes, mark) => {
    expect(nextSegmentMark(at, minutes)).toBe(mark);
  });
});
