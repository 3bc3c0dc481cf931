#!/usr/bin/env node
// pancake-limit-files-by-number: Keep the newest N files in each directory.
import { runMain } from '../common/cli.js';
import { listRegularFiles, removeFiles } from './cleanup.js';
import { runLimitCommand } from './limit-command.js';
import { parseCount, planByNumber } from './retention.js';

await runMain('pancake-limit-files-by-number', async () =>
  runLimitCommand(
    {
      name: 'pancake-limit-files-by-number',
      description: 'Keep the newest N files (by modification time) in each directory, delete older ones',
      limitName: 'N',
      help: `
Only regular files directly in each directory count and are deleted: subdirectories,
symbolic links and names starting with a dot are left alone. N may be 0.

Examples:
  pancake-limit-files-by-number h264 8 mp4 4       keep 8 files in h264/, 4 in mp4/
  pancake-limit-files-by-number --dry-run h264 96  show what keeping 96 would delete`,
      parseLimit: (text, dir) => parseCount(text, dir, 'files'),
      plan: (dir, keep, now) => planByNumber(listRegularFiles(dir), keep, now),
      apply: removeFiles,
    },
    process.argv,
  ),
);
