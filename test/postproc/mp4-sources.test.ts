// Which recording made each MP4: the placement verdict table, placing and refusing, and the record across a reopen.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MP4_SOURCES_FILE, Mp4Sources, Mp4TakenError, placementVerdict, type Mp4Record, type Occupant, type Recording } from '../../src/postproc/mp4-sources.js';
import { makeTmp, removeTmp } from '../helpers/env.js';
import { captureLogger } from './upload/capture-logger.js';

describe('placementVerdict', () => {
  const mp4 = '/m/20260101-1200.mp4';
  const made: Mp4Record = { mp4, h264: '/r/h264/20260101-1200.h264', h264Size: 5000, mp4Size: 6000 };
  const same: Recording = { h264: '/r/h264/20260101-1200.h264', size: 5000 };
  const file = (size: number): Occupant => ({ regularFile: true, size });

  it.each<[string, Occupant, Mp4Record | undefined, Recording, ReturnType<typeof placementVerdict>]>([
    ['nothing there: written', undefined, undefined, same, { ok: true, replaces: false }],
    ['nothing there, an old record: written (the record says nothing about the path)', undefined, made, { h264: '/tmp/other/20260101-1200.h264', size: 1 }, { ok: true, replaces: false }],
    ['its own MP4: replaced (a resend, a replayed job)', file(6000), made, same, { ok: true, replaces: true }],
    ['another folder\'s file of the same name: refused, naming both', file(6000), made, { h264: '/tmp/other/20260101-1200.h264', size: 5000 },
      { ok: false, reason: `it would replace ${mp4}, which was made from another recording, /r/h264/20260101-1200.h264; the MP4 is left as it is` }],
    ['another file at the same path (another size): refused', file(6000), made, { h264: same.h264, size: 4999 },
      { ok: false, reason: `it would replace ${mp4}, which was made from an earlier file at this path (5000 bytes; this one has 4999); the MP4 is left as it is` }],
    ['an MP4 without a record (by hand, an older postproc): refused', file(6000), undefined, same,
      { ok: false, reason: `it would replace ${mp4}, which postproc has no record of making (made by hand, or by an older postproc?); the MP4 is left as it is — move it away to have this recording converted` }],
    ['an MP4 changed since it was made: refused', file(7000), made, same,
      { ok: false, reason: `it would replace ${mp4}, which changed since postproc made it from /r/h264/20260101-1200.h264 (6000 bytes then, 7000 now); the MP4 is left as it is` }],
    ['a directory or a link in its place: refused', { regularFile: false, size: 4096 }, made, same,
      { ok: false, reason: `${mp4} exists and is not a regular file; nothing is written there` }],
  ])('%s', (_name, occupant, record, source, verdict) => {
    expect(placementVerdict(mp4, occupant, record, source)).toEqual(verdict);
  });
});

describe('Mp4Sources', () => {
  let dir: string;
  let mp4Dir: string;
  const opened: Mp4Sources[] = [];
  const log = captureLogger();
  const open = async (): Promise<Mp4Sources> => {
    const s = await Mp4Sources.open({ dir, logger: log.logger });
    opened.push(s);
    return s;
  };

  beforeEach(() => {
    dir = fs.realpathSync(makeTmp('postproc-sources-'));
    mp4Dir = path.join(dir, 'mp4');
    fs.mkdirSync(mp4Dir);
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    removeTmp(dir);
  });

  /** A finished MP4 under a temporary name beside `mp4`, as a converter leaves it. */
  function finished(mp4: string, bytes: string): string {
    const tmp = path.join(path.dirname(mp4), `.${path.basename(mp4)}.x.tmp.mp4`);
    fs.writeFileSync(tmp, bytes);
    return tmp;
  }

  it('places a new MP4, replaces it with one from the same recording, and refuses another recording\'s, leaving both files as they were', async () => {
    const sources = await open();
    const mp4 = path.join(mp4Dir, '20260101-1200.mp4');
    const a: Recording = { h264: '/r/a/20260101-1200.h264', size: 100 };
    await sources.place(finished(mp4, 'from a'), mp4, a);
    expect(fs.readFileSync(mp4, 'utf8')).toBe('from a');
    expect(sources.recorded(mp4)).toEqual({ mp4, h264: a.h264, h264Size: 100, mp4Size: 6 });

    await sources.place(finished(mp4, 'from a, again'), mp4, a);
    expect(fs.readFileSync(mp4, 'utf8')).toBe('from a, again');

    const other = finished(mp4, 'from b');
    const err = await sources.place(other, mp4, { h264: '/r/b/20260101-1200.h264', size: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Mp4TakenError);
    expect((err as Error).message).toContain(`which was made from another recording, ${a.h264}`);
    expect(fs.readFileSync(mp4, 'utf8')).toBe('from a, again');
    expect(fs.readFileSync(other, 'utf8')).toBe('from b'); // the caller removes its temporary file
    expect(sources.recorded(mp4)!.h264).toBe(a.h264);
  });

  it('never replaces an MP4 it has no record of', async () => {
    const sources = await open();
    const mp4 = path.join(mp4Dir, '20260101-1215.mp4');
    fs.writeFileSync(mp4, 'made by hand');
    await expect(sources.place(finished(mp4, 'converted'), mp4, { h264: '/r/a/20260101-1215.h264', size: 1 })).rejects.toThrow(/has no record of making/);
    expect(fs.readFileSync(mp4, 'utf8')).toBe('made by hand');
  });

  it('keeps the record across a reopen, forgets MP4s deleted since, and skips a torn last line', async () => {
    const first = await open();
    const kept = path.join(mp4Dir, 'kept.mp4');
    const deleted = path.join(mp4Dir, 'deleted.mp4');
    await first.place(finished(kept, 'kept'), kept, { h264: '/r/a/kept.h264', size: 1 });
    await first.place(finished(deleted, 'deleted'), deleted, { h264: '/r/a/deleted.h264', size: 2 });
    await first.close();
    fs.rmSync(deleted);
    fs.appendFileSync(path.join(dir, MP4_SOURCES_FILE), '{"mp4":"/m/torn.mp4","h2');

    const second = await open();
    expect(second.recorded(kept)).toEqual({ mp4: kept, h264: '/r/a/kept.h264', h264Size: 1, mp4Size: 4 });
    expect(second.recorded(deleted)).toBeUndefined();
    expect(log.text()).toContain(`${MP4_SOURCES_FILE}: ignoring a torn last line`);
    // Rewritten with only what is still needed.
    expect(fs.readFileSync(path.join(dir, MP4_SOURCES_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Mp4Record)).toEqual([second.recorded(kept)]);
    // The same recording still replaces its MP4 after the reopen; another one still cannot.
    await second.place(finished(kept, 'kept again'), kept, { h264: '/r/a/kept.h264', size: 1 });
    expect(fs.readFileSync(kept, 'utf8')).toBe('kept again');
    await expect(second.place(finished(kept, 'other'), kept, { h264: '/tmp/kept.h264', size: 1 })).rejects.toBeInstanceOf(Mp4TakenError);
    // The deleted one's name is free again, for any recording.
    await second.place(finished(deleted, 'new'), deleted, { h264: '/r/b/deleted.h264', size: 3 });
    expect(fs.readFileSync(deleted, 'utf8')).toBe('new');
  });

  it('stays small: rewritten with the newest record of each MP4 after compactAfter records', async () => {
    const sources = await Mp4Sources.open({ dir, logger: log.logger, compactAfter: 3 });
    opened.push(sources);
    const mp4 = path.join(mp4Dir, 'a.mp4');
    for (let i = 0; i < 10; i++) await sources.place(finished(mp4, `v${i}`), mp4, { h264: '/r/a/a.h264', size: 1 });
    expect(fs.readFileSync(path.join(dir, MP4_SOURCES_FILE), 'utf8').trim().split('\n').length).toBeLessThanOrEqual(4);
    await sources.close();
    const again = await open();
    expect(again.recorded(mp4)).toEqual({ mp4, h264: '/r/a/a.h264', h264Size: 1, mp4Size: 2 });
  });
});
