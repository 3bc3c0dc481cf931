#!/usr/bin/env node
// pancake-limit-days: Keep the newest N day folders (YYYY/MM/DD) in each backup tree.
import { runMain } from '../common/cli.js';
import { removeDays, scanDayTree } from './cleanup.js';
import { planDays } from './day-retention.js';
import { runLimitCommand } from './limit-command.js';
import { parseCount } from './retention.js';

await runMain('pancake-limit-days', async () =>
  runLimitCommand(
    {
      name: 'pancake-limit-days',
      description: 'Keep the newest N day folders (YYYY/MM/DD) in each backup tree, delete older days',
      limitName: 'DAYS',
      help: `
For a backup location where postproc uploads into dir/YYYY/MM/DD. The newest DAYS day
folders across the whole tree are kept; older day folders are deleted with everything in
them, then the month and year folders that this leaves empty. Only real folders named
like a date count (4-digit year, 2-digit month 01-12, 2-digit day that exists in that
month); anything else (other files and folders, symbolic links, 2024/13, 2023/02/29) is
never touched, and keeps its month and year folder. DAYS may be 0.

Examples:
  pancake-limit-days bakery/oven 30 bakery/cam2 60   keep 30 days of oven, 60 of cam2
  pancake-limit-days --dry-run bakery/oven 7`,
      parseLimit: (text, dir) => parseCount(text, dir, 'days'),
      plan: (dir, keepDays, now) => planDays(scanDayTree(dir), keepDays, now),
      apply: removeDays,
    },
    process.argv,
  ),
);
