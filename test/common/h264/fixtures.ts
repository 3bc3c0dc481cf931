// The H.264 byte fixtures and ffprobe's view of them (packets = access units, frames in output order).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT, TESTCARD_PATH } from '../../../src/common/paths.js';

export const FIXTURE_DIR = path.join(PROJECT_ROOT, 'test', 'fixtures', 'h264');

/** A fixture and the facts its ffmpeg command promises (see test/fixtures/h264/README.md). */
export interface Fixture {
  name: string;
  file: string;
  width: number;
  height: number;
  profile: string;
  codec: string;
  frames: number;
}

function fixture(name: string, facts: Omit<Fixture, 'name' | 'file'>): Fixture {
  return { name, file: path.join(FIXTURE_DIR, name), ...facts };
}

export const FIXTURES: Fixture[] = [
  fixture('baseline-160x120.h264', { width: 160, height: 120, profile: 'Constrained Baseline', codec: 'avc1.42C00A', frames: 30 }),
  fixture('high-bframes-160x120.h264', { width: 160, height: 120, profile: 'High', codec: 'avc1.64000A', frames: 30 }),
  fixture('main-162x122.h264', { width: 162, height: 122, profile: 'Main', codec: 'avc1.4D400A', frames: 20 }),
  fixture('slices4-160x120.h264', { width: 160, height: 120, profile: 'Constrained Baseline', codec: 'avc1.42C00A', frames: 20 }),
  fixture('one-frame-160x120.h264', { width: 160, height: 120, profile: 'Constrained Baseline', codec: 'avc1.42C00A', frames: 1 }),
  fixture('mbaff-160x120.h264', { width: 160, height: 120, profile: 'High', codec: 'avc1.640015', frames: 20 }),
  fixture('high422-10bit-cqm-160x120.h264', { width: 160, height: 120, profile: 'High 4:2:2', codec: 'avc1.7A000A', frames: 20 }),
];

export const TESTCARD: Fixture = {
  name: 'testcard.h264', file: TESTCARD_PATH, width: 640, height: 480, profile: 'Constrained Baseline', codec: 'avc1.42C01E', frames: 288,
};

export const ALL_STREAMS: Fixture[] = [...FIXTURES, TESTCARD];

export function byName(name: string): Fixture {
  const f = ALL_STREAMS.find((x) => x.name === name);
  if (!f) throw new Error(`no fixture ${name}`);
  return f;
}

function ffprobeCsv(file: string, entries: string): string[][] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', entries, '-of', 'csv=p=0', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffprobe failed on ${file}: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => l.split(','));
}

/** ffmpeg's h264 parser splits a raw stream into packets: one per access unit, in decoding order. */
export function ffprobePackets(file: string): { pos: number; size: number; key: boolean }[] {
  return ffprobeCsv(file, 'packet=pos,size,flags').map(([size, pos, flags]) => ({ pos: Number(pos), size: Number(size), key: (flags ?? '').startsWith('K') }));
}

/** Byte offsets of the packets of the decoded frames, in output (display) order. */
export function ffprobeDisplayOrder(file: string): number[] {
  // JSON, not CSV: frames with side data (x264's SEI) print extra CSV lines.
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'frame=pkt_pos', '-of', 'json', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffprobe failed on ${file}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { frames: { pkt_pos: string }[] }).frames.map((f) => Number(f.pkt_pos));
}

/** A small deterministic PRNG (mulberry32), so a failing chunking can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
