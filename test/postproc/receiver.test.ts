// EventReceiver on a real abstract socket: acks after the handler, bad lines skipped, the connection kept.
import { Writable } from 'node:stream';
import winston from 'winston';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/common/cli.js';
import { ManualClock } from '../../src/common/clock.js';
import type { ReceivedEvent } from '../../src/common/events.js';
import { describeEvent, EventReceiver, logSnippet } from '../../src/postproc/receiver.js';
import { EventClient } from './event-client.js';
import { until } from '../helpers/until.js';

function memoryLogger(): { logger: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _e, done) { lines.push(chunk.toString()); done(); } });
  return { logger: winston.createLogger({ format: winston.format.printf(({ level, message }) => `${level}: ${String(message)}`), transports: [new winston.transports.Stream({ stream })] }), lines };
}

const socketName = (): string => `postproc-receiver-test-${process.pid}-${Math.random().toString(36).slice(2)}`;

describe('EventReceiver', () => {
  const receivers: EventReceiver[] = [];
  const clients: EventClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const r of receivers.splice(0)) await r.close();
  });

  async function start(handle: (e: ReceivedEvent) => Promise<string | undefined>, maxLineBytes?: number) {
    const name = socketName();
    const log = memoryLogger();
    const receiver = new EventReceiver({ socketName: name, logger: log.logger, handle, ...(maxLineBytes ? { maxLineBytes } : {}) });
    receivers.push(receiver);
    await receiver.start();
    const client = await EventClient.connect(name);
    clients.push(client);
    return { name, receiver, client, log };
  }

  it('acknowledges each event only after the handler resolved, in order', async () => {
    const handled: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { client } = await start(async (e) => {
      if (e.id === 'slow') await gate;
      handled.push(e.id!);
      return e.id;
    });
    await client.send({ id: 'slow', detection: true });
    await client.send({ id: 'next', detection: false });
    await new Promise((r) => setTimeout(r, 100));
    expect(client.acks).toEqual([]); // nothing is acknowledged before it is handled, and order is kept
    release();
    await client.waitForAck('next');
    expect(client.acks).toEqual(['slow', 'next']);
    expect(handled).toEqual(['slow', 'next']);
  });

  it('skips bad lines, logs them, and keeps the connection for the next good one', async () => {
    const { client, log } = await start(async (e) => e.id, 1024);
    await client.write('{"id": "broken"\n');
    await client.write('[1,2,3]\n');
    await client.send({ id: 'typed', detection: 'yes' });
    await client.write(Buffer.concat([Buffer.from('{"id":"huge","reason":"'), Buffer.alloc(1 << 20, 0x61), Buffer.from('"}\n')]));
    await client.write(Buffer.from([0xff, 0xfe, 0x0a]));
    await client.write('\n\n');
    await client.send({ id: 'good', camera: 'up' });
    await client.waitForAck('good');
    expect(client.acks).toEqual(['good']);
    expect(client.closed).toBe(false);
    const text = log.lines.join('');
    expect(text).toContain('skipped a bad line (not JSON:');
    expect(text).toContain('skipped a bad line (not a JSON object)');
    expect(text).toContain('skipped a bad line ("detection" must be true or false)');
    expect(text).toContain('line longer than 1024 bytes');
  });

  it('sends no ack for an event without an id, and none when the handler fails', async () => {
    const { client, log } = await start(async (e) => {
      if (e.id === 'fails') throw new Error('disk full');
      return e.id;
    });
    await client.send({ detection: true });
    await client.send({ id: 'fails', detection: true });
    await client.send({ id: 'after', detection: false });
    await client.waitForAck('after');
    expect(client.acks).toEqual(['after']);
    expect(log.lines.join('')).toContain('not acknowledged, could not record it: disk full');
  });

  it('refuses a socket name already in use with exit code 2', async () => {
    const { name } = await start(async (e) => e.id);
    const second = new EventReceiver({ socketName: name, logger: memoryLogger().logger, handle: async () => undefined });
    const err = await second.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as UsageError).message).toBe(`socket name already in use: ${name} (is another postproc running with it?)`);
  });

  it('close finishes the event being handled, then closes connections and stops listening', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { name, receiver, client } = await start(async (e) => {
      await gate;
      return e.id;
    });
    await client.send({ id: 'in-flight', detection: true });
    await new Promise((r) => setTimeout(r, 50));
    const closing = receiver.close();
    release();
    await closing;
    expect(client.acks).toEqual(['in-flight']);
    await expect(EventClient.connect(name, 200)).rejects.toThrow();
  });

  it('16 idle connections never lock pancake out: the oldest that sent nothing makes room', async () => {
    const { name, client, log } = await start(async (e) => e.id);
    await client.send({ id: 'first', camera: 'up' });
    await client.waitForAck('first');
    const idle: EventClient[] = [];
    for (let i = 0; i < 15; i++) idle.push(await EventClient.connect(name));
    clients.push(...idle);
    // The table is full (16). pancake connects again (a 17th) and is served; an idle one went.
    const pancake = await EventClient.connect(name);
    clients.push(pancake);
    await pancake.send({ id: 'pancake', camera: 'down', reason: 'x' });
    await pancake.waitForAck('pancake');
    await until(() => idle[0]!.closed);
    expect(idle.slice(1).some((c) => c.closed)).toBe(false);
    expect(log.lines.join('')).toMatch(/16 connections open already; closing event connection #2 \(no valid event yet\)/);
    // The one that sent a valid event is kept.
    await client.send({ id: 'again', camera: 'up' });
    await client.waitForAck('again');
  });

  it('closes a connection that sends no valid event within 10 s, and one quiet for an hour; a busy one stays', async () => {
    const clock = new ManualClock();
    const name = socketName();
    const log = memoryLogger();
    const receiver = new EventReceiver({ socketName: name, logger: log.logger, handle: async (e) => e.id, clock });
    receivers.push(receiver);
    await receiver.start();
    const silent = await EventClient.connect(name);
    const garbage = await EventClient.connect(name);
    const talker = await EventClient.connect(name);
    clients.push(silent, garbage, talker);
    await until(() => log.lines.join('').includes('event connection #3 opened'));
    await garbage.write('not json\n');
    await talker.send({ id: 't1', camera: 'up' });
    await talker.waitForAck('t1');
    clock.advance(10_000);
    await until(() => silent.closed && garbage.closed);
    expect(talker.closed).toBe(false);
    clock.advance(59 * 60_000);
    await talker.send({ id: 't2', camera: 'up' });
    await talker.waitForAck('t2');
    clock.advance(59 * 60_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(talker.closed).toBe(false);
    clock.advance(60_000);
    await until(() => talker.closed);
    expect(log.lines.join('')).toContain('event connection #3 sent no event for 3600 s; closing it');
  });

  it('a heartbeat is valid traffic: never handled as an event nor acknowledged, passed to onHeartbeat, and it keeps pancake connected past the first-event and idle limits', async () => {
    const clock = new ManualClock();
    const name = socketName();
    const log = memoryLogger();
    const handled: ReceivedEvent[] = [];
    const beats: { heartbeat: string; name?: string }[] = [];
    const receiver = new EventReceiver({
      socketName: name, logger: log.logger, clock, handle: async (e) => (handled.push(e), e.id), onHeartbeat: (h) => beats.push(h),
    });
    receivers.push(receiver);
    await receiver.start();
    const pancake = await EventClient.connect(name);
    const stranger = await EventClient.connect(name);
    clients.push(pancake, stranger);
    await pancake.send({ heartbeat: '2026-01-01T12:00:00.000Z', name: 'front' });
    await until(() => beats.length === 1);
    clock.advance(10_000);
    await until(() => stranger.closed);
    // An hour and more with heartbeats only: pancake is never "quiet".
    for (let minute = 1; minute <= 90; minute++) {
      clock.advance(60_000);
      await pancake.send({ heartbeat: new Date(Date.UTC(2026, 0, 1, 12, minute)).toISOString(), name: 'front' });
      await until(() => beats.length === minute + 1);
    }
    expect(pancake.closed).toBe(false);
    expect(beats[0]).toEqual({ heartbeat: '2026-01-01T12:00:00.000Z', name: 'front' });
    expect(handled).toEqual([]);
    expect(pancake.acks).toEqual([]);
    expect(pancake.otherLines).toEqual([]);
    // A heartbeat with an id, or without a time, is a bad line.
    await pancake.send({ heartbeat: 5 });
    await pancake.send({ id: 'x', heartbeat: '2026-01-01T12:00:00.000Z' });
    await pancake.send({ id: 'after', camera: 'up' });
    await pancake.waitForAck('after');
    expect(beats).toHaveLength(91);
    const text = log.lines.join('');
    expect(text).toContain('skipped a bad line ("heartbeat" must be a string)');
    expect(text).toContain('skipped a bad line (a heartbeat has no "id")');
  });

  it('16 connections full: pancake, known by its heartbeats only, is kept and an idle stranger makes room', async () => {
    const { name, client } = await start(async (e) => e.id);
    await client.send({ heartbeat: '2026-01-01T12:00:00.000Z' });
    await new Promise((r) => setTimeout(r, 50));
    const strangers: EventClient[] = [];
    for (let i = 0; i < 16; i++) strangers.push(await EventClient.connect(name));
    clients.push(...strangers);
    await until(() => strangers[0]!.closed);
    expect(client.closed).toBe(false);
    await client.send({ id: 'still', camera: 'up' });
    await client.waitForAck('still');
  });

  it('quotes what it logs of a line, so no control character reaches the log', () => {
    expect(logSnippet('a\nb')).toBe('"a\\nb"');
    expect(logSnippet('x'.repeat(400), 5)).toBe('"xxxxx"… (400 characters)');
  });

  it('logs a received event by its known fields only, a long timing shortened', async () => {
    const { client, log } = await start(async (e) => e.id);
    const timing = Array.from({ length: 500 }, (_, i) => [i + 1, 66.667]);
    await client.send({ id: 'big', name: 'front', h264: '/r/a.h264', fps: 12, timing, secret: 'do-not-log', nested: { x: 'y'.repeat(100) } });
    await client.waitForAck('big');
    const line = log.lines.find((l) => l.includes('received'))!;
    expect(line).toContain('received {"id":"big","name":"front","kind":"file","h264":"/r/a.h264","fps":12,"timing":[[1,66.667],[2,66.667],[3,66.667],"… 500 runs"]}');
    expect(line).not.toContain('do-not-log');
    expect(line).not.toContain('nested');
  });

  it('a valid event with an unknown field nested 32000 arrays deep (a 64 KB line) is handled by its known fields; postproc goes on', async () => {
    const handled: ReceivedEvent[] = [];
    const { client, log } = await start(async (e) => (handled.push(e), e.id));
    for (const [id, depth] of [['deep1', 5000], ['deep2', 32_000]] as const) {
      await client.write(`{"id":"${id}","h264":"/nonexistent/x.h264","x":${'['.repeat(depth)}${']'.repeat(depth)}}\n`);
      await client.waitForAck(id);
    }
    await client.write(`{"id":"deep3","camera":"down","y":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}\n`);
    await client.waitForAck('deep3');
    expect(handled).toEqual([
      { id: 'deep1', kind: 'file', h264: '/nonexistent/x.h264' },
      { id: 'deep2', kind: 'file', h264: '/nonexistent/x.h264' },
      { id: 'deep3', kind: 'camera', camera: 'down' },
    ]);
    expect(log.lines.join('')).not.toContain('[[[');
  });

  it('describeEvent cuts a long description', () => {
    expect(describeEvent({ kind: 'camera', camera: 'down', reason: 'r'.repeat(1000) }, 40)).toBe('{"kind":"camera","camera":"down","reason… (1045 characters)');
  });
});
