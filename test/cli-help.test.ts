// Every installed command answers --help with its own usage, from compiled JavaScript.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/common/paths.js';
import { run } from './helpers/env.js';

const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };

describe('installed commands', () => {
  it('include the six the README names', () => {
    expect(Object.keys(pkg.bin).sort()).toEqual(
      ['pancake', 'pancake-limit-days', 'pancake-limit-files-by-number', 'pancake-limit-files-by-size', 'pancake-set-password', 'postproc'],
    );
  });

  it.each(Object.entries(pkg.bin))('%s --help prints its usage and exits 0', async (name, file) => {
    expect(file).toMatch(/^dist\/.*\.js$/);
    const compiled = path.join(PROJECT_ROOT, file);
    expect(fs.readFileSync(compiled, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
    const r = await run(process.execPath, [compiled, '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Usage: ${name} `);
  });
});
