// The H.264 encoder of an MJPEG camera, the pure parts: its ffmpeg argv, how each JPEG is framed on its stdin, and a JPEG's size.

/** Which H.264 encoder ffmpeg uses: libx264 (any machine) or the Pi's encoder block through V4L2 (Pi 4 and earlier). */
export type MjpegEncoderKind = 'software' | 'hardware';

/** What the encoder child is asked for. */
export interface MjpegEncoderSettings {
  /** The fixed rate the JPEGs are fed at (frames per second). */
  fps: number;
  encoder: MjpegEncoderKind;
  /** The camera's picture size (from its first JPEG): sets the hardware encoder's bit rate. */
  width: number;
  height: number;
}

/** ffmpeg's name of the encoder. */
export function encoderName(kind: MjpegEncoderKind): string {
  return kind === 'hardware' ? 'h264_v4l2m2m' : 'libx264';
}

/** The multipart boundary of the encoder's stdin (never seen by anyone but ffmpeg). */
export const FEED_BOUNDARY = 'pancakeframe';

/** The bytes that go before one JPEG on the encoder's stdin. */
export function partHeader(jpegBytes: number): Buffer {
  return Buffer.from(`--${FEED_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpegBytes}\r\n\r\n`, 'latin1');
}

/** The bytes that go after one JPEG. */
export const PART_TRAILER = Buffer.from('\r\n', 'latin1');

/**
 * The hardware encoder's bit rate: 0.15 bit per pixel and frame, 200 kbit/s to 10 Mbit/s (640x480 at
 * 10 fps: 460 kbit/s). libx264 needs none: its constant quality (CRF 23) spends what the picture needs.
 */
export function hardwareBitrate(s: MjpegEncoderSettings): number {
  return Math.min(10_000_000, Math.max(200_000, Math.round((s.width * s.height * s.fps * 0.15) / 1000) * 1000));
}

/**
 * `ffmpeg` reading the camera's JPEGs on stdin and writing H.264 Annex B on stdout, one IDR a second:
 * - input `-f mpjpeg`: each JPEG goes in as a multipart part with its Content-Length, so the demuxer
 *   hands it on as soon as its last byte is in. Raw JPEGs (`-f image2pipe` or `-f mjpeg`) go through
 *   a parser that ends a frame only when the next one starts: every picture a frame late (measured).
 * - `-probesize 32 -analyzeduration 0`: no seconds of stream read ahead to guess what is in it.
 *   (`-fflags nobuffer` is left out: with it the picture read while probing is dropped.)
 * - `-r FPS` on the input: timestamps at the fixed rate pancake feeds; `-fps_mode passthrough`: one
 *   output picture per JPEG, never a duplicate or drop by ffmpeg (pancake already repeats and drops).
 * - `-threads 1` for the JPEG decoder: frame threads would hold pictures back.
 * - libx264 `-preset veryfast -tune zerolatency` (no lookahead, no frame delay), `-bf 0`;
 *   `-g FPS -keyint_min FPS -sc_threshold 0`: an IDR exactly every second, never one in between,
 *   so pre-roll and file splits work as for the Pi camera. SPS/PPS come with every IDR (raw output
 *   has no global header). h264_v4l2m2m gets `-g` and a bit rate ({@link hardwareBitrate}).
 * - `-pix_fmt yuv420p`: what every H.264 decoder plays (cameras send 4:2:2 JPEGs).
 * - `-f h264 -flush_packets 1 pipe:1`: each picture written out as soon as it is encoded.
 */
export function buildMjpegEncoderArgs(s: MjpegEncoderSettings): string[] {
  const fps = String(s.fps);
  const codec = s.encoder === 'hardware'
    ? ['-c:v', 'h264_v4l2m2m', '-b:v', String(hardwareBitrate(s)), '-g', fps, '-bf', '0']
    : ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', fps, '-keyint_min', fps, '-sc_threshold', '0', '-bf', '0'];
  return [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'level+error',
    '-f', 'mpjpeg', '-probesize', '32', '-analyzeduration', '0', '-r', fps, '-threads', '1', '-c:v', 'mjpeg', '-i', 'pipe:0',
    '-map', '0:v:0', '-an',
    ...codec,
    '-pix_fmt', 'yuv420p', '-fps_mode', 'passthrough',
    '-f', 'h264', '-flush_packets', '1', 'pipe:1',
  ];
}

/**
 * A JPEG's picture size from its SOF marker (baseline, progressive or any other SOFn), or undefined
 * when none is found before the scan starts.
 */
export function jpegSize(jpeg: Buffer): { width: number; height: number } | undefined {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 4 <= jpeg.length) {
    if (jpeg[i] !== 0xff) return undefined;
    const marker = jpeg[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2; // markers without a length
      continue;
    }
    const length = jpeg.readUInt16BE(i + 2);
    // SOF0..SOF15 except DHT (c4), JPG (c8) and DAC (cc).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > jpeg.length) return undefined;
      const height = jpeg.readUInt16BE(i + 5);
      const width = jpeg.readUInt16BE(i + 7);
      return width > 0 && height > 0 ? { width, height } : undefined;
    }
    if (marker === 0xda || length < 2) return undefined; // the scan began without a frame header
    i += 2 + length;
  }
  return undefined;
}
