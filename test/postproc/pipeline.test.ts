// Pipeline: events become durable jobs; conversions retried once; Telegram texts as the original; hostile paths refused; restarts resume.
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/common/clock.js';
import type { ReceivedEvent } from '../../src/common/events.js';
import { Journal } from '../../src/postproc/journal.js';
import { Mp4Sources } from '../../src/postproc/mp4-sources.js';
import { cameraText, checkRecording, detectionText, healthText, mp4PathFor, Pipeline, prepareCameraFolder, type ConvertFunction, type Job } from '../../src/postproc/pipeline.js';
import { TelegramNotifier } from '../../src/postproc/telegram.js';
import { FakeTelegram } from '../helpers/fake-telegram.js';
import { makeTmp, removeTmp } from '../helpers/env.js';
import { until } from '../helpers/until.js';

function memoryLogger(): { logger: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _e, done) { lines.push(chunk.toString()); done(); } });
  return { logger: winston.createLogger({ format: winston.format.printf(({ level, message }) => `${level}: ${String(message)}`), transports: [new winston.transports.Stream({ stream })] }), lines };
}

describe('pure helpers', () => {
  it.each([
    [[true], 'Detection changed to True'],
    [[false], 'Detection changed to False'],
    [[true, 'MP4 conversion failed.'], 'Detection changed to True. MP4 conversion failed.'],
  ] as const)('detectionText(%j)', (args, text) => {
    expect(detectionText(...(args as unknown as [boolean, ...string[]]))).toBe(text);
  });

  it.each([
    [{ kind: 'camera', camera: 'down', reason: 'rpicam-vid exited with code 1' }, 'Camera down: rpicam-vid exited with code 1'],
    [{ kind: 'camera', camera: 'down' }, 'Camera down'],
    [{ kind: 'camera', camera: 'up' }, 'Camera up again'],
    [{ kind: 'storage', storage: 'error', reason: 'ENOSPC: no space left on device', path: '/r/h264' }, 'Storage error: ENOSPC: no space left on device (/r/h264)'],
    [{ kind: 'storage', storage: 'ok' }, 'Storage OK again'],
    [{ kind: 'detection', detection: true }, 'Detection changed to True'],
    [{ kind: 'camera', name: 'front', camera: 'down', reason: 'rtsp: connection refused' }, 'front: Camera down: rtsp: connection refused'],
    [{ kind: 'camera', name: 'back', camera: 'up' }, 'back: Camera up again'],
    [{ kind: 'storage', name: 'front', storage: 'error', reason: 'ENOSPC' }, 'front: Storage error: ENOSPC'],
    [{ kind: 'storage', name: 'front', storage: 'ok' }, 'front: Storage OK again'],
    [{ kind: 'detection', name: 'garage-2', detection: false }, 'garage-2: Detection changed to False'],
  ] as [ReceivedEvent, string][])('healthText %j', (event, text) => {
    expect(healthText(event)).toBe(text);
  });

  it('names the MP4 after the recording, in the mp4 directory, or in the camera\'s folder there', () => {
    expect(mp4PathFor('/m', '/r/h264/20200624-0845.h264')).toBe('/m/20200624-0845.mp4');
    expect(mp4PathFor('/m', '/r/front/20200624-0845.h264', 'front')).toBe('/m/front/20200624-0845.mp4');
    expect(mp4PathFor('/m', '/r/back/20200624-0845.h264', 'back')).toBe('/m/back/20200624-0845.mp4');
  });

  it.each(['', '..', '.', '../x', 'a/b', '.postproc'])('never leaves the mp4 directory for a camera named %j', (camera) => {
    expect(() => mp4PathFor('/m', '/r/20200624-0845.h264', camera)).toThrow(/not a camera name/);
  });

  it('prefixes a named camera\'s messages', () => {
    expect(cameraText('front', 'Detection changed to True')).toBe('front: Detection changed to True');
    expect(cameraText(undefined, 'Detection changed to True')).toBe('Detection changed to True');
  });
});

describe('checkRecording', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.realpathSync(makeTmp('postproc-check-'));
    fs.writeFileSync(path.join(tmp, 'a.h264'), 'x');
    fs.writeFileSync(path.join(tmp, 'a.txt'), 'x');
    fs.mkdirSync(path.join(tmp, 'dir.h264'));
    fs.mkdirSync(path.join(tmp, 'sub'));
    fs.symlinkSync(path.join(tmp, 'a.h264'), path.join(tmp, 'link.h264'));
    fs.symlinkSync(tmp, path.join(tmp, 'linkdir'));
    fs.writeFileSync(path.join(tmp, '.h264'), 'x');
  });
  afterEach(() => removeTmp(tmp));

  it('accepts an absolute path of a regular .h264 file', async () => {
    expect(await checkRecording(path.join(tmp, 'a.h264'))).toHaveProperty('stat');
  });

  it.each([
    ['a relative path', () => 'a.h264', 'not an absolute path'],
    ['another extension', (t: string) => path.join(t, 'a.txt'), 'not named *.h264'],
    ['a bare ".h264"', (t: string) => path.join(t, '.h264'), 'not named *.h264'],
    ['a missing file', (t: string) => path.join(t, 'missing.h264'), 'cannot be read (ENOENT)'],
    ['a symbolic link', (t: string) => path.join(t, 'link.h264'), 'a symbolic link'],
    ['a directory', (t: string) => path.join(t, 'dir.h264'), 'a directory, not a regular file'],
    ['a path through a linked directory', (t: string) => path.join(t, 'linkdir', 'a.h264'), 'not its own real path'],
    ['a path with ..', (t: string) => `${t}/sub/../a.h264`, 'not its own real path'],
    ['a path with //', (t: string) => `${t}//a.h264`, 'not its own real path'],
    ['a NUL byte', (t: string) => `${t}/a\0.h264`, 'cannot be read'],
    ['a device', () => '/dev/null.h264', 'cannot be read (ENOENT)'],
  ])('refuses %s', async (_name, file, error) => {
    const r = await checkRecording(file(tmp));
    expect(r).toHaveProperty('error');
    expect((r as { error: string }).error).toContain(error);
  });
});

describe('Pipeline', () => {
  let tmp: string;
  let h264Dir: string;
  let mp4Dir: string;
  let fake: FakeTelegram;
  let log: ReturnType<typeof memoryLogger>;
  const closers: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    tmp = fs.realpathSync(makeTmp('postproc-pipeline-'));
    h264Dir = path.join(tmp, 'h264');
    mp4Dir = path.join(tmp, 'mp4');
    fs.mkdirSync(h264Dir);
    fs.mkdirSync(mp4Dir);
    fake = await FakeTelegram.start();
    log = memoryLogger();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await fake.close();
    removeTmp(tmp);
  });

  /**
   * A converter for tests where the real one does not matter: copies the bytes to a temporary file
   * and hands it to `place`, as convertFile does, or fails as told.
   */
  type Call = { input: string; output: string; fps: number; rotation: number; timing?: readonly (readonly [number, number])[] };
  function copyingConverter(failures = 0): { convert: ConvertFunction; calls: Call[] } {
    const calls: Call[] = [];
    let left = failures;
    const convert: ConvertFunction = async (input, output, { fps, rotation, timing, place }) => {
      calls.push({ input, output, fps, rotation, ...(timing ? { timing } : {}) });
      if (left-- > 0) throw Object.assign(new Error('converter exited with code 1'), { output: 'line one\nInvalid data found when processing input\n' });
      const tmp = path.join(path.dirname(output), `.${path.basename(output)}.tmp`);
      fs.copyFileSync(input, tmp);
      try {
        await place(tmp);
      } finally {
        fs.rmSync(tmp, { force: true });
      }
    };
    return { convert, calls };
  }

  async function build(options: {
    convert: ConvertFunction; fps?: number; telegram?: boolean; uploads?: string[]; enqueued?: [string, string | undefined][]; acceptDirs?: string[];
  }): Promise<{ pipeline: Pipeline; journal: Journal<Job>; sources: Mp4Sources }> {
    fs.mkdirSync(path.join(tmp, 'state'), { recursive: true });
    const journal = await Journal.open<Job>({ dir: path.join(tmp, 'state'), logger: log.logger });
    const sources = await Mp4Sources.open({ dir: path.join(tmp, 'state'), logger: log.logger });
    const notifier = options.telegram === false ? undefined : new TelegramNotifier({
      destinations: [{ token: '1:T', chatId: '42' }], apiRoot: fake.apiRoot, queueSize: 8, tmpDir: path.join(tmp, 'state', 'tmp'), clock: systemClock, logger: log.logger,
    });
    notifier?.start();
    const queued = options.uploads;
    const enqueued = options.enqueued;
    const pipeline = new Pipeline({
      journal, sources, mp4Dir, convert: options.convert, clock: systemClock, logger: log.logger,
      ...(options.fps !== undefined ? { fps: options.fps } : {}),
      ...(options.acceptDirs ? { acceptDirs: options.acceptDirs } : {}),
      ...(notifier ? { notifier } : {}),
      ...(queued || enqueued ? { uploads: { enqueue: async (p: string, camera?: string) => {
        queued?.push(p);
        enqueued?.push([p, camera]);
      } } } : {}),
    });
    closers.push(async () => {
      await pipeline.close();
      await notifier?.close();
      await sources.close();
      await journal.close();
    });
    pipeline.start();
    return { pipeline, journal, sources };
  }

  function recording(name: string, bytes = `h264 of ${name}`): string {
    const file = path.join(h264Dir, name);
    fs.writeFileSync(file, bytes);
    return file;
  }

  it('converts a detection clip, queues the upload, sends the video with the original caption, and finishes the job', async () => {
    const h264 = recording('20260101-120000.h264');
    const { convert, calls } = copyingConverter();
    const uploads: string[] = [];
    const { pipeline, journal } = await build({ convert, uploads });
    expect(await pipeline.receive({ kind: 'file', id: 'e1', h264, detection: true, fps: 12, rotation: 90 })).toBe('e1');
    const [call] = await fake.waitForDelivered(1);
    expect(call!.method).toBe('sendVideo');
    expect(call!.fields.caption).toBe('Detection changed to True');
    expect(call!.files.video!.data.toString()).toBe('h264 of 20260101-120000.h264');
    await until(() => journal.unfinished().length === 0, 'the job to finish');
    expect(calls).toEqual([{ input: h264, output: expect.stringContaining('20260101-120000.mp4'), fps: 12, rotation: 90 }]);
    expect(uploads).toEqual([path.join(mp4Dir, '20260101-120000.mp4')]);
    expect(journal.has('e1')).toBe(true);
  });

  it('retries a failed conversion once, logging the tool output', async () => {
    const h264 = recording('20260101-1200.h264');
    const { convert, calls } = copyingConverter(1);
    const { pipeline, journal } = await build({ convert });
    await pipeline.receive({ kind: 'file', id: 'e1', h264, fps: 25 });
    await until(() => journal.unfinished().length === 0, 'the job to finish');
    expect(calls).toHaveLength(2);
    expect(fs.existsSync(path.join(mp4Dir, '20260101-1200.mp4'))).toBe(true);
    const text = log.lines.join('');
    expect(text).toContain('failed (attempt 1 of 2');
    expect(text).toContain('Invalid data found when processing input');
    expect(fake.calls).toEqual([]); // a continuous recording converted fine is not notified
  });

  it('after two failures keeps the .h264 and tells Telegram as the original did', async () => {
    const clip = recording('20260101-120000.h264');
    const continuous = recording('20260101-1215.h264');
    const { convert, calls } = copyingConverter(4);
    const { pipeline, journal } = await build({ convert });
    await pipeline.receive({ kind: 'file', id: 'clip', h264: clip, detection: false, fps: 12 });
    await pipeline.receive({ kind: 'file', id: 'cont', h264: continuous, fps: 12 });
    const texts = (await fake.waitForDelivered(2)).map((c) => [c.method, c.fields.text]);
    expect(texts).toEqual([
      ['sendMessage', 'Detection changed to False. MP4 conversion failed.'],
      ['sendMessage', 'MP4 conversion failed: 20260101-1215.h264'],
    ]);
    await until(() => journal.unfinished().length === 0, 'the jobs to finish');
    expect(calls).toHaveLength(4);
    expect(fs.existsSync(clip) && fs.existsSync(continuous)).toBe(true);
    expect(log.lines.join('')).toContain(`conversion of ${clip} failed; the .h264 is kept`);
  });

  it('does a repeated id once, and a file event without an id once per file', async () => {
    const a = recording('20260101-120000.h264');
    const b = recording('20260101-120500.h264');
    const { convert, calls } = copyingConverter();
    const { pipeline, journal } = await build({ convert, telegram: false });
    expect(await pipeline.receive({ kind: 'file', id: 'same', h264: a, fps: 12 })).toBe('same');
    expect(await pipeline.receive({ kind: 'file', id: 'same', h264: a, fps: 12 })).toBe('same');
    expect(await pipeline.receive({ kind: 'file', h264: b })).toBeUndefined(); // no fps anywhere: refused
    await until(() => journal.unfinished().length === 0, 'the job to finish');
    expect(calls.map((c) => c.input)).toEqual([a]);
    expect(log.lines.join('')).toContain('id same was received before; acknowledged again, nothing done twice');
    expect(log.lines.join('')).toContain('no fps in the event; give one with --convert mp4_dir fps');
  });

  it("handles the original's events (no id, no fps) with --convert's fps, each file once", async () => {
    const a = recording('20260101-120000.h264');
    const { convert, calls } = copyingConverter();
    const { pipeline, journal } = await build({ convert, fps: 30 });
    expect(await pipeline.receive({ kind: 'file', h264: a, detection: true })).toBeUndefined();
    expect(await pipeline.receive({ kind: 'file', h264: a, detection: true })).toBeUndefined();
    expect(await pipeline.receive({ kind: 'detection', detection: false })).toBeUndefined();
    await fake.waitForDelivered(2);
    await until(() => journal.unfinished().length === 0, 'the jobs to finish');
    expect(calls).toEqual([{ input: a, output: path.join(mp4Dir, '20260101-120000.mp4'), fps: 30, rotation: 0 }]);
    expect(fake.delivered.map((c) => [c.method, c.fields.caption ?? c.fields.text]).sort()).toEqual([
      ['sendMessage', 'Detection changed to False'], ['sendVideo', 'Detection changed to True'],
    ]);
  });

  it('refuses hostile paths (and acknowledges them: resending would not help), converting nothing', async () => {
    const real = recording('20260101-120000.h264');
    fs.symlinkSync(real, path.join(h264Dir, 'link.h264'));
    fs.mkdirSync(path.join(h264Dir, 'dir.h264'));
    fs.writeFileSync(path.join(h264Dir, 'notes.txt'), 'x');
    const { convert, calls } = copyingConverter();
    const { pipeline, journal } = await build({ convert, telegram: false });
    const hostile = ['20260101-120000.h264', path.join(h264Dir, 'link.h264'), path.join(h264Dir, 'dir.h264'), path.join(h264Dir, 'notes.txt'), '/etc/passwd', `${h264Dir}/../h264/20260101-120000.h264`];
    for (const [i, h264] of hostile.entries()) expect(await pipeline.receive({ kind: 'file', id: `bad${i}`, h264, fps: 12 })).toBe(`bad${i}`);
    expect(calls).toEqual([]);
    expect(journal.unfinished()).toEqual([]);
    expect(fs.readdirSync(mp4Dir)).toEqual([]);
    expect(log.lines.filter((l) => l.includes('rejected event bad'))).toHaveLength(hostile.length);
  });

  it('sends camera and storage events as messages', async () => {
    const { pipeline } = await build({ convert: copyingConverter().convert });
    await pipeline.receive({ kind: 'camera', id: 'c1', camera: 'down', reason: 'rpicam-vid exited with code 255' });
    await pipeline.receive({ kind: 'storage', id: 's1', storage: 'error', reason: 'ENOSPC', path: '/r/h264/20260101-1200.h264' });
    await pipeline.receive({ kind: 'camera', id: 'c2', camera: 'up' });
    const texts = (await fake.waitForDelivered(3)).map((c) => c.fields.text);
    expect(texts).toEqual(['Camera down: rpicam-vid exited with code 255', 'Storage error: ENOSPC (/r/h264/20260101-1200.h264)', 'Camera up again']);
  });

  it('resumes after a restart at the step it had reached, and notifies once', async () => {
    const h264 = recording('20260101-120000.h264');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const blocked: ConvertFunction = (_i, _o, { signal }) => new Promise((_, reject) => {
      signal.addEventListener('abort', () => reject(new Error('aborted')));
      void gate;
    });
    const first = await build({ convert: blocked });
    await first.pipeline.receive({ kind: 'file', id: 'e1', h264, detection: true, fps: 12 });
    await new Promise((r) => setTimeout(r, 50));
    for (const close of closers.splice(0)) await close(); // "crash": the conversion never finished
    release();
    expect(fs.existsSync(path.join(mp4Dir, '20260101-120000.mp4'))).toBe(false);

    const { convert, calls } = copyingConverter();
    const second = await build({ convert });
    await fake.waitForDelivered(1);
    await until(() => second.journal.unfinished().length === 0, 'the resumed job to finish');
    expect(calls).toHaveLength(1);
    expect(fake.delivered.map((c) => c.method)).toEqual(['sendVideo']);
    expect(await second.pipeline.receive({ kind: 'file', id: 'e1', h264, detection: true, fps: 12 })).toBe('e1');
    await new Promise((r) => setTimeout(r, 100));
    expect(calls).toHaveLength(1);
    expect(fake.delivered).toHaveLength(1);
  });

  it('skips the upload of a file whose name has no date, as the original did', async () => {
    const h264 = recording('clip.h264');
    const { convert } = copyingConverter();
    const journal = await Journal.open<Job>({ dir: tmp, logger: log.logger });
    const sources = await Mp4Sources.open({ dir: tmp, logger: log.logger });
    const pipeline = new Pipeline({
      journal, sources, mp4Dir, convert, clock: systemClock, logger: log.logger,
      uploads: { enqueue: async (p) => { throw Object.assign(new Error(`cannot upload "${path.basename(p)}": the name is not YYYYMMDD-hhmm[ss].ext`), { code: 'UPLOAD_BAD_NAME' }); } },
    });
    closers.push(async () => { await pipeline.close(); await sources.close(); await journal.close(); });
    pipeline.start();
    await pipeline.receive({ kind: 'file', id: 'x', h264, fps: 12 });
    await until(() => journal.unfinished().length === 0, 'the job to finish');
    expect(log.lines.join('')).toContain('clip.mp4 is not uploaded: cannot upload "clip.mp4"');
  });

  describe('never replacing another recording\'s MP4; --accept-dir', () => {
    function elsewhere(name: string, bytes: string): string {
      fs.mkdirSync(path.join(tmp, 'elsewhere'), { recursive: true });
      const file = path.join(tmp, 'elsewhere', name);
      fs.writeFileSync(file, bytes);
      return file;
    }

    it('refuses, on receipt, a file of the same name from another folder: acknowledged, not converted, the MP4 untouched', async () => {
      const a = recording('20260101-1200.h264', 'the real recording');
      const { convert, calls } = copyingConverter();
      const { pipeline, journal } = await build({ convert, telegram: false });
      await pipeline.receive({ kind: 'file', id: 'a', h264: a, fps: 12 });
      await until(() => journal.unfinished().length === 0, 'the first job to finish');
      const b = elsewhere('20260101-1200.h264', 'short');
      expect(await pipeline.receive({ kind: 'file', id: 'b', h264: b, fps: 12 })).toBe('b');
      expect(journal.unfinished()).toEqual([]);
      expect(calls.map((c) => c.input)).toEqual([a]);
      const mp4 = path.join(mp4Dir, '20260101-1200.mp4');
      expect(fs.readFileSync(mp4, 'utf8')).toBe('the real recording');
      expect(log.lines.filter((l) => l.includes('rejected event b:'))).toEqual([
        `warn: event: rejected event b: h264 ${JSON.stringify(b)}: not converted: it would replace ${mp4}, which was made from another recording, ${a}; the MP4 is left as it is\n`,
      ]);
    });

    it('refuses, when converting, a clash that arose after receipt (both queued before either was converted)', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const { convert: copy, calls } = copyingConverter();
      const gated: ConvertFunction = async (input, output, options) => {
        await gate;
        return copy(input, output, options);
      };
      const a = recording('20260101-1215.h264', 'the real recording');
      const b = elsewhere('20260101-1215.h264', 'short');
      const { pipeline, journal } = await build({ convert: gated, telegram: false });
      expect(await pipeline.receive({ kind: 'file', id: 'a', h264: a, fps: 12 })).toBe('a');
      expect(await pipeline.receive({ kind: 'file', id: 'b', h264: b, fps: 12 })).toBe('b');
      release();
      await until(() => journal.unfinished().length === 0, 'both jobs to finish');
      const mp4 = path.join(mp4Dir, '20260101-1215.mp4');
      expect(fs.readFileSync(mp4, 'utf8')).toBe('the real recording');
      expect(calls.map((c) => c.input)).toEqual([a]); // b's never ran: refused before converting
      expect(log.lines.join('')).toContain(`conversion of ${b} not attempted: it would replace ${mp4}, which was made from another recording, ${a}`);
      expect(fs.readdirSync(mp4Dir)).toEqual(['20260101-1215.mp4']); // no temporary file left
    });

    it('an MP4 taken while converting is not replaced and not retried', async () => {
      const a = recording('20260101-1230.h264', 'converted');
      const mp4 = path.join(mp4Dir, '20260101-1230.mp4');
      const { convert: copy, calls } = copyingConverter();
      const racing: ConvertFunction = async (input, output, options) => {
        fs.writeFileSync(mp4, 'appeared meanwhile'); // e.g. written by hand while converting
        return copy(input, output, options);
      };
      const { pipeline, journal } = await build({ convert: racing, telegram: false });
      await pipeline.receive({ kind: 'file', id: 'a', h264: a, fps: 12 });
      await until(() => journal.unfinished().length === 0, 'the job to finish');
      expect(fs.readFileSync(mp4, 'utf8')).toBe('appeared meanwhile');
      expect(calls).toHaveLength(1);
      expect(log.lines.join('')).toContain(`conversion of ${a} → ${mp4} not put in place: it would replace ${mp4}, which postproc has no record of making`);
    });

    it('never replaces an MP4 it has no record of (by hand, an older postproc)', async () => {
      const a = recording('20260101-1245.h264');
      const mp4 = path.join(mp4Dir, '20260101-1245.mp4');
      fs.writeFileSync(mp4, 'made by hand');
      const { convert, calls } = copyingConverter();
      const { pipeline } = await build({ convert, telegram: false });
      expect(await pipeline.receive({ kind: 'file', id: 'a', h264: a, fps: 12 })).toBe('a');
      expect(calls).toEqual([]);
      expect(fs.readFileSync(mp4, 'utf8')).toBe('made by hand');
      expect(log.lines.join('')).toContain(`rejected event a: h264 ${JSON.stringify(a)}: not converted: it would replace ${mp4}, which postproc has no record of making`);
    });

    it('the same recording again is converted again: a new id, and a job replayed after a crash when its MP4 was already in place', async () => {
      const a = recording('20260101-1300.h264', 'take one');
      const mp4 = path.join(mp4Dir, '20260101-1300.mp4');
      const first = copyingConverter();
      const one = await build({ convert: first.convert, telegram: false });
      await one.pipeline.receive({ kind: 'file', id: 'a1', h264: a, fps: 12 });
      await one.pipeline.receive({ kind: 'file', id: 'a2', h264: a, fps: 12 });
      await until(() => one.journal.unfinished().length === 0, 'the jobs to finish');
      expect(first.calls.map((c) => c.input)).toEqual([a, a]);

      // A crash after the MP4 was put in place but before "converted" was journaled: the job is replayed.
      let inPlace = false;
      const crashing: ConvertFunction = async (input, output, options) => {
        await first.convert(input, output, options);
        inPlace = true;
        await new Promise<never>((_, reject) => options.signal.addEventListener('abort', () => reject(new Error('aborted'))));
      };
      const two = await build({ convert: crashing, telegram: false });
      await two.pipeline.receive({ kind: 'file', id: 'a3', h264: a, fps: 12 });
      await until(() => inPlace, 'the MP4 to be in place');
      for (const close of closers.splice(0)) await close();
      expect(fs.existsSync(mp4)).toBe(true);

      const after = copyingConverter();
      const three = await build({ convert: after.convert, telegram: false });
      await until(() => three.journal.unfinished().length === 0, 'the replayed job to finish');
      expect(after.calls.map((c) => c.input)).toEqual([a]);
      expect(log.lines.join('')).not.toContain('not converted');
      expect(log.lines.join('')).not.toContain('not attempted');
      expect(fs.readFileSync(mp4, 'utf8')).toBe('take one');
    });

    it('--accept-dir: converts a file directly in it; refuses one elsewhere, a link or ".." out of it and a subfolder, on receipt and when converting', async () => {
      const inside = recording('20260101-1400.h264');
      const out = elsewhere('20260101-1415.h264', 'x');
      fs.symlinkSync(elsewhere('20260101-1430.h264', 'x'), path.join(h264Dir, '20260101-1430.h264'));
      fs.symlinkSync(path.join(tmp, 'elsewhere'), path.join(h264Dir, 'sub'));
      elsewhere('20260101-1445.h264', 'x');
      fs.mkdirSync(path.join(h264Dir, 'nested'));
      fs.writeFileSync(path.join(h264Dir, 'nested', '20260101-1500.h264'), 'x');
      const { convert, calls } = copyingConverter();
      const { pipeline, journal } = await build({ convert, telegram: false, acceptDirs: [h264Dir] });
      const refused: [string, string, string][] = [
        ['out', out, ''],
        ['link', path.join(h264Dir, '20260101-1430.h264'), `: its real path is ${path.join(tmp, 'elsewhere', '20260101-1430.h264')}`],
        ['linkdir', path.join(h264Dir, 'sub', '20260101-1445.h264'), `: its real path is ${path.join(tmp, 'elsewhere', '20260101-1445.h264')}`],
        ['dotdot', `${h264Dir}/../elsewhere/20260101-1415.h264`, `: its real path is ${out}`],
        ['nested', path.join(h264Dir, 'nested', '20260101-1500.h264'), ''],
      ];
      for (const [id, h264] of refused) expect(await pipeline.receive({ kind: 'file', id, h264, fps: 12 })).toBe(id);
      expect(await pipeline.receive({ kind: 'file', id: 'in', h264: inside, fps: 12 })).toBe('in');
      await until(() => journal.unfinished().length === 0, 'the job to finish');
      expect(calls.map((c) => c.input)).toEqual([inside]);
      expect(fs.readdirSync(mp4Dir)).toEqual(['20260101-1400.mp4']);
      for (const [id, h264, real] of refused) {
        expect(log.lines.filter((l) => l.includes(`rejected event ${id}:`))).toEqual([
          `warn: event: rejected event ${id}: h264 ${JSON.stringify(h264)}: not directly in a folder given with --accept-dir (${h264Dir})${real}\n`,
        ]);
      }
    });

    it('--accept-dir also stops a job journaled before it was given', async () => {
      const out = elsewhere('20260101-1515.h264', 'x');
      const blocked: ConvertFunction = (_i, _o, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
      const first = await build({ convert: blocked, telegram: false });
      await first.pipeline.receive({ kind: 'file', id: 'old', h264: out, fps: 12 });
      for (const close of closers.splice(0)) await close();

      const { convert, calls } = copyingConverter();
      const second = await build({ convert, telegram: false, acceptDirs: [h264Dir] });
      await until(() => second.journal.unfinished().length === 0, 'the replayed job to finish');
      expect(calls).toEqual([]);
      expect(log.lines.join('')).toContain(`conversion of ${out} not attempted: it is not directly in a folder given with --accept-dir (${h264Dir})`);
    });
  });

  describe('named cameras and frame timing', () => {
    function cameraRecording(camera: string, name: string): string {
      fs.mkdirSync(path.join(tmp, camera), { recursive: true });
      const file = path.join(tmp, camera, name);
      fs.writeFileSync(file, `h264 of ${camera}/${name}`);
      return file;
    }

    it('puts two cameras\' files of the same name in their own folders, queues each with its camera and says which camera', async () => {
      const front = cameraRecording('front', '20260101-120000.h264');
      const back = cameraRecording('back', '20260101-120000.h264');
      const { convert, calls } = copyingConverter();
      const enqueued: [string, string | undefined][] = [];
      const { pipeline, journal } = await build({ convert, enqueued });
      await pipeline.receive({ kind: 'file', id: 'f', name: 'front', h264: front, detection: true, fps: 12 });
      await pipeline.receive({ kind: 'file', id: 'b', name: 'back', h264: back, detection: true, fps: 12 });
      await pipeline.receive({ kind: 'camera', id: 'c', name: 'back', camera: 'down', reason: 'no frames for 10 s' });
      const calls3 = await fake.waitForDelivered(3);
      await until(() => journal.unfinished().length === 0, 'the jobs to finish');
      expect(calls.map((c) => c.output)).toEqual([path.join(mp4Dir, 'front', '20260101-120000.mp4'), path.join(mp4Dir, 'back', '20260101-120000.mp4')]);
      expect(fs.readFileSync(path.join(mp4Dir, 'front', '20260101-120000.mp4'), 'utf8')).toBe('h264 of front/20260101-120000.h264');
      expect(fs.readFileSync(path.join(mp4Dir, 'back', '20260101-120000.mp4'), 'utf8')).toBe('h264 of back/20260101-120000.h264');
      expect(enqueued).toEqual([[path.join(mp4Dir, 'front', '20260101-120000.mp4'), 'front'], [path.join(mp4Dir, 'back', '20260101-120000.mp4'), 'back']]);
      expect(calls3.map((c) => [c.method, c.fields.caption ?? c.fields.text]).sort()).toEqual([
        ['sendMessage', 'back: Camera down: no frames for 10 s'],
        ['sendVideo', 'back: Detection changed to True'],
        ['sendVideo', 'front: Detection changed to True'],
      ]);
      expect(log.lines.join('')).toContain(`accepted f: camera front: ${front} (12 fps, detection true) → ${path.join(mp4Dir, 'front', '20260101-120000.mp4')}`);
    });

    it('a failed conversion of a named camera says which camera', async () => {
      const h264 = cameraRecording('front', '20260101-1215.h264');
      const { pipeline, journal } = await build({ convert: copyingConverter(2).convert });
      await pipeline.receive({ kind: 'file', id: 'x', name: 'front', h264, fps: 12 });
      const [call] = await fake.waitForDelivered(1);
      expect(call!.fields.text).toBe('front: MP4 conversion failed: 20260101-1215.h264');
      await until(() => journal.unfinished().length === 0, 'the job to finish');
    });

    it('refuses to write through a camera folder that is a symbolic link, and says so', async () => {
      const outside = path.join(tmp, 'outside');
      fs.mkdirSync(outside);
      fs.symlinkSync(outside, path.join(mp4Dir, 'front'));
      const h264 = cameraRecording('front', '20260101-1230.h264');
      const { convert, calls } = copyingConverter();
      const { pipeline, journal } = await build({ convert });
      await pipeline.receive({ kind: 'file', id: 'x', name: 'front', h264, fps: 12 });
      const [call] = await fake.waitForDelivered(1);
      expect(call!.fields.text).toBe('front: MP4 conversion failed: 20260101-1230.h264');
      await until(() => journal.unfinished().length === 0, 'the job to finish');
      expect(calls).toEqual([]);
      expect(fs.readdirSync(outside)).toEqual([]);
      expect(log.lines.join('')).toContain('is a symbolic link; MP4s are written only into real folders inside mp4_dir');
    });

    it('prepareCameraFolder makes a missing folder and refuses a file in its place', async () => {
      expect(await prepareCameraFolder(path.join(mp4Dir, 'new', 'a.mp4'))).toBeUndefined();
      expect(fs.statSync(path.join(mp4Dir, 'new')).isDirectory()).toBe(true);
      expect(await prepareCameraFolder(path.join(mp4Dir, 'new', 'b.mp4'))).toBeUndefined();
      fs.writeFileSync(path.join(mp4Dir, 'file'), 'x');
      expect(await prepareCameraFolder(path.join(mp4Dir, 'file', 'a.mp4'))).toMatch(/is not a folder$/);
    });

    it('refuses an invalid camera name that reaches it without the parser', async () => {
      const h264 = recording('20260101-1245.h264');
      const { convert, calls } = copyingConverter();
      const { pipeline, journal } = await build({ convert, telegram: false });
      expect(await pipeline.receive({ kind: 'file', id: 'x', name: '../up', h264, fps: 12 })).toBe('x');
      expect(journal.unfinished()).toEqual([]);
      expect(calls).toEqual([]);
      expect(log.lines.join('')).toContain('rejected event x: "name": not a camera name: "../up"');
    });

    it('hands the timing to the converter and keeps it in the journal across a restart; fps defaults to its average', async () => {
      const h264 = recording('20260101-1300.h264');
      const timing: [number, number][] = [[150, 66.667], [70, 142.857]];
      const blocked: ConvertFunction = (_i, _o, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
      const first = await build({ convert: blocked, telegram: false });
      await first.pipeline.receive({ kind: 'file', id: 't', h264, frames: 220, timing });
      expect(first.journal.get('t')!.job).toMatchObject({ frames: 220, timing });
      for (const close of closers.splice(0)) await close();

      const { convert, calls } = copyingConverter();
      const second = await build({ convert, telegram: false });
      await until(() => second.journal.unfinished().length === 0, 'the resumed job to finish');
      expect(calls).toEqual([{ input: h264, output: path.join(mp4Dir, '20260101-1300.mp4'), fps: expect.closeTo(220 / 20.00004, 9), rotation: 0, timing }]);
      expect(log.lines.join('')).toContain('variable timing, 2 runs, 11 fps on average');
    });

    it('--convert\'s fps overrides the timing as it overrides the fps', async () => {
      const h264 = recording('20260101-1315.h264');
      const { convert, calls } = copyingConverter();
      const { pipeline, journal } = await build({ convert, fps: 15, telegram: false });
      await pipeline.receive({ kind: 'file', id: 'o', h264, fps: 11, frames: 220, timing: [[150, 66.667], [70, 142.857]] });
      await until(() => journal.unfinished().length === 0, 'the job to finish');
      expect(calls).toEqual([{ input: h264, output: path.join(mp4Dir, '20260101-1315.mp4'), fps: 15, rotation: 0 }]);
    });
  });
});
