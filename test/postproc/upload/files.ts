// Test helpers for uploads: recordings with known bytes and times, remote trees, polling.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Writes `dir/name` with `size` pseudo-random bytes (seeded by the name) and the given mtime (epoch seconds). */
export function writeRecording(dir: string, name: string, size: number, mtimeSec = 1_593_000_000): string {
  const file = path.join(dir, name);
  const fd = fs.openSync(file, 'w');
  let block = createHash('sha512').update(name).digest();
  const chunk = Buffer.alloc(Math.min(size, 1 << 20));
  for (let written = 0; written < size; ) {
    for (let i = 0; i < chunk.length; i += block.length) {
      block.copy(chunk, i);
      block = createHash('sha512').update(block).digest();
    }
    const n = Math.min(chunk.length, size - written);
    fs.writeSync(fd, chunk, 0, n);
    written += n;
  }
  fs.closeSync(fd);
  fs.utimesSync(file, mtimeSec, mtimeSec);
  return file;
}

/** Every file under `root` (relative paths, sorted), hidden ones included. */
export function remoteTree(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
}

/** True when two files have the same bytes. */
export function sameBytes(a: string, b: string): boolean {
  const digest = (f: string): string => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
  return digest(a) === digest(b);
}

/** Polls `check` until it returns true, failing after `timeoutMs` with `what`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
