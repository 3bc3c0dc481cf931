// A stand-in for postproc's socket in pancake tests: collects events and acknowledges them (or not).
import net from 'node:net';
import type { Heartbeat, PancakeEvent } from '../../src/common/events.js';

export interface EventSink {
  /** Events only: heartbeats are counted in `heartbeats`, not listed here. */
  events: PancakeEvent[];
  heartbeats: Heartbeat[];
  /** Resolves when an event matching `pred` has arrived (checks earlier ones too). */
  waitFor(pred: (e: PancakeEvent) => boolean, timeoutMs?: number): Promise<PancakeEvent>;
  close(): Promise<void>;
}

/** Listens on the abstract socket "\0"+name; every received line is parsed and, when `ack`, acknowledged. */
export function startEventSink(name: string, { ack = true } = {}): Promise<EventSink> {
  const events: PancakeEvent[] = [];
  const heartbeats: Heartbeat[] = [];
  const waiters: { pred: (e: PancakeEvent) => boolean; resolve: (e: PancakeEvent) => void }[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      buf += text;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as PancakeEvent | Heartbeat;
        buf = buf.slice(nl + 1);
        // The link's heartbeats are not events: no id, no ack (as postproc does).
        if ('heartbeat' in line) {
          heartbeats.push(line);
          continue;
        }
        const event = line;
        events.push(event);
        if (ack) socket.write(JSON.stringify({ ack: event.id }) + '\n');
        for (const w of [...waiters]) {
          if (w.pred(event)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(event);
          }
        }
      }
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: `\0${name}` }, () =>
      resolve({
        events,
        heartbeats,
        waitFor(pred, timeoutMs = 15_000) {
          const found = events.find(pred);
          if (found) return Promise.resolve(found);
          return new Promise((res, rej) => {
            const timer = setTimeout(() => rej(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events)}`)), timeoutMs);
            waiters.push({ pred, resolve: (e) => (clearTimeout(timer), res(e)) });
          });
        },
        close: () =>
          new Promise<void>((res) => {
            for (const s of sockets) s.destroy();
            server.close(() => res());
          }),
      }),
    );
  });
}

/**
 * `events` without the camera up/down events sent before `sinceMs` (wall-clock ms). A test that
 * makes its own outage checks this: on a busy machine the first connection to a camera can take
 * longer than --camera-timeout (a down and an up before the first file), which is not that outage.
 */
export function withoutCameraEventsBefore(events: readonly PancakeEvent[], sinceMs: number): PancakeEvent[] {
  return events.filter((e) => !('camera' in e) || Date.parse(e.time) >= sinceMs);
}
