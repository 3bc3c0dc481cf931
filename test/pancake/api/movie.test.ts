// Recordings served as MP4 from frame tables: byte for byte what postproc's converter makes of the same file, any range of it, and clips across files checked by ffprobe.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TimingRun } from '../../../src/common/events.js';
import { AnnexBParser } from '../../../src/common/h264/annexb.js';
import { iterateNalUnits, NalType, nalUnitType } from '../../../src/common/h264/nal.js';
import { createLogger } from '../../../src/common/log.js';
import { TESTCARD_PATH } from '../../../src/common/paths.js';
import { planClip, clipBytes, type ClipSource } from '../../../src/pancake/recordings/clip.js';
import { Fragmenter } from '../../../src/common/mp4/fragmenter.js';
import { FrameStore } from '../../../src/pancake/recordings/frame-store.js';
import { FrameTable } from '../../../src/pancake/recordings/frame-table.js';
import { movieBytes, planMovie, type RecordingTiming } from '../../../src/pancake/recordings/movie.js';
import { convertBuiltin } from '../../../src/postproc/convert/builtin.js';
import { decodeErrors, makeTmp, removeTmp } from '../../helpers/env.js';
import { FIXTURE_DIR } from '../../common/h264/fixtures.js';
import { streamFacts } from '../../common/mp4/mp4-facts.js';

const logger = createLogger({ program: 'test', level: 'error' });
let tmp: string;
beforeEach(() => {
  tmp = makeTmp('movie-test-');
});
afterEach(() => removeTmp(tmp));

async function collect(gen: AsyncGenerator<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of gen) parts.push(Buffer.from(b));
  return Buffer.concat(parts);
}

/** The table as the recorder builds it, unit by unit as written. */
function recordedTable(file: string): FrameTable {
  const parser = new AnnexBParser();
  const table = new FrameTable();
  for (const au of [...parser.push(fs.readFileSync(file), 0, 0), ...parser.end()]) table.add(au);
  return table;
}

async function scannedTable(file: string): Promise<FrameTable> {
  const store = new FrameStore({ dir: path.join(tmp, 'frames'), logger });
  const table = await store.get({ path: file, name: path.basename(file), bytes: fs.statSync(file).size, live: false });
  expect(table).toBeDefined();
  return table!;
}

const CASES: { file: string; timing: RecordingTiming }[] = [
  { file: 'baseline-160x120.h264', timing: { fps: 10, rotation: 0 } },
  { file: 'high-bframes-160x120.h264', timing: { fps: 10, rotation: 90 } },
  { file: 'mbaff-160x120.h264', timing: { fps: 10, rotation: 0 } },
  { file: 'opengop-noidr-160x120.h264', timing: { fps: 10, rotation: 270 } },
  { file: 'high-bframes-160x120.h264', timing: { fps: 12, rotation: 0, runs: [[10, 100], [10, 66.667], [10, 142.857]] } },
];

describe('a recording served as MP4', () => {
  for (const { file, timing } of CASES) {
    it(`is the converter's MP4 of ${file} (${timing.runs ? 'variable timing' : `${timing.fps} fps`}, rotation ${timing.rotation}), in any range`, async () => {
      const input = path.join(FIXTURE_DIR, file);
      const expected = path.join(tmp, 'converted.mp4');
      await convertBuiltin(input, expected, { fps: timing.fps, rotation: timing.rotation, ...(timing.runs ? { timing: timing.runs as TimingRun[] } : {}) });
      const want = fs.readFileSync(expected);
      for (const table of [recordedTable(input), await scannedTable(input)]) {
        const movie = planMovie(table, table.units, timing)!;
        expect(movie.size).toBe(want.length);
        expect((await collect(movieBytes(movie, input, 0, movie.size))).equals(want)).toBe(true);
        // Ranges cut anywhere: inside the head, across it, inside samples, the last byte.
        for (const [a, b] of [[0, 7], [5, movie.head.length + 9], [movie.head.length + 3, movie.size - 11], [movie.size - 1, movie.size]] as const) {
          expect((await collect(movieBytes(movie, input, a, b))).equals(want.subarray(a, b))).toBe(true);
        }
      }
    });
  }

  it('keeps its table through a save and a load, and a live file plays as far as it is written', async () => {
    const input = path.join(FIXTURE_DIR, 'baseline-160x120.h264');
    const table = recordedTable(input);
    const parsed = FrameTable.parse(table.serialize(fs.statSync(input).size))!;
    expect(parsed.coveredBytes).toBe(fs.statSync(input).size);
    expect(parsed.table.units).toBe(table.units);
    const a = planMovie(table, table.units, { fps: 10, rotation: 0 })!;
    const b = planMovie(parsed.table, parsed.table.units, { fps: 10, rotation: 0 })!;
    expect(b.head.equals(a.head)).toBe(true);
    expect(FrameTable.parse(table.serialize(5).subarray(0, 40))).toBeUndefined();

    // A "live" file: only its first 17 units are on disk.
    const live = path.join(tmp, 'live.h264');
    fs.writeFileSync(live, fs.readFileSync(input).subarray(0, table.offset(17)));
    const units = table.unitsWithin(fs.statSync(live).size);
    expect(units).toBe(17);
    const movie = planMovie(table, units, { fps: 10, rotation: 0 })!;
    const out = path.join(tmp, 'live.mp4');
    fs.writeFileSync(out, await collect(movieBytes(movie, live, 0, movie.size)));
    expect(streamFacts(out)).toMatchObject({ frames: 17, duration: 1.7 });
    expect(decodeErrors(out)).toBe('');
  });
});

describe('a clip', () => {
  /** Two recordings of the test card (12 fps, a keyframe every 12 frames), the second starting 60 s after the first. */
  async function twoFiles(): Promise<ClipSource[]> {
    const a = path.join(tmp, '20251115-1200.h264');
    const b = path.join(tmp, '20251115-1201.h264');
    fs.copyFileSync(TESTCARD_PATH, a);
    fs.copyFileSync(TESTCARD_PATH, b);
    const t0 = Date.UTC(2025, 10, 15, 12, 0, 0);
    const sources: ClipSource[] = [];
    for (const [file, start] of [[a, t0], [b, t0 + 60_000]] as const) {
      const table = await scannedTable(file);
      sources.push({ path: file, table, units: table.units, start, timing: { fps: 12, rotation: 0, runs: [[table.units, 83.333]] } });
    }
    return sources;
  }

  it('starts at the keyframe at or before its start, spans files, and ffprobe counts its frames and time exactly', async () => {
    const sources = await twoFiles();
    const t0 = sources[0]!.start;
    // 12:00:20.5 → the keyframe at 20 s (frame 240); to 12:01:05 → 60 frames of the second file.
    const plan = planClip(sources, t0 + 20_500, t0 + 65_000)!;
    expect(plan.start).toBe(t0 + 20_000);
    expect(plan.frames).toBe(48 + 60);
    expect(plan.parts.map((p) => [p.from, p.to])).toEqual([[240, 288], [0, 60]]);
    const out = path.join(tmp, 'clip.mp4');
    fs.writeFileSync(out, await collect(clipBytes(plan)));
    const facts = streamFacts(out);
    expect(facts.frames).toBe(108);
    expect(facts.duration).toBeCloseTo(108 / 12, 6);
    expect(decodeErrors(out)).toBe('');
  });

  for (const file of ['high-bframes-160x120.h264', 'mbaff-160x120.h264', 'opengop-noidr-160x120.h264']) {
    it(`is what the shared Fragmenter makes of the same units, cut at keyframes (${file})`, async () => {
      const input = path.join(FIXTURE_DIR, file);
      const table = await scannedTable(input);
      const plan = planClip([{ path: input, table, units: table.units, start: 0, timing: { fps: 10, rotation: 90 } }], 0, 60_000)!;
      const ours = await collect(clipBytes(plan));
      const fragmenter = new Fragmenter({ rotation: 90, timescale: plan.timescale });
      const fragments: Buffer[] = [];
      const parser = new AnnexBParser();
      for (const au of [...parser.push(fs.readFileSync(input), 0, 0), ...parser.end()]) {
        if (au.keyframe) {
          const f = fragmenter.fragment();
          if (f) fragments.push(f);
        }
        fragmenter.add(au, 100);
      }
      fragments.push(fragmenter.fragment()!);
      expect(ours.equals(Buffer.concat([fragmenter.initSegment!, ...fragments]))).toBe(true);
      const out = path.join(tmp, 'clip.mp4');
      fs.writeFileSync(out, ours);
      // An open GOP's leading pictures refer to pictures before the file: ffprobe's count and a clean decode are checked on closed GOPs.
      expect(streamFacts(out)).toMatchObject({ rotation: -90, ...(file.startsWith('opengop') ? {} : { frames: plan.frames }) });
      if (!file.startsWith('opengop')) expect(decodeErrors(out)).toBe('');
    });
  }

  it('begins with the first keyframe when the range starts before the recording, and is nothing in a gap', async () => {
    const sources = await twoFiles();
    const t0 = sources[0]!.start;
    const plan = planClip(sources, t0 - 5000, t0 + 1000)!;
    expect([plan.start, plan.frames]).toEqual([t0, 12]);
    // 12:00:30 – 12:00:50 lies between the files (the first ends at 24 s).
    expect(planClip(sources, t0 + 30_000, t0 + 50_000)).toBeUndefined();
  });

  it('gives a keyframe without parameter sets the file\'s first ones, so a clip from the middle of such a file plays', async () => {
    // An encoder that sends SPS/PPS only before the first IDR: the fixture with every later SPS and PPS taken out.
    const input = path.join(tmp, 'headers-once.h264');
    const parser = new AnnexBParser();
    const units = [...parser.push(fs.readFileSync(path.join(FIXTURE_DIR, 'baseline-160x120.h264')), 0, 0), ...parser.end()];
    const start = Buffer.from([0, 0, 0, 1]);
    fs.writeFileSync(input, Buffer.concat(units.flatMap((au, i) => [...iterateNalUnits(au.data)]
      .filter((nal) => i === 0 || (nalUnitType(nal[0]!) !== NalType.SPS && nalUnitType(nal[0]!) !== NalType.PPS))
      .flatMap((nal) => [start, nal]))));
    const table = await scannedTable(input);
    expect(table.hasSps(10)).toBe(false);
    const plan = planClip([{ path: input, table, units: table.units, start: 0, timing: { fps: 10, rotation: 0 } }], 1000, 2500)!;
    expect(plan.parts[0]!.from).toBe(10);
    const out = path.join(tmp, 'clip.mp4');
    fs.writeFileSync(out, await collect(clipBytes(plan)));
    expect(streamFacts(out)).toMatchObject({ frames: 15 });
    expect(decodeErrors(out)).toBe('');
  });
});
