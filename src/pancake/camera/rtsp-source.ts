// A network camera over RTSP: an ffmpeg child copying the camera's H.264 to stdout (no decoding), in its own process group.
import { ChildProcessHandle, describeExit, lastLines, type ChildExit } from '../../common/child.js';
import type { Logger } from '../../common/log.js';
import type { CameraSource, SourceEnd } from './source.js';
import {
  buildRtspArgs,
  classifyRtspFailure,
  codecProblem,
  describeInput,
  insertParameterSets,
  maskSecrets,
  parseSdp,
  sdpParameterSets,
  type CameraUrl,
  type RtspTransport,
} from './rtsp.js';

export interface RtspSourceOptions {
  /** From {@link parseCameraUrl}; only its masked form is ever logged. */
  camera: CameraUrl;
  /** Default tcp. */
  transport?: RtspTransport;
  /** ffmpeg's socket timeout: no connection or no data for this long ends the child. Default 10 s. */
  timeoutSeconds?: number;
  logger: Logger;
  /** The ffmpeg executable; default `ffmpeg` on PATH. */
  ffmpeg?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Called at most once per source object when the stream has an audio track (pancake records
   * video only), with ffmpeg's codec name (`aac`, `pcm_mulaw`). The supervisor makes a new source
   * per restart, so a caller that wants to say it once per process passes this and remembers;
   * without it the source logs "audio track (…) ignored" itself, once per source object.
   */
  onAudioTrack?: (codec: string) => void;
  /**
   * Called once when the video is known to be H.264, with ffmpeg's stream line ("h264 (Main), …,
   * 1920x1080, 15 fps, …"); without it the source logs that line itself.
   */
  onVideo?: (description: string) => void;
}

// The first stderr bytes are kept whole: the SDP, the stream lines and the first errors are there,
// and a long run's tail (kept by ChildProcessHandle) may no longer hold them.
const STDERR_HEAD_BYTES = 64 * 1024;
const STDERR_TAIL_BYTES = 16 * 1024;
// ffmpeg prints the input description before it writes any output, so the queue stays empty in
// practice; the bound only keeps a misbehaving child from growing memory.
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
// ffmpeg writes nothing until it has probed the stream (up to its 5 s analyze duration; about 3 s
// measured with x264 B-frames and AAC), and a stream copy starts at the first keyframe, which IP
// cameras send every 1-10 s: the first frame of a run may come this much later than --camera-timeout.
const FIRST_FRAME_GRACE_MS = 10_000;

/**
 * One run of ffmpeg ingesting an RTSP camera. Video reaches `onData` only once ffmpeg has described
 * the input and it is H.264 (ffmpeg would copy H.265 into the "h264" output just as well); a
 * camera that sends another codec is stopped at once with a reason saying how to fix it. When the
 * camera sends its SPS/PPS only in the SDP, they are put in front of the first picture, since
 * ffmpeg's raw output would have none.
 */
export class RtspSource implements CameraSource {
  /** The masked camera URL. */
  readonly description: string;
  /** See {@link FIRST_FRAME_GRACE_MS}. */
  readonly firstFrameGraceMs = FIRST_FRAME_GRACE_MS;
  private child: ChildProcessHandle | undefined;
  private closing = false;
  private head = '';
  private stderrBytes = 0;
  private decided = false;
  private rejected: string | undefined;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private sentData = false;
  private audio: string | undefined;
  private video: string | undefined;
  private readonly timeoutSeconds: number;

  constructor(private readonly options: RtspSourceOptions) {
    this.description = options.camera.masked;
    this.timeoutSeconds = options.timeoutSeconds ?? 10;
  }

  /** The audio track's codec once seen (the stream's audio is never recorded). */
  get audioCodec(): string | undefined {
    return this.audio;
  }

  /** ffmpeg's description of the video stream, once the input is known to be H.264. */
  get videoDescription(): string | undefined {
    return this.video;
  }

  start(onData: (chunk: Buffer) => void, onEnd: (end: SourceEnd) => void): void {
    const { camera, logger, env } = this.options;
    const args = buildRtspArgs({ url: camera.url, transport: this.options.transport ?? 'tcp', timeoutSeconds: this.timeoutSeconds });
    let pending = '';
    const child = new ChildProcessHandle(this.options.ffmpeg ?? 'ffmpeg', args, {
      env,
      stderrTailBytes: STDERR_TAIL_BYTES,
      onStderr: (text) => {
        this.stderrBytes += text.length;
        if (this.head.length < STDERR_HEAD_BYTES) this.head = (this.head + text).slice(0, STDERR_HEAD_BYTES);
        // Look again only when a line is complete: the SDP and stream lines arrive in pieces.
        pending += text;
        if (!pending.includes('\n')) return;
        pending = '';
        this.inspect(child, onData);
      },
    });
    this.child = child;
    logger.info(`camera: started ${this.commandLine()} (pid ${child.pid ?? '?'})`);
    child.stdout.on('data', (chunk: Buffer) => {
      if (this.rejected || this.closing) return;
      if (this.decided) {
        this.forward(chunk, onData);
        return;
      }
      this.queue.push(chunk);
      this.queuedBytes += chunk.length;
      if (this.queuedBytes > MAX_QUEUED_BYTES) {
        logger.warn(`camera: ${this.description}: ffmpeg sent video before describing it; passing it on`);
        this.open(onData);
      }
    });
    void child.exited.then((exit) => {
      if (this.closing) return;
      onEnd({ reason: this.endReason(child, exit) });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.child?.stop(2000);
  }

  /** For the stall case: the supervisor kills a child that sends nothing, and wants its story. */
  describeStall(seconds: number): string {
    const child = this.child;
    return child ? `${this.description}: sent no frame for ${seconds} s (${this.commandLine()}${this.tail(child)})` : `${this.description}: sent no frame for ${seconds} s`;
  }

  /** Decides, from what ffmpeg has said so far, whether the video may flow, and reports an audio track. */
  private inspect(child: ChildProcessHandle, onData: (chunk: Buffer) => void): void {
    if (this.decided || this.rejected || this.closing) return;
    const input = describeInput(this.head);
    if (input.audioCodec && this.audio === undefined) {
      this.audio = input.audioCodec;
      if (this.options.onAudioTrack) this.options.onAudioTrack(input.audioCodec);
      else this.options.logger.info(`camera: ${this.description}: audio track (${input.audioCodec}) ignored`);
    }
    const problem = input.videoCodec ? codecProblem(input.videoCodec) : null;
    if (problem) {
      // Known from the SDP or the stream line: no point waiting for ffmpeg to copy it.
      this.rejected = problem;
      this.queue = [];
      void child.stop(2000);
      return;
    }
    if (input.complete && input.videoCodec === 'h264') {
      this.video = input.videoLine ?? 'h264';
      // Said once: by the caller when it wants to, else here (as for the audio track).
      if (this.options.onVideo) this.options.onVideo(this.video);
      else this.options.logger.info(`camera: ${this.description}: ${this.video}`);
      this.open(onData);
    }
    // Anything else (no video track, the input not yet described) ends in ffmpeg's own error.
  }

  /** Lets the video flow: the queued chunks first, the SDP's parameter sets in front of the first picture. */
  private open(onData: (chunk: Buffer) => void): void {
    this.decided = true;
    const queued = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const chunk of queued) this.forward(chunk, onData);
  }

  private forward(chunk: Buffer, onData: (chunk: Buffer) => void): void {
    if (!this.sentData) {
      this.sentData = true;
      const sets = sdpParameterSets(parseSdp(this.head));
      const first = insertParameterSets(chunk, sets);
      if (first !== chunk) this.options.logger.info(`camera: ${this.description}: SPS/PPS only in the SDP; put in front of the stream`);
      onData(first);
      return;
    }
    onData(chunk);
  }

  private endReason(child: ChildProcessHandle, exit: ChildExit): string {
    const how = this.rejected ? 'stopped by pancake' : `ended with ${describeExit(exit)}`;
    const why = this.rejected ?? classifyRtspFailure(this.stderrText(child), {
      camera: this.options.camera,
      code: exit.code,
      signal: exit.signal,
      spawnError: exit.error?.code ?? exit.error?.message,
      receivedData: this.sentData,
      timeoutSeconds: this.timeoutSeconds,
    });
    return `${this.description}: ${why} (${this.commandLine()} ${how}${this.tail(child)})`;
  }

  /** All of stderr when it was short, else its head and its tail. */
  private stderrText(child: ChildProcessHandle): string {
    return this.stderrBytes <= this.head.length ? this.head : `${this.head}\n${child.stderrTail()}`;
  }

  private commandLine(): string {
    return this.child ? maskSecrets(this.child.commandLine(), this.options.camera.password) : 'ffmpeg';
  }

  private tail(child: ChildProcessHandle): string {
    const lines = lastLines(maskSecrets(child.stderrTail(), this.options.camera.password), 3);
    return lines ? `; stderr: ${lines}` : '';
  }
}
