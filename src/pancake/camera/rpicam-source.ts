// The camera child: rpicam-vid (or libcamera-vid) writing H.264 to stdout, in its own process group.
import { ChildProcessHandle, describeExit, lastLines } from '../../common/child.js';
import type { Logger } from '../../common/log.js';
import type { CameraSource, SourceEnd } from './source.js';
import { MISSING_STAGE_PATTERN } from './rpicam.js';

export interface RpicamSourceOptions {
  /** rpicam-vid or libcamera-vid, as found on PATH. */
  tool: string;
  args: string[];
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Called once if the camera reports that the annotate stage is missing (overlay silently absent). */
  onMissingAnnotateStage?: () => void;
}

/** One run of the camera child. */
export class RpicamSource implements CameraSource {
  readonly description: string;
  /**
   * The camera's start (libcamera's setup, sensor mode, the encoder) takes seconds on a Pi Zero and
   * more on a busy machine: its first frame may come this much later than --camera-timeout.
   */
  readonly firstFrameGraceMs = 5000;
  private child: ChildProcessHandle | undefined;
  private closing = false;

  constructor(private readonly options: RpicamSourceOptions) {
    this.description = options.tool;
  }

  start(onData: (chunk: Buffer) => void, onEnd: (end: SourceEnd) => void): void {
    const { tool, args, logger, env } = this.options;
    let warnedStage = false;
    const child = new ChildProcessHandle(tool, args, {
      env,
      stderrTailBytes: 8192,
      onStderr: (text) => {
        if (!warnedStage && MISSING_STAGE_PATTERN.test(text)) {
          warnedStage = true;
          this.options.onMissingAnnotateStage?.();
        }
      },
    });
    this.child = child;
    logger.info(`camera: started ${child.commandLine()} (pid ${child.pid ?? '?'})`);
    child.stdout.on('data', onData);
    void child.exited.then((exit) => {
      if (this.closing) return;
      onEnd({ reason: `${child.commandLine()} ended with ${describeExit(exit)}${tail(child)}` });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.child?.stop(2000);
  }

  /** For the stall case: the supervisor kills a child that sends nothing, and wants its story. */
  describeStall(seconds: number): string {
    const child = this.child;
    return child ? `${child.commandLine()} sent no frame for ${seconds} s${tail(child)}` : `camera sent no frame for ${seconds} s`;
  }
}

function tail(child: ChildProcessHandle): string {
  const lines = lastLines(child.stderrTail(), 5);
  return lines ? `; stderr: ${lines}` : '';
}
