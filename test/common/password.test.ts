// Password hashes: the scrypt format, verification against independent fixtures, the original's SHA-512, and bad files.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashPassword, isLegacyHash, readPasswordFile, SCRYPT_PARAMS, verifyPassword } from '../../src/common/password.js';
import { makeTmp, removeTmp } from '../helpers/env.js';

// Made independently of this code, with Python's hashlib:
//   python3 -c "import hashlib,base64; s=bytes(range(16)); h=hashlib.scrypt(b'hunter2',salt=s,n=16384,r=8,p=1,dklen=32,maxmem=64*1024*1024);
//               print('scrypt\$N=16384,r=8,p=1\$'+base64.b64encode(s).decode()+'\$'+base64.b64encode(h).decode())"
const PY_SCRYPT = 'scrypt$N=16384,r=8,p=1$AAECAwQFBgcICQoLDA0ODw==$yC/CFq4O6DKFo+9M9N1ddU/n0L0AvPnMZL4zzhmbTA0=';
//   same with s=b'saltsalt', n=1024, r=4, p=2, dklen=64 (other parameters are read from the string)
const PY_SCRYPT_OTHER = 'scrypt$N=1024,r=4,p=2$c2FsdHNhbHQ=$/EPyCrj1OqXOLLAFBeM3JlxYwQrO7iMYzQkuddeHM6l6ezVINDMctFNHQ+Z++TfjnS80L6X9toAr82GFQLz7pQ==';
// The original's set_password.py format: python3 -c "import hashlib; print(hashlib.sha512('hunter2'.encode()).hexdigest())"
const LEGACY = '6b97ed68d14eb3f1aa959ce5d49c7dc612e1eb1dafd73b1e705847483fd6a6c809f2ceb4e8df6ff9984c6298ff0285cace6614bf8daa9f0070101b6c89899e22';
//   and of 'pässwörd' (UTF-8, as Python's str.encode())
const LEGACY_UTF8 = '72c7fe1bd33b785746a9c94f9b80d2591cd38f3c13c8aa43f7537f32a2a8c5f9b5d1cee16b69f0212e0e39a94d83f57bcf3a26bae776007cebb01f0d6311273e';

describe('hashPassword', () => {
  it('writes a salted, self-describing scrypt string that verifies', async () => {
    const stored = await hashPassword('hunter2');
    expect(stored).toMatch(/^scrypt\$N=16384,r=8,p=1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(SCRYPT_PARAMS).toEqual({ N: 16384, r: 8, p: 1 });
    expect(await verifyPassword('hunter2', stored)).toEqual({ ok: true, legacy: false });
    expect(await verifyPassword('hunter3', stored)).toEqual({ ok: false, legacy: false });
    expect(await verifyPassword('', stored)).toEqual({ ok: false, legacy: false });
  });

  it('uses a fresh salt every time', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    expect(a.split('$')[2]).not.toBe(b.split('$')[2]);
  });

  it('normalises Unicode, so composed and decomposed accents are the same password', async () => {
    const stored = await hashPassword('caf\u00e9');
    expect((await verifyPassword('cafe\u0301', stored)).ok).toBe(true);
  });
});

describe('verifyPassword', () => {
  it.each([
    ['Python scrypt, default parameters', PY_SCRYPT, 'hunter2', { ok: true, legacy: false }],
    ['Python scrypt, wrong password', PY_SCRYPT, 'Hunter2', { ok: false, legacy: false }],
    ['Python scrypt, other parameters and key length', PY_SCRYPT_OTHER, 'hunter2', { ok: true, legacy: false }],
    ['the original SHA-512, right password', LEGACY, 'hunter2', { ok: true, legacy: true }],
    ['the original SHA-512, wrong password', LEGACY, 'hunter', { ok: false, legacy: true }],
    ['the original SHA-512 in capitals, with a newline', `${LEGACY.toUpperCase()}\n`, 'hunter2', { ok: true, legacy: true }],
    ['the original SHA-512 of UTF-8', LEGACY_UTF8, 'pässwörd', { ok: true, legacy: true }],
  ])('%s', async (_name, stored, password, result) => {
    expect(await verifyPassword(password, stored)).toEqual(result);
  });

  const hashB64 = PY_SCRYPT.split('$')[3]!;
  const flipped = (hashB64[0] === 'y' ? 'z' : 'y') + hashB64.slice(1);
  it.each([
    ['a changed hash byte', PY_SCRYPT.replace(hashB64, flipped)],
    ['a changed salt', PY_SCRYPT.replace('AAECAwQFBgcICQoLDA0ODw==', 'AAECAwQFBgcICQoLDA0ODA==')],
    ['a changed N', PY_SCRYPT.replace('N=16384', 'N=8192')],
    ['a truncated hash', PY_SCRYPT.slice(0, -10)],
    ['N not a power of two', PY_SCRYPT.replace('N=16384', 'N=16383')],
    ['N too costly (1 GiB)', PY_SCRYPT.replace('N=16384', 'N=1048576')],
    ['p = 0', PY_SCRYPT.replace('p=1', 'p=0')],
    ['not base64', PY_SCRYPT.replace('AAECAwQF', 'AAEC*wQF')],
    ['another algorithm', PY_SCRYPT.replace('scrypt$', 'bcrypt$')],
    ['a short legacy hash', LEGACY.slice(0, 127)],
    ['a legacy hash with a non-hex digit', `${LEGACY.slice(0, 127)}g`],
    ['empty', ''],
  ])('rejects a tampered or malformed hash: %s', async (_name, stored) => {
    expect((await verifyPassword('hunter2', stored)).ok).toBe(false);
  });

  it('tells legacy hashes apart', () => {
    expect(isLegacyHash(LEGACY)).toBe(true);
    expect(isLegacyHash(PY_SCRYPT)).toBe(false);
  });
});

describe('readPasswordFile', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = makeTmp('pancake-password-');
  });
  afterEach(() => removeTmp(tmp));
  const write = (content: string): string => {
    const p = path.join(tmp, 'password.txt');
    fs.writeFileSync(p, content);
    return p;
  };

  it.each([
    ['a scrypt line', `${PY_SCRYPT}\n`, PY_SCRYPT],
    ['the original format, no newline', LEGACY, LEGACY],
    ['CRLF and a BOM', `\uFEFF${PY_SCRYPT}\r\n`, PY_SCRYPT],
  ])('reads %s', async (_name, content, stored) => {
    expect(await readPasswordFile(write(content))).toBe(stored);
  });

  it.each([
    ['MISSING', (p: string) => path.join(p, 'nope.txt'), /^password file .*nope\.txt does not exist; create it with: pancake-set-password .*nope\.txt$/],
    ['EMPTY', () => write(' \n'), /^password file .*password\.txt is empty; set a password with: pancake-set-password /],
    ['UNRECOGNISED', () => write('hunter2\n'), /^password file .*password\.txt does not hold a password hash pancake knows \(scrypt\$… from pancake-set-password, or the original's 128 hex digits\)/],
    ['UNRECOGNISED', () => write(`${PY_SCRYPT}\n${PY_SCRYPT}\n`), /does not hold a password hash/],
    ['UNREADABLE', (p: string) => p, /^cannot read password file .*: EISDIR$/],
  ])('%s file: one clear line', async (code, make, message) => {
    const err = await readPasswordFile(make(tmp)).then(() => undefined, (e: unknown) => e as Error & { code: string; exitCode: number });
    expect(err).toBeDefined();
    expect(err!.code).toBe(code);
    expect(err!.message).toMatch(message);
    expect(err!.message).not.toContain('\n');
  });
});
