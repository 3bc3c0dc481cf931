// Secrets (passwords, bot tokens) given as "env:NAME", "file:PATH" or, for compatibility, literally.
import fs from 'node:fs';
import { UsageError } from './cli.js';

/**
 * Resolves a secret argument: `env:NAME` reads the environment variable NAME, `file:PATH` reads the
 * first line of PATH; anything else is the secret itself (as the original took it on argv).
 * Throws a UsageError naming `flag` but never the secret's value.
 */
export function resolveSecret(value: string, flag: string): string {
  if (value.startsWith('env:')) {
    const name = value.slice(4);
    const secret = process.env[name];
    if (!name || secret === undefined || secret === '') throw new UsageError(`${flag}: environment variable ${name || '(empty name)'} is not set`);
    return secret;
  }
  if (value.startsWith('file:')) {
    const file = value.slice(5);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`${flag}: cannot read secret file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const line = text.split(/\r?\n/, 1)[0] ?? '';
    if (line === '') throw new UsageError(`${flag}: secret file ${file} is empty`);
    return line;
  }
  return value;
}

/** A string safe to log in place of a secret. */
export function redact(secret: string): string {
  return secret.length === 0 ? '' : '***';
}
