// The MJPEG camera's encoder: its ffmpeg argv (table), the multipart framing of its stdin, and a JPEG's size from its SOF marker.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildMjpegEncoderArgs, hardwareBitrate, jpegSize, PART_TRAILER, partHeader, type MjpegEncoderSettings } from '../../../src/pancake/camera/mjpeg/encoder.js';

const INPUT = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'level+error', '-f', 'mpjpeg', '-probesize', '32', '-analyzeduration', '0'];
const OUTPUT = ['-pix_fmt', 'yuv420p', '-fps_mode', 'passthrough', '-f', 'h264', '-flush_packets', '1', 'pipe:1'];

describe('buildMjpegEncoderArgs', () => {
  it.each<[string, MjpegEncoderSettings, string[]]>([
    ['libx264 at 10 fps: one IDR a second, never one between', { fps: 10, encoder: 'software', width: 640, height: 480 }, [
      ...INPUT, '-r', '10', '-threads', '1', '-c:v', 'mjpeg', '-i', 'pipe:0', '-map', '0:v:0', '-an',
      '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '10', '-keyint_min', '10', '-sc_threshold', '0', '-bf', '0', ...OUTPUT]],
    ['libx264 at 25 fps', { fps: 25, encoder: 'software', width: 1920, height: 1080 }, [
      ...INPUT, '-r', '25', '-threads', '1', '-c:v', 'mjpeg', '-i', 'pipe:0', '-map', '0:v:0', '-an',
      '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0', '-bf', '0', ...OUTPUT]],
    ['h264_v4l2m2m with a bit rate from the picture size', { fps: 10, encoder: 'hardware', width: 640, height: 480 }, [
      ...INPUT, '-r', '10', '-threads', '1', '-c:v', 'mjpeg', '-i', 'pipe:0', '-map', '0:v:0', '-an',
      '-c:v', 'h264_v4l2m2m', '-b:v', '461000', '-g', '10', '-bf', '0', ...OUTPUT]],
  ])('%s', (_name, settings, expected) => {
    expect(buildMjpegEncoderArgs(settings)).toEqual(expected);
  });

  it('bounds the hardware bit rate to 200 kbit/s .. 10 Mbit/s', () => {
    expect(hardwareBitrate({ fps: 1, encoder: 'hardware', width: 160, height: 120 })).toBe(200_000);
    expect(hardwareBitrate({ fps: 30, encoder: 'hardware', width: 3840, height: 2160 })).toBe(10_000_000);
  });
});

describe('partHeader', () => {
  it('frames a JPEG as a multipart part with its length', () => {
    expect(partHeader(1234).toString('latin1')).toBe('--pancakeframe\r\nContent-Type: image/jpeg\r\nContent-Length: 1234\r\n\r\n');
    expect(PART_TRAILER.toString('latin1')).toBe('\r\n');
  });
});

describe('jpegSize', () => {
  // ffmpeg -f lavfi -i testsrc2=size=WxH -frames:v 1 -f mjpeg - (baseline, JFIF APP0 and DQT/DHT before the SOF)
  const jpeg = (size: string, extra: string[] = []): Buffer => {
    const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}`, '-frames:v', '1', ...extra, '-f', 'mjpeg', '-'], { maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(String(r.stderr));
    return r.stdout;
  };

  it.each([['320x240'], ['1280x720'], ['176x144']])('reads %s from an ffmpeg JPEG', (size) => {
    const [width, height] = size.split('x').map(Number);
    expect(jpegSize(jpeg(size))).toEqual({ width, height });
  });

  it('reads a hand-made header: SOI, APP0, fill bytes, SOF2 (progressive)', () => {
    const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x04, 0x4a, 0x46]);
    const sof2 = Buffer.from([0xff, 0xff, 0xc2, 0x00, 0x0b, 0x08, 0x01, 0xe0, 0x02, 0x80, 0x01, 0x01, 0x11, 0x00]);
    expect(jpegSize(Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof2]))).toEqual({ width: 640, height: 480 });
  });

  it.each([
    ['not a JPEG', Buffer.from('<html>')],
    ['a scan before any frame header', Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02])],
    ['cut off inside the SOF', Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x0b, 0x08])],
    ['a DHT only (c4 is no SOF)', Buffer.from([0xff, 0xd8, 0xff, 0xc4, 0x00, 0x02])],
  ])('undefined for %s', (_name, bytes) => {
    expect(jpegSize(bytes)).toBeUndefined();
  });
});
