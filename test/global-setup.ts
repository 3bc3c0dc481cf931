// Vitest global setup: compile src/ to dist/ once, so tests of the installed commands run current code.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/common/paths.js';

export default function setup(): void {
  // Type errors do not stop the emit; the type check is its own step of the test command.
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
}
