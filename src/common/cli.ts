// Command-line helpers shared by every program: one-line user errors with exit codes, number parsing.
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';

/** An error the user caused (a bad flag, a missing directory): printed as one line, no stack trace. */
export class UsageError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 3) {
    super(message);
    this.name = 'UsageError';
    this.exitCode = exitCode;
  }
}

/** Parses a whole decimal integer, or throws a UsageError naming `flag`. */
export function parseInteger(value: string, flag: string, { min, max }: { min?: number; max?: number } = {}): number {
  if (!/^[+-]?\d+$/.test(value.trim())) throw new UsageError(`${flag}: not a whole number: ${value}`);
  const n = Number(value);
  if (min !== undefined && n < min) throw new UsageError(`${flag}: must be at least ${min}: ${value}`);
  if (max !== undefined && n > max) throw new UsageError(`${flag}: must be at most ${max}: ${value}`);
  return n;
}

/** Parses a finite decimal number (fractions allowed), or throws a UsageError naming `flag`. */
export function parseNumber(value: string, flag: string, { min, exclusiveMin }: { min?: number; exclusiveMin?: number } = {}): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag}: not a number: ${value}`);
  if (min !== undefined && n < min) throw new UsageError(`${flag}: must be at least ${min}: ${value}`);
  if (exclusiveMin !== undefined && n <= exclusiveMin) throw new UsageError(`${flag}: must be greater than ${exclusiveMin}: ${value}`);
  return n;
}

/**
 * Runs a program's main function: user errors become `<program>: <message>` and their exit code,
 * anything else is a bug and crashes with its stack (systemd restarts us and the journal keeps it).
 */
export async function runMain(program: string, main: () => Promise<number | void>): Promise<void> {
  try {
    const code = await main();
    if (typeof code === 'number') process.exitCode = code;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${program}: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof CommanderError) {
      // commander already printed its message (or the help); keep its exit code, but 2 for usage errors.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    throw err;
  }
}

/** Makes a commander program throw instead of exiting, so runMain decides the exit code. */
export function exitOverride(command: Command): Command {
  return command.exitOverride().configureOutput({
    writeErr: (s) => process.stderr.write(s),
  });
}

/** An existing directory given to `flag`, as an absolute path; otherwise a UsageError naming the flag. */
export function requireDirectory(dir: string, flag: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new UsageError(`${flag}: no such directory: ${dir}`);
  }
  if (!stat.isDirectory()) throw new UsageError(`${flag}: not a directory: ${dir}`);
  return path.resolve(dir);
}
