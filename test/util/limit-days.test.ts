// pancake-limit-days on real YYYY/MM/DD trees: which day folders go, which month and year folders follow, what is never touched.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTmp, removeTmp, runDist } from '../helpers/env.js';

const LIMIT_DAYS = 'util/limit-days.js';
const OLD = Date.now() / 1000 - 86_400;

let tmp: string;
let root: string;
beforeEach(() => {
  tmp = makeTmp('pancake-limit-days-');
  root = path.join(tmp, 'oven');
});
afterEach(() => removeTmp(tmp));

/** Makes `root/rel` as a folder holding one old upload, every part of it old. */
function day(rel: string, upload = 'clip.mp4'): void {
  const dir = path.join(root, rel);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, upload), 'x');
  age(rel);
}

/** Sets the times of `root/rel` and everything in it to a day ago (not following links). */
function age(rel: string): void {
  const walk = (p: string): void => {
    const st = fs.lstatSync(p);
    if (st.isDirectory()) for (const n of fs.readdirSync(p)) walk(path.join(p, n));
    fs.lutimesSync(p, OLD, OLD);
  };
  walk(path.join(root, rel));
}

/** Every path under root, folders with a trailing slash, sorted. */
function tree(): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const n of fs.readdirSync(path.join(root, rel))) {
      const r = rel ? `${rel}/${n}` : n;
      const st = fs.lstatSync(path.join(root, r));
      if (st.isDirectory()) {
        out.push(`${r}/`);
        walk(r);
      } else out.push(r);
    }
  };
  walk('');
  return out.sort();
}

const DAYS = ['2023/12/30', '2023/12/31', '2024/01/01', '2024/01/02', '2024/02/01'];

describe('pancake-limit-days', () => {
  it('keeps the newest N days across months and years, then removes emptied months and years', async () => {
    DAYS.forEach((d) => day(d));
    const r = await runDist(LIMIT_DAYS, [root, '2']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(tree()).toEqual(['2024/', '2024/01/', '2024/01/02/', '2024/01/02/clip.mp4', '2024/02/', '2024/02/01/', '2024/02/01/clip.mp4']);
    const sep = path.sep;
    expect(r.stdout).toBe(
      [
        `removed ${path.join(root, '2024/01/01')}${sep}`,
        `removed ${path.join(root, '2023/12/31')}${sep}`,
        `removed ${path.join(root, '2023/12/30')}${sep}`,
        `removed ${path.join(root, '2023/12')}${sep} (emptied)`,
        `removed ${path.join(root, '2023')}${sep} (emptied)`,
        `${root}: removed 3 day folders, 1 month folder, 1 year folder; 2 day folders remain`,
        '',
      ].join('\n'),
    );
  });

  it('counts a day holding only restarted recordings (…-2.mp4) like any other day', async () => {
    day('2024/01/01', '20240101-0900.mp4');
    day('2024/01/02', '20240102-0900-2.mp4');
    day('2024/01/03', '20240103-101112-3.mp4');
    const r = await runDist(LIMIT_DAYS, [root, '2']);
    expect(r.status).toBe(0);
    expect(tree()).toEqual(['2024/', '2024/01/', '2024/01/02/', '2024/01/02/20240102-0900-2.mp4', '2024/01/03/', '2024/01/03/20240103-101112-3.mp4']);
    expect(r.stdout).toContain(`${root}: removed 1 day folder, 0 month folders, 0 year folders; 2 day folders remain\n`);
  });

  it('handles several trees, each with its own limit', async () => {
    DAYS.forEach((d) => day(d));
    const other = path.join(tmp, 'cam2');
    fs.mkdirSync(path.join(other, '2024/03/05'), { recursive: true });
    fs.mkdirSync(path.join(other, '2024/03/06'), { recursive: true });
    for (const d of ['2024/03/05', '2024/03/06']) fs.utimesSync(path.join(other, d), OLD, OLD);
    const r = await runDist(LIMIT_DAYS, [root, '4', other, '1']);
    expect(r.status).toBe(0);
    expect(tree()).not.toContain('2023/12/30/');
    expect(tree()).toContain('2023/12/31/');
    expect(fs.readdirSync(path.join(other, '2024/03'))).toEqual(['06']);
  });

  it('never touches anything that does not match YYYY/MM/DD, and such things keep their month and year', async () => {
    DAYS.forEach((d) => day(d));
    const outside = path.join(tmp, 'outside', '2019', '01', '01');
    fs.mkdirSync(outside, { recursive: true });
    fs.writeFileSync(path.join(outside, 'precious.mp4'), 'x');
    fs.symlinkSync(path.join(tmp, 'outside', '2019'), path.join(root, '2019')); // a year that is a link
    fs.symlinkSync(outside, path.join(root, '2023', '12', '29')); // a day that is a link
    fs.mkdirSync(path.join(root, '2023', '13', '01'), { recursive: true }); // no month 13
    fs.mkdirSync(path.join(root, '2024', '02', '30'), { recursive: true }); // no 30 February
    fs.mkdirSync(path.join(root, '2024', '1', '05'), { recursive: true }); // not two digits
    fs.mkdirSync(path.join(root, 'notes'), { recursive: true });
    fs.writeFileSync(path.join(root, '2024', '01', 'README'), 'x');
    age('');

    const r = await runDist(LIMIT_DAYS, [root, '0']);
    expect(r.status).toBe(0);
    expect(tree()).toEqual([
      '2019', '2023/', '2023/12/', '2023/12/29', '2023/13/', '2023/13/01/',
      '2024/', '2024/01/', '2024/01/README', '2024/02/', '2024/02/30/', '2024/1/', '2024/1/05/', 'notes/',
    ]);
    expect(fs.existsSync(path.join(outside, 'precious.mp4'))).toBe(true);
  });

  it('removes a day with a symlink inside without following it', async () => {
    day('2024/01/01');
    day('2024/01/02');
    const precious = path.join(tmp, 'precious');
    fs.mkdirSync(precious);
    fs.writeFileSync(path.join(precious, 'keep.mp4'), 'x');
    fs.symlinkSync(precious, path.join(root, '2024/01/01/link'));
    age('2024/01/01');
    const r = await runDist(LIMIT_DAYS, [root, '1']);
    expect(r.status).toBe(0);
    expect(tree()).toEqual(['2024/', '2024/01/', '2024/01/02/', '2024/01/02/clip.mp4']);
    expect(fs.readdirSync(precious)).toEqual(['keep.mp4']);
  });

  it('keeps an old day that is being uploaded into, and its month', async () => {
    DAYS.forEach((d) => day(d));
    fs.writeFileSync(path.join(root, '2023/12/30/uploading.mp4.part'), 'x'); // modified now
    const r = await runDist(LIMIT_DAYS, [root, '3']);
    expect(r.status).toBe(0);
    expect(tree().filter((p) => p.endsWith('/') && p.split('/').length === 4)).toEqual(['2023/12/30/', '2024/01/02/', '2024/02/01/', '2024/01/01/'].sort());
    expect(r.stdout).toContain(`kept ${path.join(root, '2023/12/30')}${path.sep}: modified within the last minute\n`);
    expect(r.stdout).toContain(`${root}: removed 1 day folder, 0 month folders, 0 year folders; 4 day folders remain\n`);
  });

  it('leaves month folders that were already empty (an uploader may be about to fill them)', async () => {
    day('2024/01/01');
    fs.mkdirSync(path.join(root, '2023/11'), { recursive: true });
    const r = await runDist(LIMIT_DAYS, [root, '5']);
    expect(r.status).toBe(0);
    expect(tree()).toContain('2023/11/');
  });

  it('--dry-run lists days, months and years that would go, and deletes nothing', async () => {
    DAYS.forEach((d) => day(d));
    const before = tree();
    const r = await runDist(LIMIT_DAYS, ['--dry-run', root, '2']);
    expect(r.status).toBe(0);
    expect(tree()).toEqual(before);
    expect(r.stdout).toContain(`would remove ${path.join(root, '2023/12/30')}${path.sep}\n`);
    expect(r.stdout).toContain(`would remove ${path.join(root, '2023')}${path.sep} (emptied)\n`);
    expect(r.stdout).toContain(`${root}: would remove 3 day folders, 1 month folder, 1 year folder; 2 day folders would remain (dry run: nothing deleted)\n`);
  });

  it.each([
    { args: (a: string) => [a, '2', a], msg: 'expected pairs of directory and limit' },
    { args: (a: string) => [a, '2', a, 'ten'], msg: 'the number of days to keep is not a whole number: "ten"' },
    { args: (a: string) => [a, '-1'], msg: 'the number of days to keep must not be negative: -1' },
    { args: (a: string) => [a, '0', `${a}-missing`, '3'], msg: 'no such directory: ' },
  ])('bad arguments ($msg): exit 2, nothing deleted', async ({ args, msg }) => {
    DAYS.forEach((d) => day(d));
    const before = tree();
    const r = await runDist(LIMIT_DAYS, args(root));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(tree()).toEqual(before);
  });
});
