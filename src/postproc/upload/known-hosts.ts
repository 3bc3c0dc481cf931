// OpenSSH known_hosts: parsing plain and hashed entries and checking a server's host key against them.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** One key line of a known_hosts file. */
export interface KnownHostEntry {
  /** `@revoked` keys are refused for every host they match; `@cert-authority` lines are kept but never match a plain key. */
  marker?: 'revoked' | 'cert-authority';
  /** Comma-separated patterns (`host`, `[host]:port`, `*`, `?`, `!negated`), or one hashed `|1|salt|hash` name. */
  hosts: string;
  keyType: string;
  /** The public key blob (base64-decoded). */
  key: Buffer;
  /** 1-based line number, for messages. */
  line: number;
}

/** Parses known_hosts text; comments, blank and malformed lines are skipped (as ssh does). */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) continue;
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields[0] === '@revoked' ? 'revoked' : 'cert-authority';
      fields.shift();
    } else if (fields[0].startsWith('@')) continue;
    const [hosts, keyType, base64] = fields;
    if (!hosts || !keyType || !base64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) continue;
    const key = Buffer.from(base64, 'base64');
    // The blob starts with its own type name; a line whose two disagree is corrupt.
    if (blobKeyType(key) !== keyType) continue;
    entries.push({ ...(marker ? { marker } : {}), hosts, keyType, key, line: i + 1 });
  }
  return entries;
}

/** The name ssh looks a server up by: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** Whether an entry's host field names `name` (a {@link knownHostName}). */
export function entryMatchesHost(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    const want = Buffer.from(hash, 'base64');
    const got = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    return want.length === got.length && timingSafeEqual(want, got);
  }
  let matched = false;
  for (const pattern of hosts.split(',')) {
    const negated = pattern.startsWith('!');
    if (globMatch(negated ? pattern.slice(1) : pattern, name)) {
      // A matching negated pattern rules the whole line out, whatever else matches.
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

// ssh's pattern language: `*` any run of characters, `?` one character, case-insensitive.
function globMatch(pattern: string, text: string): boolean {
  const re = pattern
    .toLowerCase()
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${re}$`).test(text);
}

/** The outcome of checking a server's host key. */
export type HostKeyVerdict =
  | { status: 'known' }
  | { status: 'unknown' }
  /** The host is known, but not with this key (a reinstalled server, or someone in between). */
  | { status: 'changed'; knownTypes: string[] }
  | { status: 'revoked' };

/** Checks `key` (the server's host key blob) for `host`:`port` against known_hosts entries. */
export function checkHostKey(entries: KnownHostEntry[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const name = knownHostName(host, port);
  if (entries.some((e) => e.marker === 'revoked' && e.key.equals(key))) return { status: 'revoked' };
  const forHost = entries.filter((e) => e.marker === undefined && entryMatchesHost(e.hosts, name));
  if (forHost.some((e) => e.key.equals(key))) return { status: 'known' };
  if (forHost.length === 0) return { status: 'unknown' };
  return { status: 'changed', knownTypes: [...new Set(forHost.map((e) => e.keyType))] };
}

// ssh2's host key algorithms (what it offers by default), and which key type each one uses.
const HOST_KEY_ALGORITHMS: [algorithm: string, keyType: string][] = [
  ['ssh-ed25519', 'ssh-ed25519'],
  ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256'],
  ['ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp384'],
  ['ecdsa-sha2-nistp521', 'ecdsa-sha2-nistp521'],
  ['rsa-sha2-512', 'ssh-rsa'],
  ['rsa-sha2-256', 'ssh-rsa'],
  ['ssh-rsa', 'ssh-rsa'],
];

/**
 * The host key algorithms to offer, those of the key types known for this host first (as ssh
 * does): a server with several host keys then shows the one we can check, rather than one of a
 * type we have never seen, which would look like a changed key.
 */
export function hostKeyAlgorithms(entries: KnownHostEntry[], host: string, port: number): string[] {
  const name = knownHostName(host, port);
  const known = new Set(entries.filter((e) => e.marker === undefined && entryMatchesHost(e.hosts, name)).map((e) => e.keyType));
  const first = HOST_KEY_ALGORITHMS.filter(([, type]) => known.has(type)).map(([alg]) => alg);
  const rest = HOST_KEY_ALGORITHMS.filter(([, type]) => !known.has(type)).map(([alg]) => alg);
  return [...first, ...rest];
}

/** The key type named at the start of an SSH public key blob (`ssh-ed25519`, `ssh-rsa`, ...). */
export function blobKeyType(blob: Buffer): string {
  if (blob.length < 4) return '';
  const len = blob.readUInt32BE(0);
  if (len > 64 || 4 + len > blob.length) return '';
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** A key's fingerprint as ssh prints it: `SHA256:` and unpadded base64. */
export function keyFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
