// The JPEG fallback of the live view: decoded pictures encoded once (or an MJPEG camera's own JPEGs as they are), ack-paced and capped at --max-stream-fps.
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { FRAME_JPEG } from './protocol.js';
import { liveFrame, Viewer, type LiveFrame, type ViewerSocket } from './viewers.js';

/** One decoded RGB picture. */
export interface RgbPicture {
  data: Uint8Array;
  width: number;
  height: number;
  time: number;
}

/** What the JPEG hub needs of the shared frame decoder: newest-frame subscriptions. */
export interface PictureSource {
  subscribe(options: { width: number; height: number; keyframesOnly: boolean; onFrame: (frame: RgbPicture) => void }): { close(): void };
}

/** An MJPEG camera's own JPEGs (see CameraJpegs): sent as they are, never decoded. */
export interface CameraJpegSource {
  subscribeJpeg(onJpeg: (picture: { jpeg: Buffer; time: number }) => void): { close(): void };
  /** The newest JPEG of the running camera, if any. */
  readonly newest: { jpeg: Buffer; time: number } | undefined;
}

export interface JpegHubOptions {
  source: PictureSource;
  /** When given, viewers get these JPEGs and `source` is not used. */
  jpegs?: CameraJpegSource;
  width: number;
  height: number;
  maxFps: number;
  clock: Clock;
  logger: Logger;
  quality?: number;
}

/**
 * Encodes RGB to JPEG. sharp (libvips) is loaded on first use: it is about 20 MB of resident
 * memory that a Pi nobody watches in JPEG mode should not pay for.
 */
export async function encodeJpeg(frame: RgbPicture, quality = 75): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp(Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength), {
    raw: { width: frame.width, height: frame.height, channels: 3 },
  })
    .jpeg({ quality, mozjpeg: false })
    .toBuffer();
}

/** A picture waiting to be sent: RGB to encode, or a JPEG as it is. */
type PendingPicture = { rgb: RgbPicture; time: number } | { jpeg: Buffer; time: number };

/**
 * The decoder runs only while a JPEG viewer is connected (with an MJPEG camera there is none: its
 * JPEGs are passed on). Each viewer has one picture in flight
 * (as the original: nothing new until the browser acknowledges the last), pictures are at most
 * `maxFps` per second, and a picture is encoded once for all viewers that are ready for it.
 */
export class JpegHub {
  private readonly viewers = new Set<Viewer>();
  private subscription: { close(): void } | undefined;
  private newest: PendingPicture | undefined;
  private frames: LiveFrame[] = [];
  private seq = 0;
  private encoding = false;
  /** When the next picture may go out (monotonic ms): one interval of --max-stream-fps after the last. */
  private nextDueMono = -Infinity;

  constructor(private readonly options: JpegHubOptions) {}

  addViewer(socket: ViewerSocket): Viewer {
    const viewer = new Viewer(socket, 1);
    this.viewers.add(viewer);
    if (!this.subscription) {
      const { width, height, jpegs } = this.options;
      if (jpegs) {
        this.options.logger.info(`live: the camera's own JPEGs for the JPEG view (at most ${this.options.maxFps} fps)`);
        this.subscription = jpegs.subscribeJpeg((picture) => {
          this.newest = picture;
          this.maybeEncode();
        });
      } else {
        this.options.logger.info(`live: decoding for the JPEG view (${width}x${height}, at most ${this.options.maxFps} fps)`);
        this.subscription = this.options.source.subscribe({
          width, height, keyframesOnly: false,
          onFrame: (frame) => {
            this.newest = { rgb: frame, time: frame.time };
            this.maybeEncode();
          },
        });
      }
    }
    viewer.pump(this.frames);
    return viewer;
  }

  ack(viewer: Viewer, seq: number): void {
    viewer.ack(seq, this.frames);
    this.maybeEncode();
  }

  removeViewer(viewer: Viewer): void {
    this.viewers.delete(viewer);
    if (this.viewers.size === 0) {
      this.subscription?.close();
      this.subscription = undefined;
      this.newest = undefined;
      this.options.logger.info(`live: no JPEG viewer left; ${this.options.jpegs ? 'camera JPEGs' : 'decoder'} released`);
    }
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  private maybeEncode(): void {
    const { clock, maxFps } = this.options;
    const frame = this.newest;
    if (!frame || this.encoding || !this.anyViewerReady()) return; // nobody ready: keep only the newest
    const interval = 1000 / maxFps;
    const now = clock.monotonic();
    // A camera's JPEGs come at its own rate, jittering around --max-stream-fps when the two are
    // equal: one up to a quarter interval early goes at once, on a schedule that still averages at
    // most maxFps, instead of each waiting on a timer. Decoded pictures keep the strict spacing.
    const slack = 'jpeg' in frame ? interval / 4 : 0;
    const wait = this.nextDueMono - slack - now;
    if (wait > 0) {
      this.encoding = true; // reserve; the timer encodes the newest picture then
      clock.setTimeout(() => {
        this.encoding = false;
        this.maybeEncode();
      }, wait);
      return;
    }
    this.newest = undefined;
    this.nextDueMono = Math.max(now, this.nextDueMono) + interval;
    if ('jpeg' in frame) {
      // The camera's own bytes: sent now, with no promise or microtask in between.
      this.send(frame.jpeg, frame.time);
      return;
    }
    this.encoding = true;
    encodeJpeg(frame.rgb, this.options.quality).then(
      (jpeg) => {
        this.encoding = false;
        this.send(jpeg, frame.time);
      },
      (err: Error) => {
        this.encoding = false;
        this.options.logger.error(`live: JPEG encoding failed: ${err.message}`);
      },
    );
  }

  private send(jpeg: Buffer, time: number): void {
    const out = liveFrame(FRAME_JPEG, this.seq++ >>> 0, jpeg, true, time);
    this.frames = [out];
    for (const v of this.viewers) v.offer(this.frames, out);
    this.maybeEncode();
  }

  private anyViewerReady(): boolean {
    for (const v of this.viewers) if (v.inFlight === 0) return true;
    return false;
  }

  close(): void {
    this.subscription?.close();
    this.subscription = undefined;
  }
}
