// postproc end to end against replaced recordings: an MP4 is never replaced by one made from another file, and --accept-dir refuses files outside pancake's folders.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TESTCARD_PATH } from '../../src/common/paths.js';
import { makeTmp, probe, removeTmp } from '../helpers/env.js';
import { EventClient } from './event-client.js';
import { PostprocProcess } from './postproc-process.js';

/** The whole test card: 288 frames, 24 s at 12 fps (the 288-frame MP4 of the issue). */
const CARD_FRAMES = 288;
const SHORT_FRAMES = 24;
/** Converting the whole card on a loaded machine: generous. */
const CONVERT_MS = 60_000;

/** The first SHORT_FRAMES frames of the test card: the shorter file of the same name. */
let shortBytes: Buffer;

beforeAll(() => {
  const dir = makeTmp('postproc-accept-fixture-');
  try {
    const out = path.join(dir, 'short.h264');
    const r = spawnSync('ffmpeg', ['-v', 'error', '-framerate', '12', '-i', TESTCARD_PATH, '-c', 'copy', '-frames:v', String(SHORT_FRAMES), '-f', 'h264', out]);
    if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr.toString()}`);
    shortBytes = fs.readFileSync(out);
  } finally {
    removeTmp(dir);
  }
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('postproc never replaces a recording', () => {
  let tmp: string;
  /** pancake's folder. */
  let h264Dir: string;
  /** Any other folder a local user can write. */
  let otherDir: string;
  let mp4Dir: string;
  let name: string;
  const running: PostprocProcess[] = [];
  const clients: EventClient[] = [];

  beforeEach(() => {
    tmp = fs.realpathSync(makeTmp('postproc-accept-e2e-'));
    h264Dir = path.join(tmp, 'h264');
    otherDir = path.join(tmp, 'other');
    mp4Dir = path.join(tmp, 'mp4');
    for (const d of [h264Dir, otherDir, mp4Dir]) fs.mkdirSync(d);
    name = `postproc-accept-e2e-${process.pid}-${Math.random().toString(36).slice(2)}`;
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const p of running.splice(0)) await p.stop('SIGKILL');
    removeTmp(tmp);
  });

  function start(extra: string[] = []): PostprocProcess {
    const p = PostprocProcess.start([name, '--convert', mp4Dir, '--converter', 'builtin', ...extra]);
    running.push(p);
    return p;
  }

  async function connect(): Promise<EventClient> {
    const c = await EventClient.connect(name);
    clients.push(c);
    return c;
  }

  function write(dir: string, file: string, bytes: Buffer): string {
    const full = path.join(dir, file);
    fs.writeFileSync(full, bytes);
    return full;
  }

  function fileEvent(id: string, h264: string): object {
    return { id, h264, fps: 12, width: 640, height: 480, rotation: 0, start: '2026-01-01T12:00:00.000Z', end: '2026-01-01T12:00:24.000Z' };
  }

  it('the reproduction: a shorter file of the same name from another folder leaves the 288-frame MP4 as it is, with one warning naming both files', async () => {
    const p = start();
    const client = await connect();
    const real = write(h264Dir, '20260101-1200.h264', fs.readFileSync(TESTCARD_PATH));
    const mp4 = path.join(mp4Dir, '20260101-1200.mp4');
    await client.send(fileEvent('a1', real));
    await client.waitForAck('a1');
    await p.waitFor(`converted ${real}`, CONVERT_MS);
    expect(probe(mp4).frames).toBe(CARD_FRAMES);

    const fake = write(otherDir, '20260101-1200.h264', shortBytes);
    await client.send(fileEvent('b1', fake));
    await client.waitForAck('b1');
    // Either outcome ends the wait: the refusal, or (as before the fix) the conversion that replaced the MP4.
    await p.waitFor(new RegExp(`rejected event b1|converted ${escape(fake)}`), CONVERT_MS);
    expect(probe(mp4).frames).toBe(CARD_FRAMES);
    expect(p.output).toContain(`rejected event b1: h264 ${JSON.stringify(fake)}: not converted: it would replace ${mp4}, which was made from another recording, ${real}; the MP4 is left as it is`);
    expect(p.count('rejected event b1')).toBe(1);

    // After a restart the record still holds; the refused event was acknowledged, so pancake would not resend it.
    expect(await p.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const again = start();
    const second = await connect();
    await second.send(fileEvent('b2', fake));
    await second.waitForAck('b2');
    await again.waitFor(new RegExp(`rejected event b2|converted ${escape(fake)}`), CONVERT_MS);
    expect(again.output).toContain(`rejected event b2: h264 ${JSON.stringify(fake)}: not converted: it would replace ${mp4}, which was made from another recording, ${real}`);
    expect(probe(mp4).frames).toBe(CARD_FRAMES);
    expect(client.acks).toEqual(['a1', 'b1']);
  });

  it('an MP4 postproc has no record of (by hand, an older version) is not replaced', async () => {
    const p = start();
    const client = await connect();
    const mp4 = path.join(mp4Dir, '20260101-1215.mp4');
    fs.writeFileSync(mp4, 'an MP4 made by hand');
    const h264 = write(h264Dir, '20260101-1215.h264', shortBytes);
    await client.send(fileEvent('h1', h264));
    await client.waitForAck('h1');
    await p.waitFor(new RegExp(`rejected event h1|converted ${escape(h264)}`), CONVERT_MS);
    expect(fs.readFileSync(mp4, 'utf8')).toBe('an MP4 made by hand');
    expect(p.output).toContain(`rejected event h1: h264 ${JSON.stringify(h264)}: not converted: it would replace ${mp4}, which postproc has no record of making`);
  });

  it('the same recording announced again (a new id, and after a restart) is converted again, without a warning', async () => {
    const p = start();
    const client = await connect();
    const h264 = write(h264Dir, '20260101-1230.h264', shortBytes);
    const mp4 = path.join(mp4Dir, '20260101-1230.mp4');
    await client.send(fileEvent('s1', h264));
    await client.waitForAck('s1');
    await p.waitFor(`converted ${h264}`, CONVERT_MS);
    await client.send(fileEvent('s2', h264));
    await client.waitForAck('s2');
    await p.waitFor(new RegExp(`(converted ${escape(h264)}[^]*){2}|rejected event s2`), CONVERT_MS);
    expect(p.count(`converted ${h264}`)).toBe(2);
    await p.stop('SIGKILL');

    const again = start();
    const second = await connect();
    await second.send(fileEvent('s3', h264));
    await second.waitForAck('s3');
    await again.waitFor(new RegExp(`converted ${escape(h264)}|rejected event s3`), CONVERT_MS);
    expect(again.count(`converted ${h264}`)).toBe(1);
    expect(p.output + again.output).not.toContain('rejected');
    expect(probe(mp4).frames).toBe(SHORT_FRAMES);
  });

  it('--accept-dir: converts a file directly in it; refuses one elsewhere, a link, a linked folder or ".." out of it, and a subfolder — each acknowledged, logged once, never converted', async () => {
    // Given through a symbolic link: postproc keeps its real path.
    fs.symlinkSync(h264Dir, path.join(tmp, 'h264-link'));
    const p = start(['--accept-dir', path.join(tmp, 'h264-link')]);
    await p.waitFor(`recordings only from ${h264Dir}`);
    const client = await connect();
    const inside = write(h264Dir, '20260101-1300.h264', shortBytes);
    const outside = write(otherDir, '20260101-1315.h264', shortBytes);
    const linkTarget = write(otherDir, '20260101-1330.h264', shortBytes);
    fs.symlinkSync(linkTarget, path.join(h264Dir, '20260101-1330.h264'));
    fs.symlinkSync(otherDir, path.join(h264Dir, 'sub'));
    const viaLinkedDir = write(otherDir, '20260101-1345.h264', shortBytes);
    fs.mkdirSync(path.join(h264Dir, 'nested'));
    const nested = write(path.join(h264Dir, 'nested'), '20260101-1400.h264', shortBytes);
    const refused: [string, string, string][] = [
      ['outside', outside, ''],
      ['link', path.join(h264Dir, '20260101-1330.h264'), `: its real path is ${linkTarget}`],
      ['linkdir', path.join(h264Dir, 'sub', '20260101-1345.h264'), `: its real path is ${viaLinkedDir}`],
      ['dotdot', `${h264Dir}/../other/20260101-1315.h264`, `: its real path is ${outside}`],
      ['nested', nested, ''],
    ];
    for (const [id, h264] of refused) await client.send(fileEvent(id, h264));
    await client.send(fileEvent('inside', inside));
    await client.waitForAck('inside');
    await p.waitFor(`converted ${inside}`, CONVERT_MS);
    expect(client.acks).toEqual([...refused.map(([id]) => id), 'inside']);
    for (const [id, h264, real] of refused) {
      expect(p.output).toContain(`rejected event ${id}: h264 ${JSON.stringify(h264)}: not directly in a folder given with --accept-dir (${h264Dir})${real}\n`);
      expect(p.count(`rejected event ${id}:`)).toBe(1);
    }
    expect(fs.readdirSync(mp4Dir).sort()).toEqual(['.postproc', '20260101-1300.mp4']);
    expect(probe(path.join(mp4Dir, '20260101-1300.mp4')).frames).toBe(SHORT_FRAMES);
  });
});
