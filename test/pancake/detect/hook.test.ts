// Loading detect() from a customize file with jiti: what works, and the one-line problems.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeLoadError, HookError, loadDetect } from '../../../src/pancake/detect/hook.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';

let tmp: string;
beforeAll(() => (tmp = makeTmp()));
afterAll(() => removeTmp(tmp));

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('loadDetect', () => {
  it('loads TypeScript (types, interfaces, imports of node: modules) without a build step', async () => {
    const file = write('ok.ts', `import os from 'node:os';\ninterface F { width: number }\nexport async function detect(f?: F): Promise<boolean> {\n  return (f?.width ?? 0) > 1 && os.EOL.length > 0;\n}\n`);
    const detect = await loadDetect(file);
    await expect(detect({ data: new Uint8Array(0), width: 2, height: 1, time: 0 })).resolves.toBe(true);
  });

  it.each<[string, string, string]>([
    ['syntax.ts', 'export function detect(): boolean {\n  return (;\n}\n', 'syntax error at line 2, column 10: Unexpected token'],
    ['none.ts', 'export function detection(): boolean {\n  return true;\n}\n', 'no "detect" export (write: export function detect(): boolean)'],
    ['default.ts', 'export default function detect(): boolean {\n  return true;\n}\n', 'no "detect" export (it has a default export; name it: export function detect(…))'],
    ['number.ts', 'export const detect = 5;\n', '"detect" is a number, not a function'],
    ['null.ts', 'export const detect = null;\n', '"detect" is null, not a function'],
    ['throws.ts', 'throw new TypeError("bad setup");\nexport function detect(): boolean { return true; }\n', 'failed to load: TypeError: bad setup'],
    ['imports.ts', 'import { x } from "./missing-module.js";\nexport function detect(): boolean { return x; }\n', "Cannot find module './missing-module.js'"],
  ])('%s: %s', async (name, text, problem) => {
    const error = await loadDetect(write(name, text)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HookError);
    expect((error as Error).message).toBe(problem);
  });

  it('says when the file is missing', async () => {
    await expect(loadDetect(path.join(tmp, 'nope.ts'))).rejects.toThrow(new HookError('no such file'));
  });

  it('keeps unknown errors to their first line', () => {
    expect(describeLoadError(new Error('first\nsecond'))).toBe('failed to load: first');
    expect(describeLoadError('a string')).toBe('failed to load: a string');
  });
});
