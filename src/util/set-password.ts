#!/usr/bin/env node
// pancake-set-password: Write a salted password hash file for pancake --login.
import { Command } from 'commander';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { ReadStream } from 'node:tty';
import { exitOverride, runMain, UsageError } from '../common/cli.js';
import { VERSION } from '../common/paths.js';
import { hashPassword, SCRYPT_PARAMS } from '../common/password.js';
import { HiddenLineEditor } from './hidden-line.js';

/** Asks each prompt in turn on a terminal with echo off and returns the lines typed. */
function askHidden(input: ReadStream, output: Writable, prompts: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const editor = new HiddenLineEditor();
    const lines: string[] = [];
    const done = (err?: Error): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      if (err) reject(err);
      else resolve(lines);
    };
    const onData = (chunk: string): void => {
      for (const event of editor.feed(chunk)) {
        output.write('\n');
        if (event.type === 'interrupt') return done(new UsageError('interrupted; nothing written', 130));
        if (event.type === 'end') return done(new UsageError('no password given; nothing written', 1));
        lines.push(event.text);
        if (lines.length === prompts.length) return done();
        output.write(prompts[lines.length]!);
      }
    };
    // Echo goes off before the prompt appears, so nothing typed after seeing it is ever shown.
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.resume();
    output.write(prompts[0]!);
  });
}

/** Reads the first line of a non-terminal stdin (a pipe or a file), without its line ending. */
function readFirstLine(input: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (): void => {
      input.off('data', onData);
      input.off('end', finish);
      input.off('error', reject);
      input.destroy();
      resolve(text.split('\n', 1)[0]!.replace(/\r$/, ''));
    };
    const onData = (chunk: string): void => {
      text += chunk;
      if (text.includes('\n')) finish();
    };
    input.setEncoding('utf8');
    input.on('data', onData);
    input.on('end', finish);
    input.on('error', reject);
  });
}

/** The uid/gid the new file should have: only root can and needs to choose (see writeSecretFile). */
function ownerFor(file: string): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const p of [file, path.dirname(path.resolve(file))]) {
    try {
      const st = fs.statSync(p);
      return { uid: st.uid, gid: st.gid };
    } catch {
      // no such file yet: the directory's owner then
    }
  }
  return undefined;
}

/**
 * Writes `content` to `file` with mode 0600 through a temporary file in the same directory and a
 * rename, so the hash is never readable by others (even when the old file was) and a crash leaves
 * the old file or the new one, never half of one. Run as root (sudo), the file gets the owner of the
 * file it replaces, or of its directory, because pancake runs as that user and must read it.
 */
function writeSecretFile(file: string, content: string): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  const owner = ownerFor(file);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    try {
      fs.fchmodSync(fd, 0o600); // the umask may have taken bits away; this is exact
      if (owner) fs.fchownSync(fd, owner.uid, owner.gid);
      fs.writeFileSync(fd, content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  try {
    // Make the rename itself durable; not every file system lets a directory be fsynced.
    const dirFd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  } catch {
    // best effort
  }
}

/** Checks before asking anything that the hash can be written where asked (exit 2 otherwise). */
function checkTarget(file: string): void {
  const dir = path.dirname(file);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UsageError(`file: no such directory: ${dir}`, 2);
  }
  if (!st.isDirectory()) throw new UsageError(`file: not a directory: ${dir}`, 2);
  try {
    if (fs.statSync(file).isDirectory()) throw new UsageError(`file: is a directory: ${file}`, 2);
  } catch (err) {
    if (err instanceof UsageError) throw err;
  }
}

await runMain('pancake-set-password', async () => {
  const program = exitOverride(new Command('pancake-set-password'))
    .description('Write a salted password hash file for pancake --login')
    .version(VERSION)
    .argument('[file]', 'where to write the hash', 'password.txt')
    .addHelpText(
      'after',
      `
On a terminal the password is asked twice without echo; when they differ, nothing is
written. When stdin is not a terminal, its first line is the password (for scripts):
  printf '%s\\n' "$PASSWORD" | pancake-set-password password.txt
An empty password is refused.

The file holds one line, a salted scrypt hash that names its parameters:
  scrypt$N=${SCRYPT_PARAMS.N},r=${SCRYPT_PARAMS.r},p=${SCRYPT_PARAMS.p}$<salt, base64>$<hash, base64>
It is written with mode 0600 (replacing any old file, whatever its mode). Run with sudo,
the file keeps the owner of the file it replaces (or of its directory), so pancake's user can
still read it. pancake also accepts files made by the original's set_password.py (an
unsalted SHA-512), with a warning to make a new one with this command.

Examples:
  pancake-set-password                  writes password.txt here
  pancake-set-password /home/pi/raspberry-pancake/password.txt

Exit status: 0 written, 1 passwords differ, empty or not writable (nothing written),
2 bad arguments, 130 interrupted with Ctrl-C.`,
    );
  program.parse(process.argv);
  const file = program.processedArgs[0] as string;
  checkTarget(file);

  let password: string;
  if (process.stdin.isTTY) {
    const [first, second] = await askHidden(process.stdin, process.stderr, ['Password: ', 'Again: ']);
    if (first !== second) throw new UsageError('the passwords do not match; nothing written', 1);
    password = first!;
  } else {
    password = await readFirstLine(process.stdin);
  }
  if (password === '') throw new UsageError('empty password refused; nothing written', 1);

  const hash = await hashPassword(password);
  try {
    writeSecretFile(file, `${hash}\n`);
  } catch (err) {
    throw new UsageError(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; nothing written`, 1);
  }
  process.stdout.write(`Saved to ${file}\n`);
});
