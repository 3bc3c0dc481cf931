// A full disk stops recording, not pancake: the error is logged and reported, and recording resumes when space returns.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileEvent, PancakeEvent, StorageEvent } from '../../src/common/events.js';
import { decodeErrors, makeTmp } from '../helpers/env.js';
import { startEventSink } from '../helpers/event-sink.js';
import { startPancake, usePancakeTest } from '../helpers/pancake-process.js';

// pancake runs in its own mount namespace with a 192 KiB tmpfs over the recording folder: a real
// ENOSPC from the kernel after about 3 s of the test card. As root (CI) no user namespace is needed.
const userns = process.getuid?.() === 0 ? [] : ['--user', '--map-root-user'];
const WRAP = (dir: string): string[] => ['unshare', ...userns, '--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=192k tmpfs "$0" && exec "$@"', dir];
const canMount = spawnSync('unshare', [...userns, '--mount', 'sh', '-c', 'mount -t tmpfs tmpfs /mnt'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!canMount)('pancake on a full disk', () => {
  const t = usePancakeTest();
  /** A wait that, when it fails, says what pancake logged (a busy machine shows its own story). */
  const withLog = async <T>(wait: Promise<T>): Promise<T> => {
    try {
      return await wait;
    } catch (err) {
      throw new Error(`${(err as Error).message}\npancake's log:\n${t.pancake?.log() ?? ''}`);
    }
  };

  it('reports the storage error, keeps the camera running, and records again once space is freed', async () => {
    t.tmp = makeTmp();
    const dir = path.join(t.tmp, 'h264');
    fs.mkdirSync(dir);
    const name = `pancake-storage-${path.basename(t.tmp)}`;
    t.sink = await startEventSink(name);
    // The state (outbox, journal) lives on the full disk too, as it does by default on a Pi.
    t.pancake = startPancake(['--record-continuous', dir, '--emit', name], {}, undefined, WRAP(dir));
    const error = (await withLog(t.sink.waitFor((e) => 'storage' in e && e.storage === 'error', 30_000))) as StorageEvent;
    expect(error.reason).toMatch(/ENOSPC/);
    // The part written before the disk filled is finished and announced; it decodes (whole frames only).
    const partial = (await withLog(t.sink.waitFor((e) => 'h264' in e, 30_000))) as FileEvent;
    expect(t.pancake.child.exitCode).toBeNull();
    const inside = `/proc/${t.pancake.child.pid}/root${partial.h264}`;
    expect(decodeErrors(inside)).toBe('');
    // Free the space (through pancake's view of the mount): the retry finds room and records again.
    fs.rmSync(inside);
    await withLog(t.sink.waitFor((e) => 'storage' in e && e.storage === 'ok', 30_000));
    await t.pancake.waitForLog(/record: writing .*\n(.|\n)*record: writing/);
    const events = t.sink.events.map((e: PancakeEvent) => ('camera' in e ? 'camera' : 'storage' in e ? `storage:${e.storage}` : 'file'));
    expect(events).not.toContain('camera'); // the camera never went down
    expect(events.filter((e) => e === 'storage:error')).toHaveLength(1);
  }, 90_000);
});
