// --log writes daily files named path.YYYY-MM-DD instead of stdout.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { makeTmp, removeTmp } from '../helpers/env.js';

let tmp: string | undefined;
afterEach(() => removeTmp(tmp));

it('writes to a dated file when --log is given', async () => {
  tmp = makeTmp();
  const logger = createLogger({ program: 'pancake', file: path.join(tmp, 'pancake.log') });
  logger.info('camera: frames are flowing');
  await new Promise<void>((resolve) => logger.on('finish', resolve).end());
  await new Promise((r) => setTimeout(r, 100));
  const today = new Date();
  const stamp = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
  const files = fs.readdirSync(tmp).filter((f) => !f.startsWith('.'));
  expect(files).toEqual([`pancake.log.${stamp}`]);
  expect(fs.readFileSync(path.join(tmp, files[0]!), 'utf8')).toMatch(/^\S+ pancake info: camera: frames are flowing$/m);
});
