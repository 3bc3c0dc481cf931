#!/usr/bin/env node
// postproc: receives pancake's events, converts .h264 to .mp4, uploads and notifies over Telegram.
import { Command } from 'commander';
import { exitOverride, runMain } from '../common/cli.js';
import { VERSION } from '../common/paths.js';

await runMain('postproc', async () => {
  const program = exitOverride(new Command('postproc'))
    .description('Post-processor for pancake: convert h264 to mp4, upload over SCP/FTP, notify via Telegram')
    .version(VERSION);
  program.parse(process.argv);
});
