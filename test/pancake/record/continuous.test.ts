// Continuous recording splits at the first IDR at or after each mark, losing and duplicating nothing.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/common/clock.js';
import { AnnexBParser, type AccessUnit } from '../../../src/common/h264/annexb.js';
import { createLogger } from '../../../src/common/log.js';
import { TESTCARD_PATH } from '../../../src/common/paths.js';
import { ContinuousRecorder, type FinishedRecording } from '../../../src/pancake/record/continuous.js';
import { RecordingJournal } from '../../../src/pancake/record/journal.js';
import { decodeErrors, makeTmp, probe, removeTmp } from '../../helpers/env.js';
import { until } from '../../helpers/until.js';

const logger = createLogger({ program: 'test', level: 'error' });
const local = (h: number, m: number, s = 0): number => new Date(2026, 2, 14, h, m, s).getTime();

function testcardUnits(): AccessUnit[] {
  const parser = new AnnexBParser();
  return [...parser.push(fs.readFileSync(TESTCARD_PATH), 0, 0), ...parser.end()];
}

describe('ContinuousRecorder', () => {
  let tmp: string | undefined;
  afterEach(() => removeTmp(tmp));

  function make(segmentMinutes: number): { recorder: ContinuousRecorder; finished: FinishedRecording[]; dir: string; journal: RecordingJournal } {
    tmp = makeTmp();
    const dir = path.join(tmp, 'h264');
    fs.mkdirSync(dir);
    const journal = new RecordingJournal(path.join(tmp, 'state'));
    const finished: FinishedRecording[] = [];
    const recorder = new ContinuousRecorder({
      dir, segmentMinutes, fps: 12, rotation: 90, clock: new ManualClock(), logger, journal,
      onFinished: (f) => finished.push(f), onStorage: () => {},
    });
    return { recorder, finished, dir, journal };
  }

  it('splits a stream spanning two quarter-hour marks at the first IDR after each, frame-exact', async () => {
    const { recorder, finished, dir } = make(15);
    const units = testcardUnits();
    const sps = new AnnexBParser();
    sps.push(units[0]!.data, 0, 0);
    // 281 frames, 6 s of wall time each (a test clock in seconds): 12:04:00 … 12:32:00, an IDR every 72 s.
    // The stream starts 5 frames before an IDR; those cannot start a file and are skipped.
    const fed = units.slice(7).map((u, i) => ({ ...u, wallTime: local(12, 4) + i * 6000 }));
    for (const unit of fed) recorder.push(unit, sps.sps);
    await recorder.close();

    const firstIdr = fed.findIndex((u) => u.keyframe);
    expect(firstIdr).toBe(5);
    const split1 = fed.findIndex((u) => u.keyframe && u.wallTime >= local(12, 15));
    const split2 = fed.findIndex((u) => u.keyframe && u.wallTime >= local(12, 30));
    expect(finished.map((f) => path.basename(f.path))).toEqual([
      `20260314-${fmt(fed[firstIdr]!.wallTime)}.h264`, `20260314-${fmt(fed[split1]!.wallTime)}.h264`, `20260314-${fmt(fed[split2]!.wallTime)}.h264`,
    ]);
    expect(finished.map((f) => f.frames)).toEqual([split1 - firstIdr, split2 - split1, fed.length - split2]);
    // The files concatenated are exactly the stream from its first IDR.
    const joined = Buffer.concat(finished.map((f) => fs.readFileSync(f.path)));
    expect(joined.equals(Buffer.concat(fed.slice(firstIdr).map((u) => u.data)))).toBe(true);
    for (const f of finished) {
      const bytes = fs.readFileSync(f.path);
      expect([bytes[4]! & 0x1f]).toEqual([7]); // SPS first, then PPS and the IDR
      expect(probe(f.path).frames).toBe(f.frames);
      expect(decodeErrors(f.path)).toBe('');
      expect(f).toMatchObject({ fps: 12, rotation: 90, width: 640, height: 480 });
    }
    expect(finished[1]!.start).toBe(fed[split1]!.wallTime);
    expect(finished[0]!.end).toBe(fed[split1 - 1]!.wallTime);
    expect(fs.readdirSync(dir).sort()).toEqual(finished.map((f) => path.basename(f.path)).sort());
  });

  it('splits on a wall clock that jumps back (NTP after boot) and never overwrites a file', async () => {
    const { recorder, finished } = make(15);
    const units = testcardUnits().slice(0, 48);
    const times = units.map((_, i) => (i < 24 ? local(9, 0) + i * 100 : local(9, 0) - 3_600_000 + i * 100));
    units.forEach((u, i) => recorder.push({ ...u, wallTime: times[i]! }, undefined));
    await recorder.close();
    expect(finished.map((f) => path.basename(f.path))).toEqual(['20260314-0900.h264', '20260314-0800.h264']);

    // A second recorder starting within the same minute must not overwrite the first file.
    const again = new ContinuousRecorder({
      dir: path.dirname(finished[0]!.path), segmentMinutes: 15, fps: 12, rotation: 0, clock: new ManualClock(), logger,
      journal: new RecordingJournal(path.join(tmp!, 'state2')), onFinished: (f) => finished.push(f), onStorage: () => {},
    });
    units.slice(0, 12).forEach((u, i) => again.push({ ...u, wallTime: local(9, 0) + i * 100 }, undefined));
    await again.close();
    expect(path.basename(finished[2]!.path)).toBe('20260314-0900-2.h264');
    expect(fs.statSync(finished[0]!.path).size).toBe(Buffer.concat(units.slice(0, 24).map((u) => u.data)).length);
  });

  it('keeps a journal entry while a file is open, and removes it once the file is finished', async () => {
    const { recorder, journal } = make(15);
    const units = testcardUnits().slice(0, 13);
    units.forEach((u, i) => recorder.push({ ...u, wallTime: local(10, 0) + i * 83 }, undefined));
    await until(() => journal.leftovers().length > 0, 'the journal entry');
    expect(journal.leftovers().map((l) => path.basename(l.path))).toEqual(['20260314-1000.h264']);
    await recorder.close();
    expect(journal.leftovers()).toEqual([]);
  });
});

function fmt(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}${String(d.getMinutes()).padStart(2, '0')}`;
}
