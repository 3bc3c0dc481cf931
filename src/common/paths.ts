// Where the project's own files are, from both src/ (tests) and dist/ (installed commands).
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The project root: this file is src/common/paths.ts or dist/common/paths.js, two levels below it. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The built-in test camera clip (640x480, 12 fps, made by scripts/make-testcard.sh). */
export const TESTCARD_PATH = path.join(PROJECT_ROOT, 'testcard', 'testcard.h264');
export const TESTCARD_FPS = 12;

export const TEMPLATES_DIR = path.join(PROJECT_ROOT, 'templates');
export const STATIC_DIR = path.join(PROJECT_ROOT, 'static');

/** The package version, for --version. */
export const VERSION = '0.1.0';
