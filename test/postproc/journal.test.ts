// The journal: what was accepted survives a reopen, steps resume, finished ids are remembered, the file stays small.
import fs from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal, JOURNAL_FILE } from '../../src/postproc/journal.js';
import { makeTmp, removeTmp } from '../helpers/env.js';

function memoryLogger(): { logger: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _e, done) { lines.push(chunk.toString()); done(); } });
  return { logger: winston.createLogger({ format: winston.format.printf(({ message }) => String(message)), transports: [new winston.transports.Stream({ stream })] }), lines };
}

describe('Journal', () => {
  let dir: string;
  const journals: Journal<{ n: number }>[] = [];
  const open = async (options: { rememberIds?: number; compactAfter?: number } = {}, logger = memoryLogger().logger): Promise<Journal<{ n: number }>> => {
    const j = await Journal.open<{ n: number }>({ dir, logger, ...options });
    journals.push(j);
    return j;
  };

  beforeEach(() => {
    dir = makeTmp('postproc-journal-');
  });
  afterEach(async () => {
    for (const j of journals.splice(0)) await j.close();
    removeTmp(dir);
  });

  it('keeps accepted jobs and their steps across a reopen, in order', async () => {
    const a = await open();
    expect(await a.accept('one', { n: 1 })).toBe(true);
    expect(await a.accept('two', { n: 2 })).toBe(true);
    await a.step('one', 'converted', '/m/one.mp4');
    await a.step('one', 'queued');
    await a.close();
    const b = await open();
    expect(b.unfinished()).toEqual([
      { id: 'one', job: { n: 1 }, steps: { converted: '/m/one.mp4', queued: true } },
      { id: 'two', job: { n: 2 }, steps: {} },
    ]);
  });

  it('refuses an id it knows, finished or not, also after a reopen', async () => {
    const a = await open();
    await a.accept('one', { n: 1 });
    await a.accept('two', { n: 2 });
    await a.finish('one');
    expect(await a.accept('one', { n: 9 })).toBe(false);
    expect(await a.accept('two', { n: 9 })).toBe(false);
    await a.close();
    const b = await open();
    expect(b.has('one')).toBe(true);
    expect(await b.accept('one', { n: 9 })).toBe(false);
    expect(b.unfinished().map((e) => e.id)).toEqual(['two']);
  });

  it('remembers only the newest finished ids', async () => {
    const a = await open({ rememberIds: 2 });
    for (const id of ['a', 'b', 'c']) {
      await a.accept(id, { n: 0 });
      await a.finish(id);
    }
    expect([a.has('a'), a.has('b'), a.has('c')]).toEqual([false, true, true]);
    await a.close();
    const b = await open({ rememberIds: 2 });
    expect([b.has('a'), b.has('b'), b.has('c')]).toEqual([false, true, true]);
  });

  it('is durable the moment accept resolves: the file already holds the record', async () => {
    const a = await open();
    await a.accept('one', { n: 1 });
    const text = fs.readFileSync(path.join(dir, JOURNAL_FILE), 'utf8');
    expect(text).toBe('{"op":"accept","id":"one","job":{"n":1}}\n');
  });

  it('compacts: finished jobs leave only their id behind', async () => {
    const a = await open({ compactAfter: 4 });
    for (let i = 0; i < 10; i++) {
      await a.accept(`id${i}`, { n: i });
      await a.finish(`id${i}`);
    }
    await a.accept('open', { n: 99 });
    const lines = fs.readFileSync(path.join(dir, JOURNAL_FILE), 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(4 + 11);
    expect(lines.filter((l) => l.includes('"op":"accept"')).length).toBeLessThanOrEqual(4);
    await a.close();
    const b = await open();
    expect(b.unfinished().map((e) => e.id)).toEqual(['open']);
    for (let i = 0; i < 10; i++) expect(b.has(`id${i}`)).toBe(true);
  });

  it('ignores a torn last line (a crash mid-write) and says so', async () => {
    fs.writeFileSync(path.join(dir, JOURNAL_FILE), '{"op":"accept","id":"one","job":{"n":1}}\n{"op":"step","id":"one","st');
    const log = memoryLogger();
    const j = await open({}, log.logger);
    expect(j.unfinished()).toEqual([{ id: 'one', job: { n: 1 }, steps: {} }]);
    expect(log.lines.join('')).toContain('journal: ignoring a torn last line');
    // The rewrite on open removed the torn line, so new records start on a line of their own.
    await j.step('one', 'converted', '/m/one.mp4');
    await j.close();
    const again = await open();
    expect(again.unfinished()[0]!.steps).toEqual({ converted: '/m/one.mp4' });
  });

  it('close is idempotent and later writes fail instead of being lost silently', async () => {
    const a = await open();
    await a.close();
    await a.close();
    await expect(a.accept('x', { n: 1 })).rejects.toThrow('journal is closed');
    expect(a.has('x')).toBe(false);
  });
});
