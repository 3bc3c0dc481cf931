// The benchmarks' shared camera stream: 1920x1080, 30 fps, ~8 Mbit/s H.264 like a Pi camera's, made once with ffmpeg.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/common/paths.js';

export const BENCH_CACHE = path.join(PROJECT_ROOT, '.bench');
export const CLIP_1080P = path.join(BENCH_CACHE, 'record-1080p30-8M.h264');
export const CLIP_SECONDS = 20;
export const FAKE_CAMERA = path.join(PROJECT_ROOT, 'test', 'fake-camera', 'rpicam-vid');
/** What pancake asks the camera for at 1080p30 (the fake camera checks it). */
export const CAMERA_ARGS_1080P = ['-t', '0', '-n', '--codec', 'h264', '--inline', '--intra', '30', '--flush', '--width', '1920', '--height', '1080', '--framerate', '30', '-o', '-'];

/** Makes the clip (cached in .bench/, gitignored) and returns its bitrate in Mbit/s. */
export function ensure1080pClip(): number {
  if (!fs.existsSync(CLIP_1080P)) {
    fs.mkdirSync(BENCH_CACHE, { recursive: true });
    console.log(`generating a ${CLIP_SECONDS} s 1080p30 ~8 Mbit/s clip (once) …`);
    // Noise keeps the encoder from compressing the pattern to nothing, so the bitrate is real;
    // an IDR every second with SPS/PPS before it and no B-frames, like rpicam-vid --inline --intra 30.
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=30:duration=${CLIP_SECONDS},noise=alls=12:allf=t`,
      '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-b:v', '8M', '-maxrate', '8M', '-bufsize', '4M',
      '-x264-params', 'keyint=30:min-keyint=30:scenecut=0:bframes=0:repeat-headers=1', '-f', 'h264', CLIP_1080P], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('ffmpeg failed to make the benchmark clip');
  }
  return (fs.statSync(CLIP_1080P).size * 8) / CLIP_SECONDS / 1e6;
}
