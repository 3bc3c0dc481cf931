// pancake-limit-files-by-number and -by-size on real temporary directories: what is kept, what is never touched.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTmp, removeTmp, runDist } from '../helpers/env.js';

const BY_NUMBER = 'util/limit-files-by-number.js';
const BY_SIZE = 'util/limit-files-by-size.js';
const HOUR_S = 3600;

let tmp: string;
beforeEach(() => {
  tmp = makeTmp('pancake-limit-files-');
});
afterEach(() => removeTmp(tmp));

/** Makes `dir/name` with `size` bytes, modified `hoursOld` hours ago (0 = now). */
function file(dir: string, name: string, hoursOld: number, size = 100): string {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, Buffer.alloc(size, 0x41));
  const t = Date.now() / 1000 - hoursOld * HOUR_S;
  fs.utimesSync(p, t, t);
  return p;
}

/** Names left in a directory, sorted. */
function left(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

/** Four old recordings, oldest first: a0 (4 h) … a3 (1 h). */
function recordings(dir: string, size = 100): void {
  for (let i = 0; i < 4; i++) file(dir, `a${i}.h264`, 4 - i, size);
}

describe('pancake-limit-files-by-number', () => {
  it('keeps the newest N files in each directory and reports each removal and a summary', async () => {
    const h264 = path.join(tmp, 'h264');
    const mp4 = path.join(tmp, 'mp4');
    recordings(h264);
    recordings(mp4);
    const r = await runDist(BY_NUMBER, [h264, '2', mp4, '3']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(left(h264)).toEqual(['a2.h264', 'a3.h264']);
    expect(left(mp4)).toEqual(['a1.h264', 'a2.h264', 'a3.h264']);
    expect(r.stdout).toContain(`removed ${path.join(h264, 'a0.h264')} (100 B)\n`);
    expect(r.stdout).toContain(`removed ${path.join(h264, 'a1.h264')} (100 B)\n`);
    expect(r.stdout).toContain(`${h264}: removed 2 files (200 B); 2 files (200 B) remain\n`);
    expect(r.stdout).toContain(`${mp4}: removed 1 file (100 B); 3 files (300 B) remain\n`);
  });

  it('orders by modification time, not by name', async () => {
    const dir = path.join(tmp, 'd');
    file(dir, 'z-old', 5);
    file(dir, 'a-new', 1);
    await runDist(BY_NUMBER, [dir, '1']);
    expect(left(dir)).toEqual(['a-new']);
  });

  it('counts restarted recordings (…-2, …-10) and keeps the latest of a tie in modification time', async () => {
    const dir = path.join(tmp, 'h264');
    // Copied with whole-second times: all four have the same modification time.
    for (const name of ['20240101-0000.h264', '20240101-0000-2.h264', '20240101-0000-9.h264', '20240101-0000-10.h264']) file(dir, name, 2);
    const r = await runDist(BY_NUMBER, [dir, '2']);
    expect(r.status).toBe(0);
    expect(left(dir)).toEqual(['20240101-0000-10.h264', '20240101-0000-9.h264']);
    expect(r.stdout).toContain(`${dir}: removed 2 files (200 B); 2 files (200 B) remain\n`);
  });

  it('neither counts nor deletes symlinks, subdirectories or dot files, nor follows a link', async () => {
    const dir = path.join(tmp, 'h264');
    const outside = path.join(tmp, 'outside');
    recordings(dir);
    const target = file(outside, 'precious.h264', 10);
    const oldTarget = file(outside, 'dir-target/inner.h264', 10);
    fs.symlinkSync(target, path.join(dir, 'link-to-file.h264'));
    fs.symlinkSync(path.dirname(oldTarget), path.join(dir, 'link-to-dir'));
    fs.symlinkSync(path.join(tmp, 'nowhere'), path.join(dir, 'dangling'));
    file(path.join(dir, 'sub'), 'old-inside.h264', 10);
    file(dir, '.outbox', 10);
    // lutimes: make the links themselves the oldest entries, so a command that counted them would delete them.
    for (const l of ['link-to-file.h264', 'link-to-dir', 'dangling']) fs.lutimesSync(path.join(dir, l), 1, 1);

    const r = await runDist(BY_NUMBER, [dir, '1']);
    expect(r.status).toBe(0);
    expect(left(dir)).toEqual(['.outbox', 'a3.h264', 'dangling', 'link-to-dir', 'link-to-file.h264', 'sub']);
    expect(left(path.join(dir, 'sub'))).toEqual(['old-inside.h264']);
    expect(fs.existsSync(target) && fs.existsSync(oldTarget)).toBe(true);
    expect(r.stdout).toContain(`${dir}: removed 3 files (300 B); 1 file (100 B) remain\n`);
  });

  it('does not let a symlink to a newer file take a place among the N kept', async () => {
    const dir = path.join(tmp, 'h264');
    recordings(dir);
    const target = file(path.join(tmp, 'outside'), 'newest.h264', 0.5);
    fs.symlinkSync(target, path.join(dir, 'link.h264'));
    const r = await runDist(BY_NUMBER, [dir, '4']);
    expect(r.status).toBe(0);
    expect(left(dir)).toEqual(['a0.h264', 'a1.h264', 'a2.h264', 'a3.h264', 'link.h264']);
    expect(r.stdout).toBe(`${dir}: removed 0 files (0 B); 4 files (400 B) remain\n`);
  });

  it('accepts a symlink to a directory as the directory argument', async () => {
    const real = path.join(tmp, 'real');
    recordings(real);
    fs.symlinkSync(real, path.join(tmp, 'via-link'));
    const r = await runDist(BY_NUMBER, [path.join(tmp, 'via-link'), '3']);
    expect(r.status).toBe(0);
    expect(left(real)).toEqual(['a1.h264', 'a2.h264', 'a3.h264']);
  });

  it('keeps a file modified within the last minute, even beyond N, and says so', async () => {
    const dir = path.join(tmp, 'h264');
    recordings(dir);
    file(dir, 'recording-now.h264', 0);
    const r = await runDist(BY_NUMBER, [dir, '0']);
    expect(r.status).toBe(0);
    expect(left(dir)).toEqual(['recording-now.h264']);
    expect(r.stdout).toContain(`kept ${path.join(dir, 'recording-now.h264')}: modified within the last minute\n`);
    expect(r.stdout).toContain(`${dir}: removed 4 files (400 B); 1 file (100 B) remain\n`);
  });

  it('counts a file being written toward N', async () => {
    const dir = path.join(tmp, 'h264');
    recordings(dir);
    file(dir, 'recording-now.h264', 0);
    await runDist(BY_NUMBER, [dir, '2']);
    expect(left(dir)).toEqual(['a3.h264', 'recording-now.h264']);
  });

  it('--dry-run lists what would go and deletes nothing', async () => {
    const dir = path.join(tmp, 'h264');
    recordings(dir);
    const r = await runDist(BY_NUMBER, ['--dry-run', dir, '1']);
    expect(r.status).toBe(0);
    expect(left(dir)).toEqual(['a0.h264', 'a1.h264', 'a2.h264', 'a3.h264']);
    expect(r.stdout).toContain(`would remove ${path.join(dir, 'a0.h264')} (100 B)\n`);
    expect(r.stdout).toContain(`${dir}: would remove 3 files (300 B); 1 file (100 B) would remain (dry run: nothing deleted)\n`);
    expect(r.stdout).not.toMatch(/^removed /m);
  });

  it('exits 1 and reports a file it cannot delete, after deleting nothing else wrongly', async () => {
    const dir = path.join(tmp, 'h264');
    recordings(dir);
    // Root may delete from any directory, so then the command runs as nobody in root's directory.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) fs.chmodSync(tmp, 0o755);
    fs.chmodSync(dir, asRoot ? 0o755 : 0o555);
    try {
      const r = await runDist(BY_NUMBER, [dir, '2'], asRoot ? { uid: 65534, gid: 65534 } : {});
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`cannot remove ${path.join(dir, 'a0.h264')}: EACCES\n`);
      expect(r.stderr).toContain(`cannot remove ${path.join(dir, 'a1.h264')}: EACCES\n`);
      expect(r.stdout).toContain(`${dir}: removed 0 files (0 B); 4 files (400 B) remain\n`);
      expect(left(dir)).toHaveLength(4);
    } finally {
      fs.chmodSync(dir, 0o755);
    }
  });
});

describe('bad arguments: exit 2, one line, nothing deleted anywhere', () => {
  it.each([
    { name: 'an odd number of arguments', args: (a: string, b: string) => [a, '1', b], msg: 'expected pairs of directory and limit, got 3 arguments' },
    { name: 'a non-number', args: (a: string, b: string) => [a, '1', b, 'two'], msg: 'the number of files to keep is not a whole number: "two"' },
    { name: 'a negative number', args: (a: string, b: string) => [a, '1', b, '-2'], msg: 'the number of files to keep must not be negative: -2' },
    { name: 'a missing directory', args: (a: string) => [a, '1', path.join(path.dirname(a), 'missing'), '2'], msg: 'no such directory: ' },
    { name: 'a file given as directory', args: (a: string, b: string) => [a, '1', path.join(b, 'a0.h264'), '2'], msg: 'not a directory: ' },
  ])('$name', async ({ args, msg }) => {
    const a = path.join(tmp, 'a');
    const b = path.join(tmp, 'b');
    recordings(a);
    recordings(b);
    const r = await runDist(BY_NUMBER, args(a, b));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.startsWith('pancake-limit-files-by-number: ')).toBe(true);
    expect(r.stdout).toBe('');
    expect(left(a)).toHaveLength(4);
    expect(left(b)).toHaveLength(4);
  });

  it('a directory that can be listed but not searched', async () => {
    const a = path.join(tmp, 'a');
    const b = path.join(tmp, 'b');
    recordings(a);
    recordings(b);
    // Root passes every permission check, so then the command runs as nobody, owning a/ and b/.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      fs.chmodSync(tmp, 0o755);
      for (const d of [a, b]) fs.chownSync(d, 65534, 65534);
    }
    fs.chmodSync(b, 0o644);
    try {
      const r = await runDist(BY_NUMBER, [a, '0', b, '0'], asRoot ? { uid: 65534, gid: 65534 } : {});
      expect(r.status).toBe(2);
      // The first name listed, whichever it is.
      expect(r.stderr).toMatch(/^pancake-limit-files-by-number: cannot look at \S+\/b\/a\d\.h264: EACCES\n$/);
      expect(left(a)).toHaveLength(4);
    } finally {
      fs.chmodSync(b, 0o755);
    }
  });

  it('no arguments at all', async () => {
    const r = await runDist(BY_NUMBER, []);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/missing required argument/);
  });

  it('a bad size for pancake-limit-files-by-size', async () => {
    const a = path.join(tmp, 'a');
    recordings(a);
    const r = await runDist(BY_SIZE, [a, '100', a, '5Q']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`pancake-limit-files-by-size: ${a}: not a size: "5Q" (use bytes, or a number with K, M, G or T, e.g. 500M or 1.5G)\n`);
    expect(left(a)).toHaveLength(4);
  });
});

describe('pancake-limit-files-by-size', () => {
  it('keeps the newest files within each limit', async () => {
    const h264 = path.join(tmp, 'h264');
    const mp4 = path.join(tmp, 'mp4');
    recordings(h264, 1000);
    recordings(mp4, 1024);
    // 2500 bytes: a3 + a2 fit (2000), a1 would make 3000. 2K = 2048: two 1024-byte files fit exactly.
    const r = await runDist(BY_SIZE, [h264, '2500', mp4, '2K']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(left(h264)).toEqual(['a2.h264', 'a3.h264']);
    expect(left(mp4)).toEqual(['a2.h264', 'a3.h264']);
    expect(r.stdout).toContain(`${mp4}: removed 2 files (2.0 KiB); 2 files (2.0 KiB) remain\n`);
  });

  it('reads M and G as 1024-based', async () => {
    const dir = path.join(tmp, 'big');
    // Sparse files: sizes without writing the bytes.
    for (const [name, hours, size] of [['new', 1, 1024 ** 2], ['old', 2, 1]] as const) {
      fs.mkdirSync(dir, { recursive: true });
      const p = path.join(dir, name);
      fs.writeFileSync(p, '');
      fs.truncateSync(p, size);
      const t = Date.now() / 1000 - hours * HOUR_S;
      fs.utimesSync(p, t, t);
    }
    const r = await runDist(BY_SIZE, [dir, '1M']);
    expect(r.status).toBe(0);
    // 1M = 1048576: the newest file fills it exactly, so the 1-byte older one goes.
    expect(left(dir)).toEqual(['new']);
  });

  it('ignores symlinks and keeps a file being written, counting its size', async () => {
    const dir = path.join(tmp, 'h264');
    recordings(dir, 100);
    file(dir, 'now.h264', 0, 250);
    const target = file(path.join(tmp, 'outside'), 'big', 10, 5000);
    fs.symlinkSync(target, path.join(dir, 'link'));
    fs.lutimesSync(path.join(dir, 'link'), 1, 1);
    const r = await runDist(BY_SIZE, [dir, '300']);
    expect(r.status).toBe(0);
    // now (250) + a3 (100) > 300: only the file being written remains.
    expect(left(dir)).toEqual(['link', 'now.h264']);
    expect(fs.statSync(target).size).toBe(5000);
  });

  it('--dry-run deletes nothing', async () => {
    const dir = path.join(tmp, 'h264');
    recordings(dir);
    const r = await runDist(BY_SIZE, [dir, '0', '--dry-run']);
    expect(r.status).toBe(0);
    expect(left(dir)).toHaveLength(4);
    expect(r.stdout).toContain(`${dir}: would remove 4 files (400 B); 0 files (0 B) would remain (dry run: nothing deleted)\n`);
  });
});
