// A network camera serving MJPEG over HTTP as a camera source: its JPEGs, fed at a fixed rate to one ffmpeg encoder child, come out as H.264.
import { ChildProcessHandle, describeExit, lastLines } from '../../../common/child.js';
import type { Clock } from '../../../common/clock.js';
import type { Logger } from '../../../common/log.js';
import type { CameraSource, SourceEnd } from '../source.js';
import type { CameraJpeg, CameraJpegs } from './camera-jpegs.js';
import { buildMjpegEncoderArgs, encoderName, jpegSize, PART_TRAILER, partHeader, type MjpegEncoderKind } from './encoder.js';
import { FixedRateFeeder } from './feeder.js';
import { MjpegHttpSource, type JpegFrameSource } from './http-source.js';
import type { HttpCameraUrl } from './url.js';

export interface MjpegSourceOptions {
  /** From {@link parseHttpCameraUrl}; only its masked form is ever logged. */
  camera: HttpCameraUrl;
  /** The fixed rate of the H.264 stream (--fps); with `poll`, also the snapshot rate. */
  fps: number;
  /** --camera-poll: the URL serves single JPEGs, fetched `fps` times a second. */
  poll: boolean;
  encoder: MjpegEncoderKind;
  /** --camera-timeout: no JPEG for this long ends the run (and connecting may take this long). */
  timeoutMs: number;
  clock: Clock;
  logger: Logger;
  /** Where every JPEG goes as it arrives, for the live view, /snapshot.jpg and detect(frame). */
  pictures?: CameraJpegs;
  /** Once per run, the camera's measured rate (unrounded) and its picture size. */
  onCamera?: (info: { fps: number; width: number; height: number }) => void;
  /** The ffmpeg executable; default `ffmpeg` on PATH. */
  ffmpeg?: string;
  env?: NodeJS.ProcessEnv;
  /** For tests: the JPEG source instead of an {@link MjpegHttpSource}. */
  jpegSource?: JpegFrameSource;
}

const STDERR_TAIL_BYTES = 8 * 1024;
// More than this waiting on the encoder's stdin: it cannot keep up, pictures are left out (and said so).
const MAX_PENDING_BYTES = 4 * 1024 * 1024;
// The HTTP source reports its own start-up failures (no answer, no frame) within --camera-timeout;
// the encoder then needs a moment before its first picture comes out.
const FIRST_FRAME_GRACE_MS = 5000;

const IDLE = 0;
const RUNNING = 1;
const ENDED = 2;

/**
 * One run of an MJPEG camera: the HTTP source's JPEGs go to `pictures` unchanged and, through a
 * {@link FixedRateFeeder}, to one ffmpeg child encoding H.264 at exactly `fps` with an IDR a second
 * (started at the first JPEG, once its size is known). Ends with the HTTP source's reason (refused,
 * 401, 404, not a JPEG…), when the camera sends no JPEG for `timeoutMs` (the feed stops repeating
 * the last one, so a stalled camera is never hidden), or when the encoder dies (its command line,
 * exit and stderr tail in the reason).
 */
export class MjpegSource implements CameraSource {
  /** The masked camera URL. */
  readonly description: string;
  readonly firstFrameGraceMs = FIRST_FRAME_GRACE_MS;
  private state = IDLE;
  private readonly http: JpegFrameSource;
  private child: ChildProcessHandle | undefined;
  private feeder: FixedRateFeeder | undefined;
  private size: { width: number; height: number } | undefined;
  private toldBehind = false;
  private lastPicture: CameraJpeg | undefined;
  private onEnd: (end: SourceEnd) => void = () => {};

  constructor(private readonly options: MjpegSourceOptions) {
    this.description = options.camera.masked;
    this.http = options.jpegSource ?? new MjpegHttpSource({
      camera: options.camera, clock: options.clock, logger: options.logger,
      pollFps: options.poll ? options.fps : undefined, timeoutMs: options.timeoutMs,
    });
  }

  start(onData: (chunk: Buffer) => void, onEnd: (end: SourceEnd) => void): void {
    if (this.state !== IDLE) return;
    this.state = RUNNING;
    this.onEnd = onEnd;
    this.http.start(
      (jpeg, wallMs) => this.frame(jpeg, wallMs, onData),
      (end) => this.end(end.reason),
    );
  }

  async close(): Promise<void> {
    this.state = ENDED;
    await this.stop();
  }

  /** The encoder sent no H.264 for `seconds` although it was fed: its story. */
  describeStall(seconds: number): string {
    const child = this.child;
    if (!child) return `${this.description}: sent no frame for ${seconds} s`;
    return `${this.description}: the H.264 encoder sent nothing for ${seconds} s (${child.commandLine()}${this.tail(child)})`;
  }

  private frame(jpeg: Buffer, wallMs: number, onData: (chunk: Buffer) => void): void {
    if (this.state !== RUNNING) return;
    if (!this.child) {
      const size = jpegSize(jpeg);
      if (!size) {
        this.end(`${this.description}: the camera's JPEG has no picture size (no SOF marker): not a usable JPEG`);
        return;
      }
      this.size = size;
      this.startEncoder(size, onData);
    }
    this.lastPicture = this.options.pictures?.push(jpeg, wallMs);
    this.feeder!.offer(jpeg);
  }

  private startEncoder(size: { width: number; height: number }, onData: (chunk: Buffer) => void): void {
    const { fps, encoder, clock, logger, timeoutMs } = this.options;
    const child = new ChildProcessHandle(this.options.ffmpeg ?? 'ffmpeg', buildMjpegEncoderArgs({ fps, encoder, ...size }), {
      stdin: true, env: this.options.env, stderrTailBytes: STDERR_TAIL_BYTES,
    });
    this.child = child;
    logger.info(`camera: ${this.description}: ${size.width}x${size.height} JPEGs, encoded to H.264 at ${fps} fps by ${encoderName(encoder)} (${child.commandLine()}, pid ${child.pid ?? '?'})`);
    child.stdout.on('data', (chunk: Buffer) => {
      if (this.state === RUNNING) onData(chunk);
    });
    void child.exited.then((exit) => {
      if (this.state !== RUNNING) return;
      const missing = exit.error?.code === 'ENOENT' ? 'ffmpeg not found: install it (sudo apt install ffmpeg, or scripts/deps.sh); ' : '';
      this.end(`${this.description}: ${missing}the H.264 encoder ended with ${describeExit(exit)} (${child.commandLine()}${this.tail(child)})`);
    });
    this.feeder = new FixedRateFeeder({
      clock, fps, stallMs: timeoutMs,
      write: (jpeg) => this.write(child, jpeg),
      onStall: (silentMs) => this.end(`${this.description}: sent no frame for ${Math.round(silentMs / 100) / 10} s`),
      onMeasured: (rate) => this.options.onCamera?.({ fps: rate, ...size }),
    });
  }

  private write(child: ChildProcessHandle, jpeg: Buffer): void {
    const stdin = child.stdin;
    if (!stdin || !stdin.writable) return;
    if (stdin.writableLength > MAX_PENDING_BYTES) {
      if (!this.toldBehind) {
        this.toldBehind = true;
        this.options.logger.warn(`camera: ${this.description}: the H.264 encoder cannot keep up with ${this.options.fps} fps at ${this.size!.width}x${this.size!.height}; pictures are left out (lower --fps, or try --encoder hardware)`);
      }
      return;
    }
    stdin.write(partHeader(jpeg.length));
    stdin.write(jpeg);
    stdin.write(PART_TRAILER);
  }

  private end(reason: string): void {
    if (this.state !== RUNNING) return;
    this.state = ENDED;
    void this.stop();
    this.onEnd({ reason });
  }

  private async stop(): Promise<void> {
    this.feeder?.close();
    this.options.pictures?.clear(this.lastPicture);
    await this.http.close();
    const child = this.child;
    if (!child) return;
    child.stdin?.end();
    await child.stop(2000);
  }

  private tail(child: ChildProcessHandle): string {
    const lines = lastLines(child.stderrTail(), 3);
    return lines ? `; stderr: ${lines}` : '';
  }
}
