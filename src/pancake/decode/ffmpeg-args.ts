// The ffmpeg command line of the frame decoder (pure, table-tested) and finding ffmpeg on PATH.

/** What one decoder child produces. */
export interface DecodeConfig {
  width: number;
  height: number;
  /** Only IDR pictures (and the one unit after each, see FrameDecoder) are fed and delivered. */
  keyframesOnly: boolean;
}

/**
 * `ffmpeg` reading Annex B H.264 on stdin and writing raw RGB24 frames of `width`x`height` on stdout.
 *
 * - `-probesize 32 -analyzeduration 0`: start decoding at the first picture instead of buffering
 *   seconds of stream to guess its parameters (they are all in the SPS).
 * - `-flags low_delay`: no frame-threading delay in the decoder (the camera stream has no B-frames).
 * - `-fps_mode passthrough`: one output frame per decoded picture; raw H.264 carries no timestamps,
 *   and the default constant-rate output would duplicate or drop pictures to fit a guessed rate.
 * - bilinear scaling: detection wants small frames, and this is cheaper than the bicubic default.
 */
export function buildDecoderArgs(config: DecodeConfig): string[] {
  return [
    '-hide_banner', '-nostats', '-loglevel', 'error',
    '-probesize', '32', '-analyzeduration', '0', '-flags', 'low_delay',
    '-f', 'h264', '-i', 'pipe:0',
    '-an', '-vf', `scale=${config.width}:${config.height}:flags=bilinear`,
    '-pix_fmt', 'rgb24', '-fps_mode', 'passthrough',
    '-f', 'rawvideo', 'pipe:1',
  ];
}

