// Every detection flag error: one line naming the flag or the customize file, exit 3 (2 for commander's choices), before the camera starts.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../src/common/paths.js';
import { parsePancakeArgs } from '../../../src/pancake/options.js';
import { envWithFakeCamera, FAKE_CAMERA_DIR, makeTmp, removeTmp, runDist } from '../../helpers/env.js';

let tmp: string;
beforeAll(() => {
  tmp = makeTmp();
  fs.mkdirSync(path.join(tmp, 'h264'));
  fs.writeFileSync(path.join(tmp, 'afile'), '');
  fs.writeFileSync(path.join(tmp, 'syntax.ts'), 'export function detect(): boolean {\n  return (;\n}\n');
  fs.writeFileSync(path.join(tmp, 'none.ts'), 'export const answer = 42;\n');
  fs.writeFileSync(path.join(tmp, 'flag.ts'), 'export const detect = true;\n');
});
afterAll(() => removeTmp(tmp));

describe('pancake detection flags', () => {
  it.each<[string[], string]>([
    [['--customize', 'x.ts'], 'pancake: --customize is set. Please also set --detect.'],
    [['--detect-interval', '0.5'], 'pancake: --detect-interval is set. Please also set --detect.'],
    [['--detect', 'no-image', '--record-detection', 'some', 'h264'], 'pancake: --record-detection: invalid mode: some. Choices: edge, all'],
    [['--detect', 'no-image', '--record-detection', 'edge'], 'pancake: --record-detection: expected a mode and a directory ({edge,all} h264_dir), got: edge'],
    [['--detect', 'no-image', '--record-detection', 'edge', 'nowhere'], 'pancake: --record-detection: no such directory: nowhere'],
    [['--detect', 'no-image', '--record-detection', 'all', 'afile'], 'pancake: --record-detection: not a directory: afile'],
    [['--detect', 'image', '--detect-resize', '224'], 'pancake: --detect-resize: expected two numbers w h, got: 224'],
    [['--detect', 'image', '--detect-resize', '0', '224'], 'pancake: --detect-resize w: must be at least 1: 0'],
    [['--detect', 'image', '--detect-resize', '224', 'tall'], 'pancake: --detect-resize h: not a whole number: tall'],
    [['--detect', 'no-image', '--detect-interval', '0'], 'pancake: --detect-interval: must be greater than 0: 0'],
    [['--detect', 'no-image', '--detect-interval', 'often'], 'pancake: --detect-interval: not a number: often'],
    [['--detect', 'no-image', '--customize', 'missing.ts'], 'pancake: TMP/missing.ts: no such file'],
    [['--detect', 'no-image', '--customize', 'h264'], 'pancake: TMP/h264: not a file'],
    [['--detect', 'no-image', '--customize', 'syntax.ts'], 'pancake: TMP/syntax.ts: syntax error at line 2, column 10: Unexpected token'],
    [['--detect', 'no-image', '--customize', 'none.ts'], 'pancake: TMP/none.ts: no "detect" export (write: export function detect(): boolean)'],
    [['--detect', 'image', '--customize', 'flag.ts'], 'pancake: TMP/flag.ts: "detect" is a boolean, not a function'],
  ])('%j', async (args, message) => {
    const r = await runDist('pancake/main.js', ['--camera', 'test', '--port', '0', ...args], { cwd: tmp });
    expect(r.stderr.trim()).toBe(message.replace('TMP', tmp));
    expect(r.status).toBe(3);
  });

  it('refuses an unknown --detect kind through commander (exit 2, as argparse did)', async () => {
    const r = await runDist('pancake/main.js', ['--camera', 'test', '--detect', 'sometimes'], { cwd: tmp });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("option '--detect <{no-image,image}>' argument 'sometimes' is invalid. Allowed choices are no-image, image.");
  });

  it('exits 3 with an install hint when --detect image finds no ffmpeg', async () => {
    const r = await runDist('pancake/main.js', ['--camera', 'test', '--detect', 'image'], { cwd: tmp, env: { ...process.env, PATH: FAKE_CAMERA_DIR } });
    expect(r.stderr.trim()).toBe('pancake: --detect image: ffmpeg decodes the frames for detect(frame) and is not on PATH; install it: sudo apt install ffmpeg');
    expect(r.status).toBe(3);
  });

  it('checks customize.ts before the camera starts', async () => {
    const argvFile = path.join(tmp, 'argv.jsonl');
    const r = await runDist('pancake/main.js', ['--detect', 'no-image', '--customize', 'syntax.ts', '--record-detection', 'edge', 'h264', '--port', '0'],
      { cwd: tmp, env: envWithFakeCamera({ FAKE_CAMERA_ARGV_FILE: argvFile }) });
    expect(r.status).toBe(3);
    expect(fs.existsSync(argvFile)).toBe(false);
    expect(fs.readdirSync(path.join(tmp, 'h264')).filter((f) => f.endsWith('.h264'))).toEqual([]);
  });

  it('defaults: frames at --resolution, the interval from the camera, customize.ts of the project, state beside detection files', () => {
    const dir = path.join(tmp, 'h264');
    const c = parsePancakeArgs(['--resolution', '640', '480', '--detect', 'image', '--record-detection', 'all', dir]);
    expect(c.detect).toEqual({ mode: 'image', width: 640, height: 480, intervalSeconds: undefined, customize: path.join(PROJECT_ROOT, 'customize.ts') });
    expect(c.recordDetection).toEqual({ mode: 'all', dir });
    expect(c.stateDir).toBe(path.join(dir, '.pancake'));
    const d = parsePancakeArgs(['--detect', 'no-image', '--detect-interval', '0.25', '--detect-resize', '224', '224', '--customize', 'mine.ts']);
    expect(d.detect).toMatchObject({ mode: 'no-image', width: 224, height: 224, intervalSeconds: 0.25, customize: path.resolve('mine.ts') });
  });
});
