// The outbox keeps events across restarts, in order, bounded, with stable ids.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/common/log.js';
import { newEventId, Outbox } from '../../../src/pancake/events/outbox.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';

const logger = createLogger({ program: 'test', level: 'error' });
const file = (n: number): { h264: string; fps: number; width: number; height: number; rotation: 0; start: string; end: string } => ({
  h264: `/rec/2026010${n}-1200.h264`, fps: 12, width: 640, height: 480, rotation: 0, start: `2026-01-0${n}T12:00:00.000Z`, end: `2026-01-0${n}T12:15:00.000Z`,
});

describe('Outbox', () => {
  let tmp: string | undefined;
  afterEach(() => removeTmp(tmp));

  it('survives a restart with order and ids intact, and forgets acknowledged events', () => {
    tmp = makeTmp();
    const a = new Outbox(tmp, logger);
    const e1 = a.add(file(1));
    const e2 = a.add({ camera: 'down', reason: 'x', time: '2026-01-01T00:00:00.000Z' });
    const e3 = a.add(file(2));
    a.ack(e2.id);
    const b = new Outbox(tmp, logger);
    expect(b.pending()).toEqual([e1, e3]);
    const e4 = b.add(file(3));
    expect(new Outbox(tmp, logger).pending().map((e) => e.id)).toEqual([e1.id, e3.id, e4.id]);
  });

  it('gives a file the same id when it is announced again, and stores it once', () => {
    tmp = makeTmp();
    const box = new Outbox(tmp, logger);
    expect(newEventId(file(1))).toBe(newEventId(file(1)));
    expect(newEventId(file(1))).not.toBe(newEventId(file(2)));
    box.add(file(1));
    box.add(file(1));
    expect(box.pending()).toHaveLength(1);
  });

  it('drops the oldest events beyond its bound, leaving no file behind for them', () => {
    tmp = makeTmp();
    const box = new Outbox(tmp, logger, 3);
    const ids = [1, 2, 3, 4, 5].map((n) => box.add(file(n)).id);
    expect(box.pending().map((e) => e.id)).toEqual(ids.slice(2));
    expect(fs.readdirSync(tmp)).toHaveLength(3);
    expect(new Outbox(tmp, logger, 3).pending().map((e) => e.id)).toEqual(ids.slice(2));
  });

  it('ignores a half-written temporary file from a crash', () => {
    tmp = makeTmp();
    fs.writeFileSync(path.join(tmp, '000000000009.json.tmp'), '{"id":');
    const box = new Outbox(tmp, logger);
    expect(box.pending()).toEqual([]);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});

describe('Outbox on a failing disk', () => {
  let tmp: string | undefined;
  afterEach(() => removeTmp(tmp));

  it('keeps an event it cannot write in memory, still pending and still acknowledgeable', () => {
    tmp = makeTmp();
    const box = new Outbox(tmp, logger);
    const stored = box.add(file(1));
    // The next event file's temporary name points at /dev/full: a real ENOSPC from the kernel.
    fs.symlinkSync('/dev/full', path.join(tmp, '000000000002.json.tmp'));
    const unstored = box.add(file(2));
    expect(box.pending().map((e) => e.id)).toEqual([stored.id, unstored.id]);
    expect(fs.readdirSync(tmp).sort()).toEqual(['000000000001.json']);
    const third = box.add(file(3)); // the disk works again
    expect(box.ack(unstored.id)).toBe(true);
    expect(box.pending().map((e) => e.id)).toEqual([stored.id, third.id]);
    expect(new Outbox(tmp, logger).pending().map((e) => e.id)).toEqual([stored.id, third.id]);
  });
});
