#!/usr/bin/env node
// pancake-limit-files-by-size: Keep each directory's total size under a limit, newest files first.
import { Command } from 'commander';
import { exitOverride, runMain } from '../common/cli.js';
import { VERSION } from '../common/paths.js';

await runMain('pancake-limit-files-by-size', async () => {
  const program = exitOverride(new Command('pancake-limit-files-by-size'))
    .description("Keep each directory's total size under a limit, newest files first")
    .version(VERSION);
  program.parse(process.argv);
});
