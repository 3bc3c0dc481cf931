#!/usr/bin/env node
// pancake: owns the camera, records H.264, serves the live view and emits events to postproc.
import { Command } from 'commander';
import { exitOverride, runMain } from '../common/cli.js';
import { VERSION } from '../common/paths.js';

await runMain('pancake', async () => {
  const program = exitOverride(new Command('pancake'))
    .description('Raspberry Pi CCTV: camera live view in the browser, continuous and detection recording, events to postproc')
    .version(VERSION);
  program.parse(process.argv);
});
