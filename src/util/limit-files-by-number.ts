#!/usr/bin/env node
// pancake-limit-files-by-number: Keep the newest N files in each directory.
import { Command } from 'commander';
import { exitOverride, runMain } from '../common/cli.js';
import { VERSION } from '../common/paths.js';

await runMain('pancake-limit-files-by-number', async () => {
  const program = exitOverride(new Command('pancake-limit-files-by-number'))
    .description('Keep the newest N files in each directory')
    .version(VERSION);
  program.parse(process.argv);
});
