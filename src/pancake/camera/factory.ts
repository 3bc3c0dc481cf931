// Which source the camera stream runs, from --camera: the Pi camera child, the test card, a file, a network camera.
import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { TESTCARD_FPS, TESTCARD_PATH } from '../../common/paths.js';
import type { PancakeConfig } from '../options.js';
import { FileLoopSource } from './file-source.js';
import { CameraJpegs } from './mjpeg/camera-jpegs.js';
import { encoderName } from './mjpeg/encoder.js';
import { MjpegSource } from './mjpeg/mjpeg-source.js';
import { probeFrameRate } from './mjpeg/rate-probe.js';
import { annotateConfig, buildRpicamArgs } from './rpicam.js';
import { RpicamSource } from './rpicam-source.js';
import { RtspSource } from './rtsp-source.js';
import { pickEncoder } from './select.js';
import type { SourceFactory } from './source.js';

/** How to (re)start the camera, and at what nominal rate it runs. */
export interface CameraPlan {
  factory: SourceFactory;
  /** The nominal frame rate (a network camera's real rate is measured per file). */
  fps: number;
  /**
   * The longest time between keyframes to expect: 1 s from the Pi camera (asked for one IDR a
   * second) and the test card; up to 10 s from an IP camera or a file of unknown origin.
   */
  keyframeIntervalMs: number;
  /** The source runs at exactly `fps` (see RecorderSettings.fixedRate); false for RTSP cameras. */
  fixedRate: boolean;
  /**
   * The camera's own JPEGs (an MJPEG camera): the live view's JPEG mode, /snapshot.jpg and
   * detect(frame) take their pictures from here instead of decoding the H.264 stream.
   */
  pictures?: CameraJpegs;
}

/** Builds the source factory for `config.camera`; logs what the camera is. An MJPEG stream without --fps is first measured (about 2 s). */
export async function planCamera(config: PancakeConfig, cameraTool: string | undefined, clock: Clock, logger: Logger): Promise<CameraPlan> {
  const camera = config.camera;
  if (camera.kind === 'auto') {
    const tool = cameraTool!;
    const encoder = pickEncoder(config.encoder);
    const annotateFile = path.join(config.stateDir, 'annotate.json');
    let annotate = true;
    try {
      fs.writeFileSync(annotateFile, JSON.stringify(annotateConfig(config.annotateTextSize), null, 2));
    } catch (err) {
      // A full disk must not keep the camera from starting: run without the date/time overlay.
      logger.warn(`camera: cannot write ${annotateFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); no date/time overlay this run`);
      annotate = false;
    }
    logger.info(`camera: ${tool}, ${config.streamWidth}x${config.streamHeight} at ${config.fps} fps, ${encoder} H.264 encoder`);
    const factory = (): RpicamSource =>
      new RpicamSource({
        tool, logger,
        args: buildRpicamArgs({
          width: config.streamWidth, height: config.streamHeight, fps: config.fps, vflip: config.vflip, hflip: config.hflip,
          rotation: config.rotation, encoder, postProcessFile: annotate ? annotateFile : undefined,
        }),
        onMissingAnnotateStage: () => {
          annotate = false;
          logger.warn('camera: this rpicam-apps has no annotate_cv stage (e.g. rpicam-apps-lite), so there is no date/time overlay; install rpicam-apps for it');
        },
      });
    return { factory, fps: config.fps, keyframeIntervalMs: 1000, fixedRate: true };
  }
  if (camera.kind === 'rtsp') {
    logger.info(`camera: ${camera.url.masked} over RTSP/${camera.transport.toUpperCase()}, received by ffmpeg without decoding`);
    let audioTold = false;
    const factory = (): RtspSource =>
      new RtspSource({
        camera: camera.url, transport: camera.transport, timeoutSeconds: Math.max(1, Math.round(config.cameraTimeoutMs / 1000)), logger,
        // Once per process, not once per reconnect.
        onAudioTrack: (codec) => {
          if (audioTold) return;
          audioTold = true;
          logger.info(`camera: the stream has an audio track (${codec}); pancake records video only and ignores it`);
        },
        onVideo: (line) => logger.info(`camera: video ${line}`),
      });
    return { factory, fps: config.fps, keyframeIntervalMs: 10_000, fixedRate: false };
  }
  if (camera.kind === 'mjpeg') {
    // An MJPEG camera's encoder is 'software' or 'hardware': auto means libx264, which
    // runs on every Pi (the Pi 5 has no encoder block, and h264_v4l2m2m needs one).
    const encoder = config.encoder === 'hardware' ? 'hardware' : 'software';
    // No --fps: the camera's own rate, measured on a connection that the first run then takes over.
    const probe = config.measureFps
      ? await probeFrameRate({ camera: camera.url, fallbackFps: config.fps, timeoutMs: config.cameraTimeoutMs, clock, logger })
      : undefined;
    const fps = probe?.fps ?? config.fps;
    let measuredSource = probe?.source;
    logger.info(`camera: ${camera.url.masked}, MJPEG over HTTP${camera.poll ? ' (snapshots polled)' : ''}, recorded at ${fps} fps by ${encoderName(encoder)}; the live view and detect(frame) get the camera's JPEGs`);
    const pictures = new CameraJpegs(logger);
    let told = false;
    const factory = (): MjpegSource => {
      const jpegSource = measuredSource;
      measuredSource = undefined;
      return new MjpegSource({
        camera: camera.url, fps, poll: camera.poll, encoder, timeoutMs: config.cameraTimeoutMs, clock, logger, pictures, jpegSource,
        // Once per process: the camera's own rate, and what to do when it is far from --fps (already said when measured).
        onCamera: (info) => {
          if (told || probe?.measured !== undefined) return;
          told = true;
          const rate = Math.round(info.fps * 10) / 10;
          const hint = Math.abs(info.fps - fps) > Math.max(1, fps * 0.2)
            ? `: frames are ${info.fps < fps ? 'repeated' : 'dropped'} to keep ${fps} fps; --fps ${Math.max(1, Math.round(info.fps))} would match it`
            : '';
          logger.info(`camera: ${camera.url.masked} sends ${info.width}x${info.height} at about ${rate} fps${hint}`);
        },
      });
    };
    return { factory, fps, keyframeIntervalMs: 1000, fixedRate: true, pictures };
  }
  const fps = camera.kind === 'test' ? TESTCARD_FPS : config.fps;
  const file = camera.kind === 'test' ? TESTCARD_PATH : camera.path;
  const description = camera.kind === 'test' ? 'built-in test card' : `file ${file}`;
  logger.info(`camera: ${description} looped at ${fps} fps`);
  return { factory: () => new FileLoopSource(file, fps, clock, description), fps, keyframeIntervalMs: camera.kind === 'test' ? 1000 : 10_000, fixedRate: true };
}
