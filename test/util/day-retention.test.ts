// Table tests of the pure day-folder selection behind pancake-limit-days.
import { describe, expect, it } from 'vitest';
import { remoteDayDir } from '../../src/postproc/upload/destination.js';
import { isDayName, isMonthName, isYearName, planDays, type YearFolder } from '../../src/util/day-retention.js';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);
const OLD = NOW - 86_400_000;

describe('folder names', () => {
  it.each([['2024', true], ['0001', true], ['0000', false], ['202', false], ['20245', false], ['2o24', false], ['-202', false]])(
    'year %j: %s', (name, ok) => expect(isYearName(name)).toBe(ok),
  );
  it.each([['01', true], ['12', true], ['00', false], ['13', false], ['1', false], ['001', false]])(
    'month %j: %s', (name, ok) => expect(isMonthName(name)).toBe(ok),
  );
  it.each([
    ['2024', '02', '29', true], ['2023', '02', '29', false], ['1900', '02', '29', false], ['2000', '02', '29', true],
    ['2024', '04', '30', true], ['2024', '04', '31', false], ['2024', '12', '31', true], ['2024', '01', '00', false],
    ['2024', '01', '1', false], ['2024', '01', 'ab', false], ['0099', '02', '29', false], ['0096', '02', '29', true],
  ])('day %s/%s/%s: %s', (y, m, d, ok) => expect(isDayName(y, m, d)).toBe(ok));
});

describe('the day folders postproc uploads into', () => {
  it.each(['20200624-0900.mp4', '20200624-0900-2.mp4', '20240229-235959-3.mp4', '00960229-1200.mp4', '99991231-2359.mp4'])(
    'the folder of %s is a year, month and day pancake-limit-days sees',
    (name) => {
      const [y, m, d] = remoteDayDir('', name).split('/') as [string, string, string];
      expect([isYearName(y), isMonthName(m), isDayName(y, m, d)]).toEqual([true, true, true]);
    },
  );
});

/** A tree from a list of `YYYY/MM/DD` (all old) plus extra entries that are not days. */
function tree(days: string[], others: Record<string, number> = {}, recent: string[] = []): YearFolder[] {
  const years = new Map<string, YearFolder>();
  for (const d of [...days].sort()) {
    const [y, m, dd] = d.split('/') as [string, string, string];
    let year = years.get(y);
    if (!year) years.set(y, (year = { path: y, months: [], otherEntries: others[y] ?? 0 }));
    let month = year.months.find((x) => x.path === `${y}/${m}`);
    if (!month) year.months.push((month = { path: `${y}/${m}`, days: [], otherEntries: others[`${y}/${m}`] ?? 0 }));
    month.days.push({ path: d, date: `${y}-${m}-${dd}`, newestMtimeMs: recent.includes(d) ? NOW - 1000 : OLD });
  }
  return [...years.values()];
}

describe('planDays', () => {
  const days = ['2023/12/30', '2023/12/31', '2024/01/01', '2024/01/02', '2024/02/01'];

  it.each([
    { keep: 5, removed: [], months: [], years: [] },
    { keep: 3, removed: ['2023/12/31', '2023/12/30'], months: ['2023/12'], years: ['2023'] },
    { keep: 2, removed: ['2024/01/01', '2023/12/31', '2023/12/30'], months: ['2023/12'], years: ['2023'] },
    { keep: 1, removed: ['2024/01/02', '2024/01/01', '2023/12/31', '2023/12/30'], months: ['2023/12', '2024/01'], years: ['2023'] },
    { keep: 0, removed: [...days].reverse(), months: ['2023/12', '2024/01', '2024/02'], years: ['2023', '2024'] },
  ])('keeping $keep days removes $removed', ({ keep, removed, months, years }) => {
    const plan = planDays(tree(days), keep, NOW);
    expect(plan.remove.map((d) => d.path)).toEqual(removed);
    expect(plan.keep.map((d) => d.path)).toEqual([...days].reverse().slice(0, keep));
    expect(plan.removeMonths).toEqual(months);
    expect(plan.removeYears).toEqual(years);
  });

  it('keeps a month or year that holds anything besides removed days', () => {
    const plan = planDays(tree(days, { '2023/12': 1, '2024': 1 }), 0, NOW);
    expect(plan.remove).toHaveLength(5);
    expect(plan.removeMonths).toEqual(['2024/01', '2024/02']);
    expect(plan.removeYears).toEqual([]); // 2023 keeps its month 12, 2024 its other entry
  });

  it('spares an old day with something modified within the last minute, and keeps its month', () => {
    const plan = planDays(tree(days, {}, ['2023/12/30']), 2, NOW);
    expect(plan.spared.map((d) => d.path)).toEqual(['2023/12/30']);
    expect(plan.remove.map((d) => d.path)).toEqual(['2024/01/01', '2023/12/31']);
    expect(plan.removeMonths).toEqual([]);
    expect(plan.removeYears).toEqual([]);
  });

  it('leaves a month or year that was empty before this run alone', () => {
    const years: YearFolder[] = [{ path: '2022', otherEntries: 0, months: [{ path: '2022/05', days: [], otherEntries: 0 }] }];
    expect(planDays(years, 0, NOW)).toEqual({ keep: [], remove: [], spared: [], removeMonths: [], removeYears: [] });
  });
});
