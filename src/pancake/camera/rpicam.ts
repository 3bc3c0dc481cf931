// The rpicam-vid / libcamera-vid command line and its annotation file, built by pure functions.
import type { Rotation } from '../../common/events.js';

/** What the camera child is asked for. */
export interface RpicamSettings {
  width: number;
  height: number;
  fps: number;
  vflip: boolean;
  hflip: boolean;
  /** Only 0 and 180 reach the camera; 90 and 270 are display rotation (see {@link cameraRotation}). */
  rotation: Rotation;
  /** Generated post-processing JSON (the timestamp overlay), when the annotate stage is wanted. */
  postProcessFile?: string;
  /**
   * `hardware`: `--codec h264`, the VideoCore encoder of Pi Zero 2 W … Pi 4.
   * `software`: `--codec libav` with libx264, for the Pi 5, which has no H.264 encoder block.
   */
  encoder: 'hardware' | 'software';
}

/** The rotation libcamera can do itself: only 180 (a flip of both axes); 90/270 need a transpose it lacks. */
export function cameraRotation(rotation: Rotation): 0 | 180 {
  return rotation === 180 ? 180 : 0;
}

/**
 * rpicam-vid argv: endless (-t 0), no preview window, H.264 with SPS/PPS before every IDR (--inline),
 * one IDR per second (--intra = fps) so splits and pre-roll are accurate to a second, and every
 * frame flushed to stdout at once (--flush) so the live view is not held back by stdio buffering.
 */
export function buildRpicamArgs(s: RpicamSettings): string[] {
  const args = ['-t', '0', '-n'];
  if (s.encoder === 'hardware') args.push('--codec', 'h264');
  else args.push('--codec', 'libav', '--libav-format', 'h264', '--libav-video-codec', 'libx264');
  args.push('--inline', '--intra', String(Math.max(1, Math.round(s.fps))), '--flush');
  args.push('--width', String(s.width), '--height', String(s.height), '--framerate', String(s.fps));
  if (s.vflip) args.push('--vflip');
  if (s.hflip) args.push('--hflip');
  if (cameraRotation(s.rotation) === 180) args.push('--rotation', '180');
  if (s.postProcessFile) args.push('--post-process-file', s.postProcessFile);
  args.push('-o', '-');
  return args;
}

/**
 * The post-processing configuration for rpicam-apps' `annotate_cv` stage: the date and time burned
 * into every frame (the original refreshed picamera's annotate_text every second). `textSize` is the
 * original's --annotate-text-size in pixels; OpenCV's Hershey font is about 22 px high at scale 1.
 */
export function annotateConfig(textSize: number): Record<string, unknown> {
  return {
    annotate_cv: {
      text: '%Y-%m-%d %X',
      fg: 255,
      bg: 0,
      scale: Math.round((textSize / 22) * 100) / 100,
      thickness: Math.max(1, Math.round(textSize / 12)),
      alpha: 0.3,
    },
  };
}

/** The stderr line rpicam-apps prints when a post-processing stage is not compiled in (e.g. rpicam-apps-lite). */
export const MISSING_STAGE_PATTERN = /No postprocessing stage found for "annotate_cv"/;
