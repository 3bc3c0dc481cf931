// Live viewers: each gets frames ack-paced with a small window, and skips to the next keyframe when behind.
import type { WebSocket } from 'ws';
import { frameHeader } from './protocol.js';

/**
 * A frame kept for viewers: an access unit (H.264 mode) or a JPEG picture. Its websocket message
 * (header + data) is built on first use and then sent to every viewer as it is, so with nobody
 * watching the camera's stream passes through here without a single copy.
 */
export class LiveFrame {
  private built: Buffer | undefined;

  constructor(
    private readonly kind: number,
    readonly seq: number,
    readonly data: Buffer,
    readonly keyframe: boolean,
    /** Wall-clock ms when pancake had the frame. */
    readonly wall: number,
  ) {}

  get message(): Buffer {
    // A prototype getter, not a per-object closure: object literals with their own getter
    // closures were retained by V8 (measured: the whole stream, 1 MB/s at 1080p30).
    this.built ??= Buffer.concat([frameHeader(this.kind, this.keyframe, this.seq, this.wall), this.data]);
    return this.built;
  }
}

/** Builds a frame. */
export function liveFrame(kind: number, seq: number, data: Buffer, keyframe: boolean, wall: number): LiveFrame {
  return new LiveFrame(kind, seq, data, keyframe, wall);
}

/** What a viewer needs of its connection (a ws WebSocket, or a test double). */
export type ViewerSocket = Pick<WebSocket, 'send' | 'bufferedAmount' | 'readyState'> & { terminate(): void };

const OPEN = 1;

/**
 * One browser. At most `window` frames are in flight (sent, not yet acknowledged). It always sends
 * the oldest frame it has not sent yet; when a new keyframe arrives and the viewer still has older
 * frames unsent, it skips them and goes on from that keyframe, so its delay never grows past about
 * one GOP no matter how slow its network is, and nothing queues up in pancake.
 */
export class Viewer {
  private nextSeq = -1;
  private readonly inflight = new Set<number>();
  /** After a corrupt (early-sent, later grown) frame, nothing more until the next keyframe. */
  private waitKeyframe = false;
  sent = 0;
  skipped = 0;

  constructor(
    readonly socket: ViewerSocket,
    private readonly window: number,
  ) {}

  /** A new frame exists; `frames` is the cache, oldest first, starting at the newest keyframe. */
  offer(frames: readonly LiveFrame[], latest: LiveFrame): void {
    if (latest.keyframe && this.nextSeq >= 0 && this.nextSeq < latest.seq) {
      this.skipped += latest.seq - this.nextSeq;
      this.nextSeq = latest.seq;
    }
    if (latest.keyframe) this.waitKeyframe = false;
    this.pump(frames);
  }

  /** The browser has drawn frame `seq`. */
  ack(seq: number, frames: readonly LiveFrame[]): void {
    this.inflight.delete(seq);
    this.pump(frames);
  }

  /** The frame with `seq` was sent early and turned out different: wait for the next keyframe. */
  corrupted(seq: number): void {
    if (this.nextSeq > seq) this.waitKeyframe = true;
  }

  /** Sends what the window allows. */
  pump(frames: readonly LiveFrame[]): void {
    if (this.waitKeyframe || this.socket.readyState !== OPEN || frames.length === 0) return;
    if (this.nextSeq < frames[0]!.seq) this.nextSeq = frames[0]!.seq; // joined, or fell out of the cache
    for (const frame of frames) {
      if (this.inflight.size >= this.window) break;
      if (frame.seq < this.nextSeq) continue;
      this.socket.send(frame.message);
      this.inflight.add(frame.seq);
      this.nextSeq = frame.seq + 1;
      this.sent++;
    }
  }

  /** Frames sent and not acknowledged. */
  get inFlight(): number {
    return this.inflight.size;
  }
}
