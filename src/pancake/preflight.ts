// What pancake checks and reads before it creates anything: the camera tool, ffmpeg, the password hash, TLS files.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { UsageError } from '../common/cli.js';
import { findOnPath } from '../common/find-on-path.js';
import { readPasswordFile } from '../common/password.js';
import { findCameraTool } from './camera/select.js';
import type { PancakeConfig } from './options.js';

/** What the checks found, for building the components. */
export interface Preflight {
  /** rpicam-vid or libcamera-vid, for `--camera auto`. */
  cameraTool?: string;
  passwordHash?: string;
  tls?: { cert: Buffer; key: Buffer };
}

/** Fails with a one-line UsageError (exit 2 or 3) for anything that would stop pancake later. */
export async function preflight(config: PancakeConfig): Promise<Preflight> {
  const found: Preflight = {};
  // The camera tool is looked for before anything is created, so a missing camera leaves no trace.
  if (config.camera.kind === 'auto') {
    found.cameraTool = findCameraTool();
    if (!found.cameraTool) throw new UsageError('no camera tool found (rpicam-vid, libcamera-vid); without a Pi camera try --camera test', 2);
  }
  // Network cameras are received by ffmpeg, and detect(frame) needs it to decode pictures: say so now.
  if (config.camera.kind === 'rtsp' && !findOnPath('ffmpeg')) {
    throw new UsageError('--camera: an RTSP camera is received by ffmpeg, which is not on PATH; install it: sudo apt install ffmpeg', 2);
  }
  if (config.camera.kind === 'mjpeg') {
    if (!findOnPath('ffmpeg')) throw new UsageError('--camera: an MJPEG camera\'s pictures are encoded to H.264 by ffmpeg, which is not on PATH; install it: sudo apt install ffmpeg', 2);
    const encoder = config.encoder === 'hardware' ? 'h264_v4l2m2m' : 'libx264';
    if (!ffmpegHasEncoder(encoder)) {
      throw new UsageError(config.encoder === 'hardware'
        ? '--encoder hardware: this ffmpeg has no h264_v4l2m2m encoder (ffmpeg -encoders); use --encoder software, or the Raspberry Pi OS ffmpeg on a Pi 4 or earlier'
        : '--encoder: this ffmpeg has no libx264 encoder (ffmpeg -encoders); install one that has (sudo apt install ffmpeg), or try --encoder hardware on a Pi 4 or earlier', 2);
    }
  }
  if (config.detect?.mode === 'image' && !findOnPath('ffmpeg')) {
    throw new UsageError('--detect image: ffmpeg decodes the frames for detect(frame) and is not on PATH; install it: sudo apt install ffmpeg');
  }
  // The password hash and TLS files are read now, so a bad one stops pancake before it starts anything.
  if (config.login) {
    try {
      found.passwordHash = await readPasswordFile(config.login);
    } catch (err) {
      if (err instanceof UsageError) throw new UsageError(`--login: ${err.message}`);
      throw err;
    }
  }
  if (config.tls) found.tls = { cert: fs.readFileSync(config.tls.cert), key: fs.readFileSync(config.tls.key) };
  return found;
}

/** Whether `ffmpeg -encoders` lists `name`. */
function ffmpegHasEncoder(name: string): boolean {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 && new RegExp(String.raw`^\s*V\S*\s+${name}\s`, 'm').test(r.stdout);
}
