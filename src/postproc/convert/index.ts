// The converter's public face: choosing a converter (--converter) and converting one file.
import { UsageError } from '../../common/cli.js';
import { findOnPath } from '../../common/find-on-path.js';
import { EXECUTABLE, type ConverterName } from './convert.js';

export { convertFile, type ConvertOptions, type ConvertResult, type ConverterName } from './convert.js';
export { ConvertError } from './error.js';
export { rotationMatrix } from '../../common/mp4/matrix.js';
export { patchTrackRotation } from './patch-rotation.js';
export { commandLine, ffmpegArgv, formatFps, mp4boxArgv } from './tools.js';

export const CONVERTER_NAMES: readonly ConverterName[] = ['mp4box', 'builtin', 'ffmpeg'];

const INSTALL_HINT = { mp4box: 'install gpac', ffmpeg: 'apt-get install ffmpeg' } as const;

/**
 * The converter to use. `auto` is MP4Box when it is on PATH (as the original always used it),
 * else the built-in one. Asking for MP4Box or ffmpeg when it is missing is a user error (exit 3).
 */
export function resolveConverter(choice: 'auto' | ConverterName, env: NodeJS.ProcessEnv = process.env): ConverterName {
  if (choice === 'builtin') return 'builtin';
  if (choice === 'auto') return findOnPath(EXECUTABLE.mp4box, env) ? 'mp4box' : 'builtin';
  if (!findOnPath(EXECUTABLE[choice], env)) {
    throw new UsageError(`--converter: ${EXECUTABLE[choice]} not found on PATH (${INSTALL_HINT[choice]}, or use --converter builtin)`);
  }
  return choice;
}

