// A client of postproc's event socket for tests: writes lines as pancake does and waits for acks.
import net from 'node:net';
import { abstractSocketPath, LineSplitter, parseAckLine } from '../../src/common/events.js';

/** One connection to `"\0" + name`. */
export class EventClient {
  readonly acks: string[] = [];
  readonly otherLines: string[] = [];
  private readonly waiters: (() => void)[] = [];
  private closedFlag = false;

  private constructor(private readonly socket: net.Socket) {
    const splitter = new LineSplitter(1 << 20, (line) => {
      const ack = parseAckLine(line);
      if (ack === undefined) this.otherLines.push(line);
      else this.acks.push(ack);
      this.wake();
    }, () => {});
    socket.on('data', (d: Buffer) => splitter.push(d));
    socket.on('close', () => {
      this.closedFlag = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  /** Connects, retrying for a while (the server may still be starting). */
  static async connect(name: string, timeoutMs = 30_000): Promise<EventClient> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.createConnection({ path: abstractSocketPath(name) });
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        return new EventClient(socket);
      } catch (err) {
        if (performance.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Writes raw bytes (a line must end with "\n"). */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** Writes one event as a line. */
  send(event: object): Promise<void> {
    return this.write(JSON.stringify(event) + '\n');
  }

  /** Resolves once `id` has been acknowledged (rejects after `timeoutMs`, or if the connection closes). */
  async waitForAck(id: string, timeoutMs = 15_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.acks.includes(id)) {
      if (this.closedFlag) throw new Error(`connection closed before ack ${id}; acks: ${JSON.stringify(this.acks)}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no ack for ${id} within ${timeoutMs} ms; acks: ${JSON.stringify(this.acks)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
