// pancake-set-password: the hidden prompt on a real terminal (under script(1)), the stdin path, mode 0600, bad input.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/common/password.js';
import { DIST, makeTmp, removeTmp, run, runDist } from '../helpers/env.js';

const SET_PASSWORD = 'util/set-password.js';

let tmp: string;
let file: string;
beforeEach(() => {
  tmp = makeTmp('pancake-set-password-');
  file = path.join(tmp, 'password.txt');
});
afterEach(() => removeTmp(tmp));

const mode = (p: string): number => fs.statSync(p).mode & 0o777;
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs pancake-set-password on a pseudo-terminal made by util-linux script(1) and types each
 * answer only once its prompt has appeared, as a person would. Returns the exit code and the
 * terminal transcript (everything the user would have seen).
 */
function onTerminal(args: string[], answers: string[]): Promise<{ status: number | null; screen: string }> {
  const command = [process.execPath, path.join(DIST, SET_PASSWORD), ...args].map(quote).join(' ');
  const child = spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], { cwd: tmp, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let prompted = 0;
  const pending = [...answers];
  child.stdout.on('data', (d: Buffer) => {
    screen += d.toString();
    // A prompt ends with ": "; answer each new one.
    const prompts = (screen.match(/(Password|Again): /g) ?? []).length;
    while (prompted < prompts && pending.length > 0) {
      prompted++;
      child.stdin.write(pending.shift()!);
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  return new Promise((resolve) => child.on('close', (status) => {
    clearTimeout(timer);
    resolve({ status, screen });
  }));
}

describe('pancake-set-password on a terminal', () => {
  it('asks twice without echo and writes a hash that verifies', async () => {
    const r = await onTerminal([file], ['s3cret pässword\r', 's3cret pässword\r']);
    expect(r.status).toBe(0);
    expect(r.screen).toContain('Password: ');
    expect(r.screen).toContain('Again: ');
    expect(r.screen).toContain(`Saved to ${file}`);
    expect(r.screen).not.toContain('s3cret');
    expect(mode(file)).toBe(0o600);
    expect((await verifyPassword('s3cret pässword', fs.readFileSync(file, 'utf8'))).ok).toBe(true);
  });

  it('handles backspace like a terminal would', async () => {
    const r = await onTerminal([file], ['hunterX\u007f2\r', 'hunter2\r']);
    expect(r.status).toBe(0);
    expect((await verifyPassword('hunter2', fs.readFileSync(file, 'utf8'))).ok).toBe(true);
  });

  it('exits 1 and writes nothing when the two answers differ', async () => {
    fs.writeFileSync(file, 'old\n');
    const r = await onTerminal([file], ['one\r', 'two\r']);
    expect(r.status).toBe(1);
    expect(r.screen).toContain('pancake-set-password: the passwords do not match; nothing written');
    expect(fs.readFileSync(file, 'utf8')).toBe('old\n');
  });

  it('refuses an empty password', async () => {
    const r = await onTerminal([file], ['\r', '\r']);
    expect(r.status).toBe(1);
    expect(r.screen).toContain('empty password refused; nothing written');
    expect(fs.existsSync(file)).toBe(false);
  });

  it('stops on Ctrl-C with status 130', async () => {
    const r = await onTerminal([file], ['abc\u0003']);
    expect(r.status).toBe(130);
    expect(r.screen).toContain('interrupted; nothing written');
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('pancake-set-password with stdin not a terminal', () => {
  it('reads the first line only, without its line ending', async () => {
    const r = await runDist(SET_PASSWORD, [file], { input: 'hunter2\r\nsecond line\n' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`Saved to ${file}\n`);
    const stored = fs.readFileSync(file, 'utf8');
    expect(stored).toMatch(/^scrypt\$N=16384,r=8,p=1\$[^$]+\$[^$]+\n$/);
    expect(await verifyPassword('hunter2', stored)).toEqual({ ok: true, legacy: false });
    expect((await verifyPassword('second line', stored)).ok).toBe(false);
  });

  it('takes a last line without a newline, and writes password.txt by default', async () => {
    const r = await runDist(SET_PASSWORD, [], { input: 'hunter2', cwd: tmp });
    expect(r.status).toBe(0);
    expect((await verifyPassword('hunter2', fs.readFileSync(file, 'utf8'))).ok).toBe(true);
  });

  it('makes an existing world-readable file 0600 (also under a umask that would not), leaving no temporary file', async () => {
    fs.writeFileSync(file, 'old hash\n', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const r = await run('sh', ['-c', 'umask 0377; exec "$0" "$@"', process.execPath, path.join(DIST, SET_PASSWORD), file], { input: 'hunter2\n' });
    expect(r.status).toBe(0);
    expect(mode(file)).toBe(0o600);
    expect(fs.readdirSync(tmp)).toEqual(['password.txt']);
    expect((await verifyPassword('hunter2', fs.readFileSync(file, 'utf8'))).ok).toBe(true);
  });

  it.each([['an empty line', '\nhunter2\n'], ['nothing at all', '']])('refuses %s: exit 1, nothing written', async (_name, input) => {
    const r = await runDist(SET_PASSWORD, [file], { input });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('pancake-set-password: empty password refused; nothing written\n');
    expect(fs.existsSync(file)).toBe(false);
  });

  it.each([
    ['a missing directory', () => path.join(tmp, 'no', 'password.txt'), /^pancake-set-password: file: no such directory: .*\/no\n$/],
    ['a directory', () => tmp, /^pancake-set-password: file: is a directory: /],
  ])('refuses %s with exit 2 before asking', async (_name, target, message) => {
    const r = await runDist(SET_PASSWORD, [target()], { input: 'hunter2\n' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
