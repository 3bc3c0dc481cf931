// --detect and --record-detection put together: detect() in its worker, and what its answers drive (clips or events).
import { UsageError } from '../../common/cli.js';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import type { FrameSubscription, FrameSubscriptionOptions } from '../decode/frame-decoder.js';
import type { EventSender } from '../events/sender.js';
import type { PancakeConfig } from '../options.js';
import { createDetectionRecorder, type DetectionRecorder } from '../record/detection.js';
import type { RecordingJournal } from '../record/journal.js';
import type { RecordingIndexInput } from '../record/recording-index.js';
import { Detector } from './detector.js';
import { HookError } from './hook.js';
import { DetectionMonitor } from './monitor.js';

export interface DetectionOptions {
  config: PancakeConfig;
  /** The stream's nominal frame rate: the default detect interval is one frame. */
  fps: number;
  /** The longest expected time between keyframes (see CameraPlan). */
  keyframeIntervalMs: number;
  /** The source runs at exactly `fps` (see CameraPlan). */
  fixedRate: boolean;
  /** Where detect(frame)'s pictures come from: the frame decoder, or an MJPEG camera's JPEGs decoded by sharp. */
  decoder: { subscribe(options: FrameSubscriptionOptions): FrameSubscription };
  journal: RecordingJournal;
  events: EventSender;
  clock: Clock;
  logger: Logger;
  /** Every answer of detect(), for the live page. */
  onState: (state: boolean) => void;
  /** The recordings index, told of every detection clip. */
  index?: RecordingIndexInput;
}

/**
 * The detector and, with --record-detection, the detection recorder (a consumer of the stream);
 * without it, the monitor that turns edges into `{"detection": …}` events.
 */
export class Detection {
  /** Records clips around detections; add it to the stream. */
  readonly recorder: DetectionRecorder | undefined;
  private readonly monitor: DetectionMonitor | undefined;
  private readonly detector: Detector;

  constructor(private readonly options: DetectionOptions) {
    const { config, fps, keyframeIntervalMs, fixedRate, decoder, journal, events, clock, logger } = options;
    const detect = config.detect!;
    if (config.recordDetection) {
      this.recorder = createDetectionRecorder(config.recordDetection.mode, {
        dir: config.recordDetection.dir, fps, fixedRate, rotation: config.rotation, clock, logger, journal,
        onFinished: (rec) => events.announce(rec), index: options.index,
        onDetectionEnd: (wall) => events.detection(false, wall),
      });
    } else {
      this.monitor = new DetectionMonitor({ clock, logger, onEdge: (state, wall) => events.detection(state, wall) });
    }
    const intervalMs = (detect.intervalSeconds ?? 1 / fps) * 1000;
    this.detector = new Detector({
      file: detect.customize, mode: detect.mode, intervalMs, clock, logger,
      // Keyframes only when detect() is called no more often than keyframes come: far cheaper to
      // decode, and no picture older than the interval (an IP camera's keyframe may be 10 s apart).
      frames: detect.mode === 'image'
        ? (onFrame) => decoder.subscribe({ width: detect.width, height: detect.height, keyframesOnly: intervalMs >= keyframeIntervalMs, onFrame })
        : undefined,
      onDetection: (state) => {
        this.options.onState(state);
        this.recorder?.setDetection(state);
        this.monitor?.setDetection(state);
      },
    });
  }

  /** Loads customize.ts in the worker: a broken file is a UsageError (exit 3) naming it. */
  async start(): Promise<void> {
    await this.detector.start().catch((err: unknown) => {
      throw err instanceof HookError ? new UsageError(`${this.options.config.detect!.customize}: ${err.message}`) : err;
    });
  }

  /** Stops calling detect(); the recorder is closed separately, after the camera. */
  async close(): Promise<void> {
    await this.detector.close();
    this.monitor?.close();
  }
}
