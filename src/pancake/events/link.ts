// The connection to postproc: sends the outbox in order over the abstract unix socket, reads acks, reconnects, beats.
import net from 'node:net';
import type { Clock, Timer } from '../../common/clock.js';
import { abstractSocketPath, encodeLine, MAX_EVENT_LINE_BYTES, type PancakeEvent } from '../../common/events.js';
import type { Logger } from '../../common/log.js';
import { DEFAULT_RESTART, RestartBackoff } from '../../common/restart.js';
import type { Outbox } from './outbox.js';

/** The longest pause between attempts to reach postproc (1 s doubling up to this). */
export const LOCAL_SOCKET_MAX_BACKOFF_MS = 5000;
/** How often a heartbeat is sent while connected (postproc tells "idle" from "dead" by it). */
export const HEARTBEAT_MS = 60_000;

export interface EventLinkOptions {
  socketName: string;
  outbox: Outbox;
  clock: Clock;
  logger: Logger;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * A heartbeat every this many ms (default {@link HEARTBEAT_MS}), which keeps one connection open
   * all the time; 0: no heartbeat, and a connection only while there are events to send.
   */
  heartbeatMs?: number;
  /** --name: carried by each heartbeat, so postproc knows which camera is alive. */
  cameraName?: string;
}

/**
 * Never blocks recording: events go to the outbox first (synchronously, durably), and this link
 * delivers whatever is there whenever postproc is reachable. Everything unacknowledged is sent
 * again, in order, after each reconnect; postproc ignores ids it has already handled.
 */
export class EventLink {
  private socket: net.Socket | undefined;
  private connected = false;
  private closed = false;
  private sent = new Set<string>();
  private readonly retry: RestartBackoff;
  private inbound = '';
  private started = false;
  /** A reconnect is scheduled. */
  private waiting = false;
  private loggedDown = false;
  private heartbeatTimer: Timer | undefined;
  private readonly heartbeatMs: number;

  constructor(private readonly options: EventLinkOptions) {
    this.heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
    // A local socket costs nothing to try: postproc is found again within 5 s of coming back.
    this.retry = new RestartBackoff(options.clock, {
      initialMs: options.initialBackoffMs ?? DEFAULT_RESTART.initialMs,
      maxMs: options.maxBackoffMs ?? LOCAL_SOCKET_MAX_BACKOFF_MS,
    });
  }

  /**
   * Starts delivering. With heartbeats the link stays connected, sending one on connecting and
   * every `heartbeatMs` (postproc closes a connection that sends nothing, so idle local clients
   * cannot fill its table; a heartbeat is something). Without, it connects only while the outbox
   * holds events.
   */
  start(): void {
    this.started = true;
    if (this.wantsConnection) this.connect();
  }

  /** Delivers new outbox events now if connected; connects first when not. */
  flush(): void {
    if (!this.connected || !this.socket) {
      if (this.started && !this.socket && !this.waiting && this.wantsConnection) this.connect();
      return;
    }
    for (const event of this.options.outbox.pending()) {
      if (this.sent.has(event.id)) continue;
      this.sent.add(event.id);
      this.socket.write(encodeLine(event));
    }
  }

  /** Connection attempts that failed since postproc was last reached. */
  get failedAttempts(): number {
    return this.retry.failureCount;
  }

  /** Whether every event has been acknowledged. */
  get idle(): boolean {
    return this.options.outbox.pending().length === 0;
  }

  /** Whether a connection should be open now: always with heartbeats, else while events wait. */
  private get wantsConnection(): boolean {
    return this.heartbeatMs > 0 || !this.idle;
  }

  /** Sends a heartbeat now and schedules the next one; only while connected. */
  private beat(): void {
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = undefined;
    if (this.heartbeatMs <= 0 || this.closed || !this.connected || !this.socket) return;
    const { cameraName, clock } = this.options;
    const heartbeat = { heartbeat: new Date(clock.now()).toISOString(), ...(cameraName === undefined ? {} : { name: cameraName }) };
    this.socket.write(encodeLine(heartbeat));
    this.heartbeatTimer = clock.setTimeout(() => this.beat(), this.heartbeatMs);
  }

  private connect(): void {
    if (this.closed) return;
    const { socketName, logger } = this.options;
    const socket = net.createConnection({ path: abstractSocketPath(socketName) });
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      this.connected = true;
      this.retry.succeeded();
      this.loggedDown = false;
      this.sent.clear();
      logger.info(`events: connected to postproc at @${socketName}; ${this.options.outbox.pending().length} event(s) to send`);
      // The heartbeat first: postproc counts this connection as pancake's before a long resend.
      this.beat();
      this.flush();
    });
    socket.on('data', (text: string) => this.onData(text));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!this.loggedDown) {
        logger.warn(`events: postproc not reachable at @${socketName} (${err.code ?? err.message}); events wait in the outbox`);
        this.loggedDown = true;
      }
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      const wasConnected = this.connected;
      this.connected = false;
      this.socket = undefined;
      this.heartbeatTimer?.cancel();
      this.heartbeatTimer = undefined;
      if (!this.wantsConnection) {
        // Nothing to send: connect again with the next event.
        if (wasConnected) logger.info('events: postproc closed the idle connection; connecting again with the next event');
        return;
      }
      if (wasConnected) logger.warn(`events: connection to postproc closed; reconnecting`);
      this.scheduleReconnect();
    });
  }

  private onData(text: string): void {
    this.inbound += text;
    if (this.inbound.length > MAX_EVENT_LINE_BYTES) {
      this.options.logger.warn('events: postproc sent an over-long line; reconnecting');
      this.inbound = '';
      this.socket?.destroy();
      return;
    }
    let nl: number;
    while ((nl = this.inbound.indexOf('\n')) >= 0) {
      const line = this.inbound.slice(0, nl).trim();
      this.inbound = this.inbound.slice(nl + 1);
      if (!line) continue;
      try {
        const msg = JSON.parse(line) as { ack?: unknown };
        if (typeof msg.ack === 'string') {
          this.options.outbox.ack(msg.ack);
          this.sent.delete(msg.ack);
        }
      } catch {
        this.options.logger.warn(`events: ignoring a line from postproc that is not JSON`);
      }
    }
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    this.waiting = true;
    this.retry.failed(() => {
      this.waiting = false;
      this.connect();
    });
  }

  /** Waits up to `ms` for every event to be acknowledged (at shutdown). */
  async drain(ms: number): Promise<boolean> {
    const until = this.options.clock.monotonic() + ms;
    while (!this.idle && this.options.clock.monotonic() < until) {
      this.flush();
      await new Promise<void>((resolve) => this.options.clock.setTimeout(resolve, 20));
    }
    return this.idle;
  }

  close(): void {
    this.closed = true;
    this.retry.cancel();
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = undefined;
    this.socket?.destroy();
    this.socket = undefined;
  }
}

export type { PancakeEvent };
