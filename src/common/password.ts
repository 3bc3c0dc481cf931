// Password hashes for pancake --login: salted scrypt strings, and the original's unsalted SHA-512 hex, read for compatibility.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { UsageError } from './cli.js';

/** scrypt cost parameters. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * The cost of new hashes: N=2^14, r=8 needs 16 MiB and takes about 45 ms on an x86 server core,
 * so roughly 150–250 ms on a Pi 4 (several times slower, mostly in memory bandwidth) and under a
 * second on a Zero 2 W. N=2^15 would be 0.3–0.5 s on a Pi 4 for every login attempt.
 */
export const SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 16384, r: 8, p: 1 });

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** The most memory a stored hash may ask for: a corrupted N must not exhaust a 512 MiB Pi. */
const MAX_MEMORY = 128 * 1024 * 1024;

const SCRYPT_RE = /^scrypt\$N=(\d{1,8}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;
const LEGACY_RE = /^[0-9a-fA-F]{128}$/;

/** Bytes scrypt needs for `params`, as OpenSSL counts them for its `maxmem` check (V plus B). */
function scryptMemory({ N, r, p }: ScryptParams): number {
  return 128 * r * (N + p + 2);
}

function scrypt(password: string, salt: Buffer, keyLength: number, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Node's default maxmem is 32 MiB; say it explicitly so a change of N cannot fail at login time.
    const options = { ...params, maxmem: scryptMemory(params) + 1024 * 1024 };
    crypto.scrypt(password.normalize('NFC'), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Decodes strict base64 (what Buffer.toString('base64') writes, padding optional), or undefined. */
function decodeBase64(text: string): Buffer | undefined {
  const buf = Buffer.from(text, 'base64');
  return buf.toString('base64').replace(/=+$/, '') === text.replace(/=+$/, '') ? buf : undefined;
}

interface ParsedScrypt {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

/** Reads `scrypt$N=…,r=…,p=…$salt$hash`, refusing parameters that are invalid or too costly. */
function parseScrypt(stored: string): ParsedScrypt | undefined {
  const m = SCRYPT_RE.exec(stored);
  if (!m) return undefined;
  const params = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  const powerOfTwo = params.N >= 2 && (params.N & (params.N - 1)) === 0;
  if (!powerOfTwo || params.r < 1 || params.p < 1 || params.p > 16 || scryptMemory(params) > MAX_MEMORY) return undefined;
  const salt = decodeBase64(m[4]!);
  const hash = decodeBase64(m[5]!);
  if (!salt || !hash || salt.length < 8 || hash.length < 16 || hash.length > 64) return undefined;
  return { params, salt, hash };
}

/** True for the Python original's format: the unsalted SHA-512 of the password as 128 hex digits. */
export function isLegacyHash(stored: string): boolean {
  return LEGACY_RE.test(stored.trim());
}

/** True when `stored` is a hash pancake can check a password against (scrypt or legacy). */
export function isKnownHash(stored: string): boolean {
  const s = stored.trim();
  return LEGACY_RE.test(s) || parseScrypt(s) !== undefined;
}

/**
 * Hashes a password with a fresh random salt:
 * `scrypt$N=16384,r=8,p=1$<salt, base64>$<hash, base64>`. The string names its parameters, so
 * hashes stay valid if the defaults change. The password is NFC-normalised first, so an accented
 * letter typed in a terminal and in a phone's browser gives the same bytes.
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(SALT_BYTES);
  const hash = await scrypt(password, salt, KEY_BYTES, SCRYPT_PARAMS);
  const { N, r, p } = SCRYPT_PARAMS;
  return `scrypt$N=${N},r=${r},p=${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/**
 * Checks a password against a stored hash in constant time. `legacy` is true when the stored
 * hash is the original's unsalted SHA-512, so pancake can warn the operator to re-hash it with
 * pancake-set-password. A malformed or tampered hash never matches.
 */
export async function verifyPassword(password: string, stored: string): Promise<{ ok: boolean; legacy: boolean }> {
  const s = stored.trim();
  if (LEGACY_RE.test(s)) {
    // As set_password.py did: SHA-512 of the UTF-8 bytes, not normalised.
    const actual = crypto.createHash('sha512').update(password, 'utf8').digest();
    return { ok: crypto.timingSafeEqual(actual, Buffer.from(s, 'hex')), legacy: true };
  }
  const parsed = parseScrypt(s);
  if (!parsed) return { ok: false, legacy: false };
  const actual = await scrypt(password, parsed.salt, parsed.hash.length, parsed.params);
  return { ok: crypto.timingSafeEqual(actual, parsed.hash), legacy: false };
}

/** Why a password file cannot be used; `code` is stable for callers and tests. */
export class PasswordFileError extends UsageError {
  readonly code: 'MISSING' | 'UNREADABLE' | 'EMPTY' | 'UNRECOGNISED';
  constructor(code: PasswordFileError['code'], message: string) {
    super(message);
    this.name = 'PasswordFileError';
    this.code = code;
  }
}

/**
 * Reads a password hash file (from pancake-set-password, or the original's set_password.py) and
 * returns the hash, checked to be one {@link verifyPassword} understands. Throws a
 * {@link PasswordFileError}, a UsageError with one clear line, when it is missing, unreadable,
 * empty or not a known hash.
 */
export async function readPasswordFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PasswordFileError('MISSING', `password file ${file} does not exist; create it with: pancake-set-password ${file}`);
    throw new PasswordFileError('UNREADABLE', `cannot read password file ${file}: ${code ?? String(err)}`);
  }
  const stored = text.replace(/^\uFEFF/, '').trim();
  if (stored === '') throw new PasswordFileError('EMPTY', `password file ${file} is empty; set a password with: pancake-set-password ${file}`);
  if (!isKnownHash(stored)) {
    throw new PasswordFileError(
      'UNRECOGNISED',
      `password file ${file} does not hold a password hash pancake knows (scrypt$… from pancake-set-password, or the original's 128 hex digits); make a new one with: pancake-set-password ${file}`,
    );
  }
  return stored;
}
