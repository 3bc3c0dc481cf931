// The recordings index: kept by the recorders as files grow, rebuilt after a restart, and aware of files others remove or add.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/common/clock.js';
import { AnnexBParser, type AccessUnit } from '../../../src/common/h264/annexb.js';
import { createLogger } from '../../../src/common/log.js';
import { TESTCARD_PATH } from '../../../src/common/paths.js';
import { ContinuousRecorder, type FinishedRecording } from '../../../src/pancake/record/continuous.js';
import { RecordingJournal } from '../../../src/pancake/record/journal.js';
import { RecordingIndex } from '../../../src/pancake/record/recording-index.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';

const logger = createLogger({ program: 'test', level: 'error' });
const local = (d: number, h: number, m: number, s = 0): number => new Date(2026, 2, d, h, m, s).getTime();

function testcardUnits(): AccessUnit[] {
  const parser = new AnnexBParser();
  return [...parser.push(fs.readFileSync(TESTCARD_PATH), 0, 0), ...parser.end()];
}

let tmp: string;
let dir: string;
let catalog: string;
beforeEach(() => {
  tmp = makeTmp('recording-index-');
  dir = path.join(tmp, 'h264');
  fs.mkdirSync(dir);
  catalog = path.join(tmp, 'state', 'recordings.ndjson');
});
afterEach(() => removeTmp(tmp));

async function openIndex(): Promise<RecordingIndex> {
  const index = new RecordingIndex({ dirs: [dir], catalog });
  await index.start();
  return index;
}

/** Records the test card at 12 fps from `startMs` with a 1-minute split, telling `index`; returns the finished files. */
async function record(index: RecordingIndex, startMs: number, frames: number, during?: (at: number) => void): Promise<FinishedRecording[]> {
  const clock = new ManualClock(startMs);
  const finished: FinishedRecording[] = [];
  const recorder = new ContinuousRecorder({
    dir, segmentMinutes: 1, fps: 12, fixedRate: true, rotation: 0, clock, logger, journal: new RecordingJournal(path.join(tmp, 'state', 'recording')),
    onFinished: (f) => finished.push(f), onStorage: () => {}, index,
  });
  const units = testcardUnits();
  for (let i = 0; i < frames; i++) {
    recorder.push({ ...units[i % units.length]!, wallTime: startMs + (i * 1000) / 12, monoTime: (i * 1000) / 12 }, undefined);
    during?.(i);
  }
  await recorder.close();
  return finished;
}

describe('RecordingIndex', () => {
  it('follows a file while it is written, then holds exactly what its event says', async () => {
    const index = await openIndex();
    const start = local(14, 12, 0, 10);
    let seen: ReturnType<RecordingIndex['between']> = [];
    const [done] = await record(index, start, 100, (i) => {
      if (i === 49) seen = index.between(start, start + 60_000);
    });
    expect(seen).toMatchObject([{ name: '20260314-1200.h264', kind: 'continuous', live: true, frames: 50, start, end: start + (49 * 1000) / 12 }]);
    const [rec] = index.between(start, start + 60_000);
    expect(rec).toEqual({
      path: done!.path, name: '20260314-1200.h264', kind: 'continuous', start, end: done!.end, frames: 100, timing: [[100, 83.333]], fps: 12,
      bytes: fs.statSync(done!.path).size, live: false, rotation: 0,
    });
    expect(index.find('20260314-1200.h264')).toEqual(rec);
    expect(index.days()).toEqual(['2026-03-14']);
  });

  it('after a restart knows the exact frames and times again from the catalog, and dates other files from their name and mtime', async () => {
    const first = await openIndex();
    const start = local(14, 12, 0, 10);
    await record(first, start, 30);
    // A file pancake did not record (copied in, or made by an older version), and a day in the past.
    const found = path.join(dir, '20260310-083000.h264');
    fs.copyFileSync(TESTCARD_PATH, found);
    const mtime = new Date(local(10, 8, 30, 24));
    fs.utimesSync(found, mtime, mtime);

    const index = await openIndex();
    expect(index.days()).toEqual(['2026-03-14', '2026-03-10']);
    expect(index.between(local(14, 0, 0), local(15, 0, 0))).toMatchObject([{ name: '20260314-1200.h264', start, frames: 30, timing: [[30, 83.333]], live: false }]);
    expect(index.between(local(10, 0, 0), local(11, 0, 0))).toEqual([{
      path: found, name: '20260310-083000.h264', kind: 'detection', start: local(10, 8, 30), end: mtime.getTime(), bytes: fs.statSync(found).size, live: false,
    }]);
  });

  it('a file whose size no longer matches its catalog line is dated from the disk instead', async () => {
    const first = await openIndex();
    const [done] = await record(first, local(14, 12, 0, 10), 30);
    fs.appendFileSync(done!.path, Buffer.from([0, 0, 0, 1, 9, 0xf0]));
    const index = await openIndex();
    const [rec] = index.between(0, Infinity);
    expect(rec).toMatchObject({ name: '20260314-1200.h264', start: local(14, 12, 0), bytes: done!.bytes + 6, live: false });
    expect(rec!.frames).toBeUndefined();
  });

  it('notices files a cleanup command removed and files added, on refresh; the next start forgets the removed ones in the catalog', async () => {
    const index = await openIndex();
    const files = await record(index, local(14, 12, 0, 30), 12 * 90);
    expect(files.map((f) => path.basename(f.path))).toEqual(['20260314-1200.h264', '20260314-1201.h264']);
    fs.rmSync(files[0]!.path);
    fs.copyFileSync(TESTCARD_PATH, path.join(dir, '20260313-2300.h264'));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a recording');
    expect(index.between(0, Infinity).map((r) => r.name)).toEqual(['20260314-1200.h264', '20260314-1201.h264']);
    await index.refresh();
    expect(index.between(0, Infinity).map((r) => r.name)).toEqual(['20260313-2300.h264', '20260314-1201.h264']);
    expect(index.find('20260314-1200.h264')).toBeUndefined();
    // Copied today: its mtime says nothing about when it was recorded, and no recording lasts more than an hour.
    expect(index.find('20260313-2300.h264')).toMatchObject({ start: local(13, 23, 0), end: local(14, 0, 0) });
    expect(index.days()).toEqual(['2026-03-14', '2026-03-13']);

    await openIndex();
    const lines = fs.readFileSync(catalog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { finished?: FinishedRecording });
    expect(lines.map((l) => path.basename(l.finished!.path))).toEqual(['20260314-1201.h264']);
  });

  it('keeps detection periods, across a restart', async () => {
    const index = await openIndex();
    await record(index, local(14, 12, 0, 0), 12);
    index.detectionChanged(true, local(14, 12, 0, 1));
    index.detectionChanged(true, local(14, 12, 0, 2));
    index.detectionChanged(false, local(14, 12, 0, 5));
    index.detectionChanged(true, local(14, 12, 0, 9));
    const periods = [{ start: local(14, 12, 0, 1), end: local(14, 12, 0, 5) }, { start: local(14, 12, 0, 9) }];
    expect(index.detectionPeriods(local(14, 0, 0), local(15, 0, 0))).toEqual(periods);
    expect(index.detectionPeriods(local(14, 12, 0, 6), local(14, 12, 0, 8))).toEqual([]);
    expect((await openIndex()).detectionPeriods(local(14, 0, 0), local(15, 0, 0))).toEqual(periods);
  });

  it('lists a recording that runs past midnight (a detection file) on both days', async () => {
    const file = path.join(dir, '20260314-235955.h264');
    fs.copyFileSync(TESTCARD_PATH, file);
    const mtime = new Date(local(15, 0, 0, 20));
    fs.utimesSync(file, mtime, mtime);
    const index = await openIndex();
    expect(index.days()).toEqual(['2026-03-15', '2026-03-14']);
    expect(index.between(local(15, 0, 0), local(16, 0, 0)).map((r) => r.name)).toEqual(['20260314-235955.h264']);
    expect(index.between(local(15, 0, 0, 1), local(16, 0, 0)).map((r) => r.name)).toEqual(['20260314-235955.h264']);
    expect(index.between(local(15, 0, 0, 21), local(16, 0, 0))).toEqual([]);
  });
});
