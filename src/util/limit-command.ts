// The command line shared by the three limit commands: `<dir> <limit>` pairs, --dry-run, check all, then delete.
import { Command } from 'commander';
import { exitOverride } from '../common/cli.js';
import { systemClock, type Clock } from '../common/clock.js';
import { VERSION } from '../common/paths.js';
import { checkDirectory, type Output, type RemoveOptions, type RemoveResult } from './cleanup.js';
import { parsePairs, type DirectoryLimit } from './retention.js';

/** What differs between the limit commands. */
export interface LimitCommandSpec<T, P> {
  name: string;
  description: string;
  /** Placeholder for the limit in the usage line ("N", "SIZE", "DAYS"). */
  limitName: string;
  /** Shown after the options in --help: what the limit means, safety rules, examples. */
  help: string;
  parseLimit(text: string, dir: string): T;
  /** Looks at the directory (no deleting) and decides. May throw a UsageError. */
  plan(dir: string, limit: T, now: number): P;
  /** Carries out a plan for one directory. */
  apply(dir: string, plan: P, options: RemoveOptions): RemoveResult;
}

/** The safety rules every limit command's --help states. */
export const SAFETY_HELP = `
Safety:
  Every argument is checked and every directory is read before anything is deleted: an odd
  number of arguments, a limit that is not a number or is negative, or a missing directory
  prints one line and exits with status 2, having deleted nothing anywhere.
  A file modified within the last minute may still be being written (a recording, a
  conversion, an upload): it is kept and reported. It counts toward N or SIZE; a day folder
  holding such a file is left for a later run.
  Symbolic links inside the directories are never followed, counted or deleted (a directory
  given on the command line may itself be a link).

Exit status: 0 done, 1 something could not be deleted (reported on stderr), 2 bad arguments.`;

const stdio: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/**
 * Parses argv, checks every pair and plans every directory, and only then deletes (or, with
 * --dry-run, lists). Returns the exit status; user errors are thrown as UsageError (exit 2).
 */
export function runLimitCommand<T, P>(spec: LimitCommandSpec<T, P>, argv: string[], clock: Clock = systemClock): number {
  let pairArgs: string[] = [];
  let dryRun = false;
  const program = exitOverride(new Command(spec.name))
    .description(spec.description)
    .version(VERSION)
    .usage(`[--dry-run] <dir> <${spec.limitName}> [<dir> <${spec.limitName}> ...]`)
    .argument(`<dir-and-${spec.limitName.toLowerCase()}...>`, `directories, each followed by its limit`)
    .option('-n, --dry-run', 'print what would be removed, delete nothing')
    .addHelpText('after', spec.help + '\n' + SAFETY_HELP)
    .action((args: string[], opts: { dryRun?: boolean }) => {
      pairArgs = args;
      dryRun = opts.dryRun === true;
    });
  program.parse(argv);

  const pairs: DirectoryLimit<T>[] = parsePairs(pairArgs, (text, dir) => spec.parseLimit(text, dir));
  for (const { dir } of pairs) checkDirectory(dir);
  const now = clock.now();
  const plans = pairs.map(({ dir, limit }) => ({ dir, plan: spec.plan(dir, limit, now) }));

  let failures = 0;
  for (const { dir, plan } of plans) failures += spec.apply(dir, plan, { dryRun, now: clock.now(), output: stdio }).failures;
  return failures > 0 ? 1 : 0;
}
