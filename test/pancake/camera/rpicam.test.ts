// The camera command line is exactly what the settings ask for.
import { describe, expect, it } from 'vitest';
import { annotateConfig, buildRpicamArgs, cameraRotation, type RpicamSettings } from '../../../src/pancake/camera/rpicam.js';
import { pickEncoder } from '../../../src/pancake/camera/select.js';

const base: RpicamSettings = { width: 320, height: 240, fps: 12, vflip: false, hflip: false, rotation: 0, encoder: 'hardware' };
const HEAD = ['-t', '0', '-n', '--codec', 'h264', '--inline'];

describe('buildRpicamArgs', () => {
  it.each<[string, Partial<RpicamSettings>, string[]]>([
    ['defaults of the original', {}, [...HEAD, '--intra', '12', '--flush', '--width', '320', '--height', '240', '--framerate', '12', '-o', '-']],
    ['720p30 flipped both ways', { width: 1280, height: 720, fps: 30, vflip: true, hflip: true },
      [...HEAD, '--intra', '30', '--flush', '--width', '1280', '--height', '720', '--framerate', '30', '--vflip', '--hflip', '-o', '-']],
    ['rotation 180 is done by the camera', { rotation: 180 },
      [...HEAD, '--intra', '12', '--flush', '--width', '320', '--height', '240', '--framerate', '12', '--rotation', '180', '-o', '-']],
    ['rotation 90 is display rotation, not a camera option', { rotation: 90 },
      [...HEAD, '--intra', '12', '--flush', '--width', '320', '--height', '240', '--framerate', '12', '-o', '-']],
    ['rotation 270 likewise', { rotation: 270, vflip: true },
      [...HEAD, '--intra', '12', '--flush', '--width', '320', '--height', '240', '--framerate', '12', '--vflip', '-o', '-']],
    ['the timestamp overlay file', { postProcessFile: '/var/lib/pancake/annotate.json' },
      [...HEAD, '--intra', '12', '--flush', '--width', '320', '--height', '240', '--framerate', '12', '--post-process-file', '/var/lib/pancake/annotate.json', '-o', '-']],
    ['Pi 5: software encoding through libav', { encoder: 'software', fps: 25 },
      ['-t', '0', '-n', '--codec', 'libav', '--libav-format', 'h264', '--libav-video-codec', 'libx264', '--inline', '--intra', '25', '--flush',
        '--width', '320', '--height', '240', '--framerate', '25', '-o', '-']],
  ])('%s', (_name, settings, expected) => {
    expect(buildRpicamArgs({ ...base, ...settings })).toEqual(expected);
  });

  it('only ever asks the camera for rotation 0 or 180', () => {
    expect([0, 90, 180, 270].map((r) => cameraRotation(r as 0 | 90 | 180 | 270))).toEqual([0, 0, 180, 0]);
  });
});

describe('annotateConfig', () => {
  it('asks annotate_cv for date and time, scaled from the text size', () => {
    const small = annotateConfig(24).annotate_cv as { text: string; scale: number };
    const big = annotateConfig(48).annotate_cv as { text: string; scale: number };
    expect(small.text).toBe('%Y-%m-%d %X');
    expect(big.scale).toBeCloseTo(small.scale * 2, 1);
  });
});

describe('pickEncoder', () => {
  it.each([
    ['Raspberry Pi 5 Model B Rev 1.0', 'software'],
    ['Raspberry Pi 4 Model B Rev 1.4', 'hardware'],
    ['Raspberry Pi Zero 2 W Rev 1.0', 'hardware'],
    ['', 'hardware'],
  ])('%s → %s', (model, encoder) => {
    expect(pickEncoder('auto', model)).toBe(encoder);
  });
  it('obeys an explicit choice', () => {
    expect(pickEncoder('software', 'Raspberry Pi 4 Model B')).toBe('software');
    expect(pickEncoder('hardware', 'Raspberry Pi 5 Model B')).toBe('hardware');
  });
});
