// Receives pancake's events: an abstract unix stream socket, one JSON object per line, acks once durable.
import net from 'node:net';
import { UsageError } from '../common/cli.js';
import { abstractSocketPath, LineSplitter, MAX_EVENT_LINE_BYTES, parseEventLine, type ReceivedEvent, type ReceivedHeartbeat } from '../common/events.js';
import { systemClock, type Clock, type Timer } from '../common/clock.js';
import type { Logger } from '../common/log.js';

/**
 * Handles one valid event; resolves with the id to acknowledge (undefined: send no ack) once the
 * event is durably recorded, or rejects when it could not be (then no ack: the sender resends).
 */
export type EventHandler = (event: ReceivedEvent, from: string) => Promise<string | undefined>;

export interface EventReceiverOptions {
  socketName: string;
  logger: Logger;
  handle: EventHandler;
  /** Called for each valid heartbeat (pancake is alive); heartbeats are not acknowledged. */
  onHeartbeat?: (heartbeat: ReceivedHeartbeat, from: string) => void;
  maxLineBytes?: number;
  clock?: Clock;
  /** A connection that has sent no valid event (or heartbeat) this long after opening is closed. */
  firstEventMs?: number;
  /** A connection with no valid event or heartbeat for this long is closed (pancake reconnects). */
  idleMs?: number;
}

// Lines read but not yet handled, per connection, before reading from it pauses.
const HIGH_WATER_LINES = 64;
// pancake holds one connection; this bounds what a flood of local clients can make us hold.
const MAX_CONNECTIONS = 16;
const FIRST_EVENT_MS = 10_000;
const IDLE_MS = 60 * 60_000;

const RUNNING = 0;
const CLOSING = 1;
const CLOSED = 2;

/**
 * A valid event as it appears in a log: its known fields only (unknown ones are never repeated),
 * `timing` shortened to its first runs and count, the whole cut at `max` characters. JSON, so no
 * control character reaches the log.
 */
export function describeEvent(event: ReceivedEvent, max = 600): string {
  const shown: Record<string, unknown> = { ...event };
  if (event.kind === 'file' && event.timing && event.timing.length > 4) {
    shown.timing = [...event.timing.slice(0, 3), `… ${event.timing.length} runs`];
  }
  const text = JSON.stringify(shown);
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/** A line as it appears in a log: quoted (no control characters reach the log) and cut short. */
export function logSnippet(text: string, max = 300): string {
  return text.length > max ? `${JSON.stringify(text.slice(0, max))}… (${text.length} characters)` : JSON.stringify(text);
}

/**
 * Listens on `"\0" + socketName`. Each connection's lines are handled strictly in order, one at a
 * time, and each valid event is acknowledged with `{"ack": id}` only after `handle` resolved.
 * A bad line (not JSON, wrong field types, longer than `maxLineBytes`) is logged and skipped;
 * the connection stays open. Any local user can connect, so nothing here trusts the input.
 */
export class EventReceiver {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  private state = RUNNING;
  private nextConnection = 1;

  constructor(private readonly options: EventReceiverOptions) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /** Binds the socket; a name already in use is a UsageError with exit code 2. */
  start(): Promise<void> {
    const { socketName, logger } = this.options;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(err.code === 'EADDRINUSE'
          ? new UsageError(`socket name already in use: ${socketName} (is another postproc running with it?)`, 2)
          : new UsageError(`cannot listen on socket name ${socketName}: ${err.message}`, 2));
      };
      this.server.once('error', onError);
      this.server.listen({ path: abstractSocketPath(socketName) }, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => logger.error(`event socket ${socketName}: ${err.message}`));
        logger.info(`listening for events on abstract unix socket "${socketName}"`);
        resolve();
      });
    });
  }

  /** Stops accepting, lets each connection finish the event it is handling, then closes them; idempotent. */
  async close(): Promise<void> {
    if (this.state !== RUNNING) return;
    this.state = CLOSING;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.connections].map((c) => c.close()));
    if (this.server.listening) await closed;
    this.state = CLOSED;
  }

  private accept(socket: net.Socket): void {
    if (this.state !== RUNNING) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= MAX_CONNECTIONS) {
      // Full: make room rather than refuse, so a flood of idle clients never locks pancake out. The
      // first to go is the oldest that never sent a valid event, else the one quiet the longest.
      const all = [...this.connections];
      const victim = all.find((c) => c.validEvents === 0) ?? all.sort((a, b) => a.lastEventMono - b.lastEventMono)[0]!;
      this.options.logger.warn(`event socket: ${MAX_CONNECTIONS} connections open already; closing ${victim.name} (${victim.validEvents === 0 ? 'no valid event yet' : 'the quietest'}) to take a new one`);
      this.connections.delete(victim);
      victim.drop();
    }
    const name = `event connection #${this.nextConnection++}`;
    const connection = new Connection(socket, name, this.options);
    this.connections.add(connection);
    socket.once('close', () => this.connections.delete(connection));
  }
}

/** One client: splits its bytes into lines and handles them in order. */
class Connection {
  private readonly queue: string[] = [];
  private busy: Promise<void> | undefined;
  private closing = false;
  private readonly splitter: LineSplitter;
  private readonly clock: Clock;
  private quietTimer: Timer | undefined;
  /** Valid events received so far, and when the last one came (monotonic ms). */
  validEvents = 0;
  lastEventMono: number;

  constructor(
    private readonly socket: net.Socket,
    readonly name: string,
    private readonly options: EventReceiverOptions,
  ) {
    const { logger } = options;
    this.clock = options.clock ?? systemClock;
    this.lastEventMono = this.clock.monotonic();
    this.armQuiet(options.firstEventMs ?? FIRST_EVENT_MS, 'sent no valid event');
    socket.once('close', () => this.quietTimer?.cancel());
    const maxBytes = options.maxLineBytes ?? MAX_EVENT_LINE_BYTES;
    logger.info(`${name} opened`);
    this.splitter = new LineSplitter(
      maxBytes,
      (line) => this.enqueue(line),
      (bytes) => logger.warn(`${name}: line longer than ${maxBytes} bytes (${bytes} so far) skipped without reading it whole`),
    );
    socket.on('data', (chunk: Buffer) => this.splitter.push(chunk));
    socket.on('error', (err) => logger.warn(`${name}: ${err.message}`));
    socket.on('close', () => {
      if (this.splitter.pendingBytes > 0) logger.warn(`${name}: closed in the middle of a line (${this.splitter.pendingBytes} bytes dropped)`);
      logger.info(`${name} closed`);
    });
  }

  /** Closes the connection if no valid event comes within `ms`. */
  private armQuiet(ms: number, why: string): void {
    this.quietTimer?.cancel();
    this.quietTimer = this.clock.setTimeout(() => {
      this.options.logger.warn(`${this.name} ${why} for ${Math.round(ms / 1000)} s; closing it`);
      this.drop();
    }, ms);
  }

  /** Closes at once, dropping lines not handled yet (a client that holds a place without using it). */
  drop(): void {
    this.closing = true;
    this.quietTimer?.cancel();
    this.socket.destroy();
  }

  private enqueue(line: string): void {
    if (this.closing) return;
    this.queue.push(line);
    if (this.queue.length >= HIGH_WATER_LINES) this.socket.pause();
    if (!this.busy) this.busy = this.drain();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closing) {
      const line = this.queue.shift()!;
      if (this.queue.length < HIGH_WATER_LINES / 2 && this.socket.isPaused()) this.socket.resume();
      await this.handleLine(line);
    }
    this.busy = undefined;
  }

  private async handleLine(line: string): Promise<void> {
    const { logger, handle } = this.options;
    if (line.trim() === '') return;
    const parsed = parseEventLine(line);
    if (!parsed.ok) {
      logger.warn(`${this.name}: skipped a bad line (${parsed.error}): ${logSnippet(line)}`);
      return;
    }
    // A heartbeat is valid traffic like an event: it keeps pancake's place when the table is full.
    this.validEvents++;
    this.lastEventMono = this.clock.monotonic();
    this.armQuiet(this.options.idleMs ?? IDLE_MS, 'sent no event');
    if ('heartbeat' in parsed) {
      // Every minute: not worth a log line each; never acknowledged.
      logger.debug(`${this.name}: heartbeat ${JSON.stringify(parsed.heartbeat)}`);
      try {
        this.options.onHeartbeat?.(parsed.heartbeat, this.name);
      } catch (err) {
        logger.error(`${this.name}: heartbeat handler failed: ${(err as Error).message}`);
      }
      return;
    }
    logger.info(`${this.name}: received ${describeEvent(parsed.event)}`);
    let ack: string | undefined;
    try {
      ack = await handle(parsed.event, this.name);
    } catch (err) {
      logger.error(`${this.name}: not acknowledged, could not record it: ${(err as Error).message}`);
      return;
    }
    if (ack !== undefined && !this.socket.destroyed && this.socket.writable) this.socket.write(JSON.stringify({ ack }) + '\n');
  }

  /** Finishes the line being handled, drops the rest (unacknowledged: they are sent again), closes. */
  async close(): Promise<void> {
    this.closing = true;
    this.quietTimer?.cancel();
    this.queue.length = 0;
    await this.busy;
    await new Promise<void>((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      // Once the last ack is flushed; a peer that never closes its side must not hold up shutdown.
      this.socket.end(() => this.socket.destroy());
    });
  }
}
