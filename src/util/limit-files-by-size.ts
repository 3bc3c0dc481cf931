#!/usr/bin/env node
// pancake-limit-files-by-size: Keep each directory's total size under a limit, newest files first.
import { runMain } from '../common/cli.js';
import { listRegularFiles, removeFiles } from './cleanup.js';
import { runLimitCommand } from './limit-command.js';
import { parseSizeLimit, planBySize } from './retention.js';

await runMain('pancake-limit-files-by-size', async () =>
  runLimitCommand(
    {
      name: 'pancake-limit-files-by-size',
      description: "Keep each directory's total size under a limit: newest files first, delete the older ones",
      limitName: 'SIZE',
      help: `
SIZE is whole bytes (1200000) or a number with a suffix K, M, G or T, which are
1024-based like du -h and df -h: 10K = 10240 bytes, 500M = 524288000, 1.5G = 1610612736
(KiB/MiB/GiB and KB/MB/GB are read the same way).

Files are counted newest first; the first one that would take the total over SIZE is
deleted, and so is every older one, so what remains is one unbroken stretch of the most
recent recordings. Only regular files directly in each directory count and are deleted:
subdirectories, symbolic links and names starting with a dot are left alone.

Examples:
  pancake-limit-files-by-size h264 1200000 mp4 2000000
  pancake-limit-files-by-size h264 4G mp4 1.5G
  pancake-limit-files-by-size --dry-run mp4 500M`,
      parseLimit: parseSizeLimit,
      plan: (dir, maxBytes, now) => planBySize(listRegularFiles(dir), maxBytes, now),
      apply: removeFiles,
    },
    process.argv,
  ),
);
