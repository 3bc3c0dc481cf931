#!/usr/bin/env node
// pancake-set-password: Write a salted password hash file for pancake --login.
import { Command } from 'commander';
import { exitOverride, runMain } from '../common/cli.js';
import { VERSION } from '../common/paths.js';

await runMain('pancake-set-password', async () => {
  const program = exitOverride(new Command('pancake-set-password'))
    .description('Write a salted password hash file for pancake --login')
    .version(VERSION);
  program.parse(process.argv);
});
