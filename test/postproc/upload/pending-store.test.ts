// Durable pending state: survives reopening, holds at most maxInMemory names, never drops one.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { comparePendingKeys, parsePendingKey, pendingKey, PendingStore } from '../../../src/postproc/upload/pending-store.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';

let tmp: string;
beforeEach(() => {
  tmp = makeTmp('pancake-pending-');
});
afterEach(() => removeTmp(tmp));

const names = ['20200624-0900.mp4', '20200624-0915.mp4', '20200623-180511.mp4', '20200625-0000.mp4', '20200624-0930.mp4'];

describe('PendingStore', () => {
  it('keeps pending files on disk across a reopen, with their local paths', async () => {
    const dir = path.join(tmp, 'dest');
    const a = new PendingStore(dir, 8);
    await a.open('scp pi@nas:22 bak');
    for (const n of names) await a.add(n, `/rec/mp4/${n}`);
    await a.add(names[0]!, `/rec/mp4/${names[0]}`); // again: no change
    expect(a.count()).toBe(5);

    const b = new PendingStore(dir, 8);
    await b.open('scp pi@nas:22 bak');
    expect(b.count()).toBe(5);
    expect(b.files()).toEqual([...names].sort());
    expect(await b.localPath('20200624-0915.mp4')).toBe('/rec/mp4/20200624-0915.mp4');
    expect(fs.readFileSync(path.join(dir, 'destination.txt'), 'utf8')).toBe('scp pi@nas:22 bak\n');

    await b.remove('20200623-180511.mp4');
    await b.remove('20200623-180511.mp4'); // again: no change
    const c = new PendingStore(dir, 8);
    await c.open('scp pi@nas:22 bak');
    expect(c.count()).toBe(4);
    expect(await c.next()).toBe('20200624-0900.mp4');
  });

  it('holds only the oldest maxInMemory names and reads the rest back from disk, oldest first', async () => {
    const store = new PendingStore(path.join(tmp, 'dest'), 2);
    await store.open('ftp x');
    for (const n of names) await store.add(n, `/rec/${n}`);
    expect(store.files()).toEqual(['20200623-180511.mp4', '20200624-0900.mp4']);
    expect(store.count()).toBe(5);
    const order: string[] = [];
    for (let n = await store.next(); n !== undefined; n = await store.next()) {
      order.push(n);
      expect(store.files().length).toBeLessThanOrEqual(2);
      await store.remove(n);
    }
    expect(order).toEqual([...names].sort());
    expect(store.count()).toBe(0);
  });

  it('removes a marker a crash left half-written (its enqueue never resolved)', async () => {
    const dir = path.join(tmp, 'dest');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '20200624-0900.mp4.json.tmp'), '{"pa');
    const store = new PendingStore(dir, 8);
    await store.open('x');
    expect(store.count()).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['destination.txt']);
  });

  it('refuses names that could escape its folder', async () => {
    const store = new PendingStore(path.join(tmp, 'dest'), 8);
    await store.open('x');
    await expect(store.add('../20200624-0900.mp4', '/x')).rejects.toThrow(/not a plain file name/);
    expect(() => new PendingStore(tmp, 0)).toThrow(/maxInMemory/);
  });

  it('keeps a named camera\'s file apart from another camera\'s file of the same name, across a reopen', async () => {
    const dir = path.join(tmp, 'dest');
    const a = new PendingStore(dir, 8);
    await a.open('x');
    await a.add(pendingKey('20200624-0900.mp4', 'front'), '/rec/mp4/front/20200624-0900.mp4');
    await a.add(pendingKey('20200624-0900.mp4', 'back'), '/rec/mp4/back/20200624-0900.mp4');
    await a.add(pendingKey('20200624-0845.mp4'), '/rec/mp4/20200624-0845.mp4');
    await a.add(pendingKey('20200624-0915.mp4', 'back'), '/rec/mp4/back/20200624-0915.mp4');
    const b = new PendingStore(dir, 8);
    await b.open('x');
    expect(b.count()).toBe(4);
    // Oldest first whatever the camera; the same time in camera order.
    expect(b.files()).toEqual(['20200624-0845.mp4', 'back@20200624-0900.mp4', 'front@20200624-0900.mp4', 'back@20200624-0915.mp4']);
    expect(await b.localPath('front@20200624-0900.mp4')).toBe('/rec/mp4/front/20200624-0900.mp4');
    expect(await b.localPath('back@20200624-0900.mp4')).toBe('/rec/mp4/back/20200624-0900.mp4');
  });

  it('with a small memory window still takes every camera\'s files oldest first', async () => {
    const store = new PendingStore(path.join(tmp, 'dest'), 2);
    await store.open('x');
    for (const [name, camera] of [['20200624-0930.mp4', 'a'], ['20200624-0900.mp4', 'b'], ['20200624-0915.mp4', undefined], ['20200624-0900.mp4', 'a']] as const) {
      await store.add(pendingKey(name, camera), `/rec/${name}`);
    }
    expect(store.files()).toEqual(['a@20200624-0900.mp4', 'b@20200624-0900.mp4']);
    const order: string[] = [];
    for (let n = await store.next(); n !== undefined; n = await store.next()) {
      order.push(n);
      await store.remove(n);
    }
    expect(order).toEqual(['a@20200624-0900.mp4', 'b@20200624-0900.mp4', '20200624-0915.mp4', 'a@20200624-0930.mp4']);
  });
});

describe('pending keys', () => {
  it.each([
    ['20200624-0900.mp4', undefined, '20200624-0900.mp4'],
    ['20200624-0900.mp4', 'front', 'front@20200624-0900.mp4'],
    ['20200624-0900-2.mp4', 'Back_Door-2', 'Back_Door-2@20200624-0900-2.mp4'],
  ])('%s of camera %s is %s, and reads back', (fileName, camera, key) => {
    expect(pendingKey(fileName, camera)).toBe(key);
    expect(parsePendingKey(key)).toEqual(camera === undefined ? { fileName } : { fileName, camera });
  });

  it('refuses an invalid camera name, and reads a stray key as no key', () => {
    expect(() => pendingKey('20200624-0900.mp4', '../x')).toThrow(/not a camera name/);
    for (const key of ['../x@20200624-0900.mp4', '@20200624-0900.mp4', 'front@', 'a@b@20200624-0900.mp4']) expect(parsePendingKey(key), key).toBeUndefined();
  });

  it('orders by time first, then camera', () => {
    expect(['b@20200102-0000.mp4', '20200101-0000.mp4', 'a@20200102-0000.mp4', 'z@20200101-0001.mp4'].sort(comparePendingKeys))
      .toEqual(['20200101-0000.mp4', 'z@20200101-0001.mp4', 'a@20200102-0000.mp4', 'b@20200102-0000.mp4']);
  });
});
