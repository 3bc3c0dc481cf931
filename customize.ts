// Your detection hook: pancake --detect loads this file at start-up (edit it and restart pancake; there is no build step).
//
// pancake calls detect() in a worker thread of its own, every --detect-interval seconds:
//   --detect no-image   detect()       — detection that needs no picture: time, a sensor, a file …
//   --detect image      detect(frame)  — frame.data is RGB (3 bytes per pixel, rows top to bottom),
//                                        frame.width x frame.height (--detect-resize, default --resolution)
// Return true while something you want recorded is happening (a Promise<boolean> is fine too).
// A slow detect() does not delay recording: calls never overlap, and the next call gets the newest
// frame. If detect() throws, the error is logged and the answer counts as false.
//
// This file must stay self-contained (it may import Node's modules or npm packages installed in
// this project, not pancake's own source). Another file can be used with --customize path.

/** The picture detect(frame) receives with --detect image. */
export interface Frame {
  /** RGB24: width*height*3 bytes, rows top to bottom. */
  data: Uint8Array;
  width: number;
  height: number;
  /** Wall-clock ms (Date.now() style) when the picture was captured. */
  time: number;
}

/**
 * The hook. Without a frame (--detect no-image) it is the original's example; with a frame
 * (--detect image) it is the motion detector below. Replace either with your own idea.
 */
export function detect(frame?: Frame): boolean {
  if (frame === undefined) return firstTenSecondsOfMinute(new Date());
  return motion.update(frame);
}

/** The original's example: true during seconds 0–10 of every minute (a clip every minute to test with). */
export function firstTenSecondsOfMinute(now: Date): boolean {
  return now.getSeconds() <= 10;
}

export interface MotionOptions {
  /**
   * How much the brightness of a pixel (0–255) must change between two frames to count as changed.
   * 25 ignores sensor noise and compression artefacts; lower it for a dark scene, raise it for a
   * noisy one.
   */
  threshold?: number;
  /**
   * The fraction of the picture (0–1) that must change for motion: 0.01 is 1 % of the pixels, a
   * 22x22-pixel patch of a 224x224 frame. Raise it to ignore leaves and rain.
   */
  minArea?: number;
}

/**
 * Frame-difference motion detection: each frame is reduced to brightness and compared with the
 * previous one; there is motion when at least `minArea` of the pixels changed by more than
 * `threshold`. Simple and cheap (one pass over the pixels). It also fires when the light changes
 * at once (a lamp switched on, the camera's exposure jumping) — that usually deserves a look too.
 * Frames are `--detect-interval` apart, so a slow movement seen once a second still counts.
 */
export class MotionDetector {
  readonly threshold: number;
  readonly minArea: number;
  private previous: Uint8Array | undefined;
  private size = '';
  /** The fraction of pixels that changed in the last comparison (for tuning). */
  changed = 0;

  constructor(options: MotionOptions = {}) {
    this.threshold = options.threshold ?? 25;
    this.minArea = options.minArea ?? 0.01;
  }

  /** Takes the next frame; true when it differs enough from the one before. The first frame is never motion. */
  update(frame: Frame): boolean {
    const pixels = frame.width * frame.height;
    const luma = new Uint8Array(pixels);
    const rgb = frame.data;
    for (let i = 0, j = 0; i < pixels; i++, j += 3) {
      // ITU-R BT.601 weights in integers: 0.299 R + 0.587 G + 0.114 B.
      luma[i] = (rgb[j]! * 77 + rgb[j + 1]! * 150 + rgb[j + 2]! * 29) >> 8;
    }
    const size = `${frame.width}x${frame.height}`;
    const previous = size === this.size ? this.previous : undefined;
    this.previous = luma;
    this.size = size;
    if (!previous) {
      this.changed = 0;
      return false;
    }
    let count = 0;
    for (let i = 0; i < pixels; i++) {
      if (Math.abs(luma[i]! - previous[i]!) > this.threshold) count++;
    }
    this.changed = count / pixels;
    return this.changed >= this.minArea;
  }
}

const motion = new MotionDetector();
