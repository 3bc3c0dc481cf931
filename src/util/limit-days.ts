#!/usr/bin/env node
// pancake-limit-days: Keep the newest N day folders (YYYY/MM/DD) in each backup tree.
import { Command } from 'commander';
import { exitOverride, runMain } from '../common/cli.js';
import { VERSION } from '../common/paths.js';

await runMain('pancake-limit-days', async () => {
  const program = exitOverride(new Command('pancake-limit-days'))
    .description('Keep the newest N day folders (YYYY/MM/DD) in each backup tree')
    .version(VERSION);
  program.parse(process.argv);
});
