// Which camera tool and encoder to use on this machine.
import fs from 'node:fs';
import { findOnPath } from '../../common/find-on-path.js';

/** The first of rpicam-vid, libcamera-vid found on PATH, as an absolute path. */
export function findCameraTool(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findOnPath('rpicam-vid', env) ?? findOnPath('libcamera-vid', env);
}

/**
 * The Pi 5 has no H.264 encoder block: rpicam-vid must encode in software through libav (libx264).
 * Every earlier Pi encodes in hardware. The board is read from the device tree.
 */
export function pickEncoder(choice: 'auto' | 'hardware' | 'software', model = readBoardModel()): 'hardware' | 'software' {
  if (choice !== 'auto') return choice;
  return /Raspberry Pi 5|Compute Module 5|Raspberry Pi 500/.test(model) ? 'software' : 'hardware';
}

export function readBoardModel(): string {
  try {
    return fs.readFileSync('/proc/device-tree/model', 'utf8').replace(/\0/g, '');
  } catch {
    return '';
  }
}
