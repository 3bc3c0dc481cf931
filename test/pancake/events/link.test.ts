// The event link on a test clock: after postproc has been away a long time, it is found again within 5 s, and the outbox is delivered.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { ManualClock, systemClock } from '../../../src/common/clock.js';
import { createLogger } from '../../../src/common/log.js';
import { EventLink } from '../../../src/pancake/events/link.js';
import { Outbox } from '../../../src/pancake/events/outbox.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';
import { startEventSink, type EventSink } from '../../helpers/event-sink.js';

const logger = createLogger({ program: 'test', level: 'error' });
const realPause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('EventLink', () => {
  let tmp: string | undefined;
  let sink: EventSink | undefined;
  let link: EventLink | undefined;
  afterEach(async () => {
    link?.close();
    await sink?.close();
    removeTmp(tmp);
    link = sink = tmp = undefined;
  });

  it('retries a local socket at most 5 s apart, however long postproc was away', async () => {
    tmp = makeTmp();
    const clock = new ManualClock();
    const outbox = new Outbox(path.join(tmp, 'outbox'), logger);
    const name = `pancake-link-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
    link = new EventLink({ socketName: name, outbox, clock, logger });
    outbox.add({ camera: 'down', reason: 'test', time: new Date(0).toISOString() });
    link.start();
    // Ten minutes of test time without postproc: every refused attempt is real, the pauses are the clock's.
    const step = async (ms: number): Promise<void> => {
      clock.advance(ms);
      await realPause(2);
    };
    for (let t = 0; t < 600_000; t += 250) await step(250);
    // postproc comes back just after an attempt failed: the worst moment, a whole pause to wait.
    const failed = link.failedAttempts;
    expect(failed).toBeGreaterThan(10);
    while (link.failedAttempts === failed) await step(100);
    sink = await startEventSink(name);
    const back = clock.monotonic();
    while (sink.events.length === 0) {
      if (clock.monotonic() - back > 60_000) throw new Error('not reconnected within a minute of test time');
      await step(100);
    }
    expect(clock.monotonic() - back).toBeLessThanOrEqual(5100);
    expect(sink.events).toMatchObject([{ camera: 'down', reason: 'test' }]);
  }, 60_000);

  it('sends what postproc did not acknowledge again, in order, after it drops the connection; acknowledged events are not resent', async () => {
    tmp = makeTmp();
    const clock = new ManualClock();
    const outbox = new Outbox(path.join(tmp, 'outbox'), logger);
    const name = `pancake-link-resend-${process.pid}-${Math.random().toString(36).slice(2)}`;
    // postproc's first connection acknowledges the first event only, then goes away; the second acknowledges all.
    const received: { connection: number; reason: string }[] = [];
    let connections = 0;
    const server = net.createServer((socket) => {
      const connection = ++connections;
      let buf = '';
      socket.setEncoding('utf8');
      socket.on('error', () => {});
      socket.on('data', (text: string) => {
        buf += text;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const event = JSON.parse(buf.slice(0, nl)) as { id: string; reason: string; heartbeat?: string };
          buf = buf.slice(nl + 1);
          // Heartbeats come on every connection; they are not events and get no ack.
          if (event.heartbeat !== undefined) continue;
          received.push({ connection, reason: event.reason });
          if (connection > 1 || received.length === 1) socket.write(JSON.stringify({ ack: event.id }) + '\n');
          if (connection === 1 && received.length === 3) setTimeout(() => socket.destroy(), 20);
        }
      });
    });
    await new Promise<void>((r) => server.listen({ path: `\0${name}` }, r));
    const until = async (what: string, done: () => boolean): Promise<void> => {
      for (let i = 0; i < 2000 && !done(); i++) {
        clock.advance(50);
        await realPause(5);
      }
      if (!done()) throw new Error(`${what}: not within 2000 steps; received ${JSON.stringify(received)}`);
    };
    try {
      for (const reason of ['a', 'b', 'c']) outbox.add({ camera: 'down', reason, time: new Date(0).toISOString() });
      link = new EventLink({ socketName: name, outbox, clock, logger });
      link.start();
      await until('the first connection ends', () => received.length === 3);
      await until('the unacknowledged events are delivered again', () => link!.idle);
      expect(received).toEqual([
        { connection: 1, reason: 'a' }, { connection: 1, reason: 'b' }, { connection: 1, reason: 'c' },
        { connection: 2, reason: 'b' }, { connection: 2, reason: 'c' },
      ]);
    } finally {
      link?.close();
      await new Promise((r) => server.close(r));
    }
  }, 60_000);

  // Until the heartbeat this link connected only with an event to send; now it stays connected and
  // beats every minute on its clock, so postproc can tell an idle pancake from a dead one.
  it('stays connected with a heartbeat (with the camera name) on connecting and every minute; events go on the same connection', async () => {
    tmp = makeTmp();
    const clock = new ManualClock();
    const outbox = new Outbox(path.join(tmp, 'outbox'), logger);
    const name = `pancake-link-beat-${process.pid}-${Math.random().toString(36).slice(2)}`;
    let connections = 0;
    const lines: Record<string, unknown>[] = [];
    const server = net.createServer((socket) => {
      connections++;
      let buf = '';
      socket.setEncoding('utf8');
      socket.on('error', () => {});
      socket.on('data', (text: string) => {
        buf += text;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
          buf = buf.slice(nl + 1);
          lines.push(line);
          if (typeof line.id === 'string') socket.write(JSON.stringify({ ack: line.id }) + '\n');
        }
      });
    });
    await new Promise<void>((r) => server.listen({ path: `\0${name}` }, r));
    const waitLines = async (n: number): Promise<void> => {
      for (let i = 0; i < 200 && lines.length < n; i++) await realPause(10);
      expect(lines.length).toBe(n);
    };
    try {
      link = new EventLink({ socketName: name, outbox, clock, logger, cameraName: 'front' });
      link.start();
      await waitLines(1);
      expect(lines[0]).toEqual({ heartbeat: new Date(clock.now()).toISOString(), name: 'front' });
      clock.advance(59_000);
      await realPause(30);
      expect(lines).toHaveLength(1);
      clock.advance(1000);
      await waitLines(2);
      expect(lines[1]).toEqual({ heartbeat: new Date(clock.now()).toISOString(), name: 'front' });
      outbox.add({ camera: 'up', time: new Date(0).toISOString() });
      link.flush();
      await waitLines(3);
      expect(lines[2]).toMatchObject({ camera: 'up' });
      for (let i = 0; i < 100 && !link.idle; i++) await realPause(10);
      expect(link.idle).toBe(true);
      clock.advance(60_000);
      await waitLines(4);
      expect(lines[3]).toHaveProperty('heartbeat');
      expect(connections).toBe(1);
    } finally {
      link?.close();
      await new Promise((r) => server.close(r));
    }
  });

  it('with heartbeatMs 0, connects only when there is an event to send, so it never holds an idle place in postproc', async () => {
    tmp = makeTmp();
    const outbox = new Outbox(path.join(tmp, 'outbox'), logger);
    const name = `pancake-link-idle-${process.pid}-${Math.random().toString(36).slice(2)}`;
    let connections = 0;
    const lines: string[] = [];
    const server = net.createServer((socket) => {
      connections++;
      socket.setEncoding('utf8');
      socket.on('data', (text: string) => lines.push(...text.split('\n').filter(Boolean)));
    });
    await new Promise<void>((r) => server.listen({ path: `\0${name}` }, r));
    try {
      link = new EventLink({ socketName: name, outbox, clock: systemClock, logger, heartbeatMs: 0 });
      link.start();
      await realPause(300);
      expect(connections).toBe(0);
      outbox.add({ camera: 'up', time: new Date(0).toISOString() });
      link.flush();
      for (let i = 0; i < 100 && lines.length === 0; i++) await realPause(20);
      expect(connections).toBe(1);
      expect(lines.map((l) => JSON.parse(l) as object)).toMatchObject([{ camera: 'up' }]);
    } finally {
      link?.close();
      await new Promise((r) => server.close(r));
    }
  });
});
