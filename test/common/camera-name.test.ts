// The camera name rule (src/common/camera-name.ts): what pancake --name and postproc accept, with the exact message.
import { describe, expect, it } from 'vitest';
import { cameraNameError, MAX_CAMERA_NAME_LENGTH } from '../../src/common/camera-name.js';

describe('cameraNameError', () => {
  it.each(['front', 'back', 'Back_Door', 'garage-2', '0', 'a', '2026', 'x'.repeat(MAX_CAMERA_NAME_LENGTH), 'cam_1-b'])('accepts %j', (name) => {
    expect(cameraNameError(name)).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(MAX_CAMERA_NAME_LENGTH + 1)],
    ['a slash', 'front/back'],
    ['a backslash', 'front\\back'],
    ['..', '..'],
    ['.', '.'],
    ['hidden', '.postproc'],
    ['a leading dash (an option to many tools)', '-front'],
    ['a leading underscore', '_front'],
    ['a space', 'front door'],
    ['an @ (the pending-upload separator)', 'front@home'],
    ['a colon (MP4Box splits on it)', 'a:b'],
    ['a newline', 'front\n'],
    ['a NUL', 'a\0b'],
    ['non-ASCII', 'café'],
    ['a dot inside', 'front.cam'],
  ])('refuses %s', (_why, name) => {
    expect(cameraNameError(name)).toBe(`not a camera name: ${JSON.stringify(name)}: use 1 to 32 letters, digits, "-" or "_", starting with a letter or digit`);
  });

  it('quotes only the start of a very long name', () => {
    const message = cameraNameError('y'.repeat(5000))!;
    expect(message).toBe(`not a camera name: "${'y'.repeat(40)}"… (5000 characters): use 1 to 32 letters, digits, "-" or "_", starting with a letter or digit`);
  });
});
