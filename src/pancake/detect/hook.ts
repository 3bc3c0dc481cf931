// Loading the user's detect() from customize.ts at run time with jiti (TypeScript without a build step), and checking it.
import fs from 'node:fs';

/** What detect(frame) receives with --detect image (the same shape as the decoder's RgbFrame). */
export interface DetectFrame {
  /** RGB24, width*height*3 bytes, rows top to bottom. */
  data: Uint8Array;
  width: number;
  height: number;
  /** Wall-clock ms when the picture was captured. */
  time: number;
}

/** The user's hook: detect() with --detect no-image, detect(frame) with --detect image. */
export type DetectFunction = (frame?: DetectFrame) => unknown;

/** A customize file that cannot be used; the message is one line, without the file name. */
export class HookError extends Error {
  override readonly name = 'HookError';
}

/**
 * Loads `file` and returns its `detect` export. jiti strips the types and runs the module in this
 * thread (the detect worker); nothing is cached on disk, since pancake's directory may be read-only
 * under systemd and the file is small.
 */
export async function loadDetect(file: string): Promise<DetectFunction> {
  if (!fs.existsSync(file)) throw new HookError('no such file');
  if (!fs.statSync(file).isFile()) throw new HookError('not a file');
  // Imported here, in the worker, so pancake's main thread never carries the loader (~10 MB resident).
  const { createJiti } = await import('jiti');
  const jiti = createJiti(import.meta.url, { fsCache: false, interopDefault: false, sourceMaps: true });
  let mod: Record<string, unknown>;
  try {
    mod = await jiti.import<Record<string, unknown>>(file);
  } catch (err) {
    throw new HookError(describeLoadError(err));
  }
  return checkDetectExport(mod);
}

/** The `detect` export of a loaded module, or a HookError saying what is wrong with it. */
export function checkDetectExport(mod: Record<string, unknown>): DetectFunction {
  const detect = mod.detect;
  if (detect === undefined) {
    const hint = typeof mod.default === 'function' ? ' (it has a default export; name it: export function detect(…))' : ' (write: export function detect(): boolean)';
    throw new HookError(`no "detect" export${hint}`);
  }
  if (typeof detect !== 'function') {
    const what = detect === null ? 'null' : Array.isArray(detect) ? 'an array' : `a ${typeof detect}`;
    throw new HookError(`"detect" is ${what}, not a function`);
  }
  return detect as DetectFunction;
}

/** One line for an error thrown while loading: jiti's parse errors become "syntax error at line L, column C: …". */
export function describeLoadError(err: unknown): string {
  if (!(err instanceof Error)) return `failed to load: ${String(err)}`;
  const parse = /^ParseError:\s*(.*?)\s*\n\s*\S*?:(\d+):(\d+)\s*$/s.exec(err.message);
  if (parse) return `syntax error at line ${parse[2]}, column ${parse[3]}: ${parse[1]!.replace(/\s+/g, ' ')}`;
  const first = err.message.split('\n')[0]!.trim();
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') return first;
  return `failed to load: ${err.name === 'Error' ? '' : `${err.name}: `}${first}`;
}
