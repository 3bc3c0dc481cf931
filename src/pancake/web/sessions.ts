// Login sessions: HMAC-signed cookies, password checks, and a per-address limit on failed attempts.
import crypto from 'node:crypto';

export const SESSION_COOKIE = 'pancake_session';

/**
 * Signed, expiring session tokens `<expiry ms>.<nonce>.<signature>`. The key is random per start,
 * so a restart logs everyone out (as the original's random cookie secret did) and nothing secret
 * is ever stored on disk.
 */
export class SessionSigner {
  private readonly key: Buffer;

  constructor(
    private readonly lifetimeMs = 30 * 24 * 3600 * 1000,
    key: Buffer = crypto.randomBytes(32),
  ) {
    this.key = key;
  }

  issue(nowMs: number): string {
    const body = `${nowMs + this.lifetimeMs}.${crypto.randomBytes(12).toString('base64url')}`;
    return `${body}.${this.sign(body)}`;
  }

  verify(token: string | undefined, nowMs: number): boolean {
    if (!token) return false;
    const parts = token.split('.');
    if (parts.length !== 3) return false;
    const body = `${parts[0]}.${parts[1]}`;
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(parts[2]!);
    if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) return false;
    return Number(parts[0]) > nowMs;
  }

  get maxAgeSeconds(): number {
    return Math.floor(this.lifetimeMs / 1000);
  }

  private sign(body: string): string {
    return crypto.createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

/** Parses a Cookie header into name → value (first occurrence wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}

/** The Set-Cookie value of a session (or of its removal when `token` is empty). */
export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  const attrs = [`${SESSION_COOKIE}=${token}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${token ? maxAgeSeconds : 0}`];
  if (secure) attrs.push('Secure');
  return attrs.join('; ');
}

/**
 * Failed logins per client address: after `maxFailures` within `windowMs`, the address is locked
 * out until the window has passed since its newest failure. Bounded in memory.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  /** Addresses with a password check (and its slow answer) in progress. */
  private readonly checking = new Set<string>();

  constructor(
    private readonly maxFailures = 5,
    private readonly windowMs = 15 * 60 * 1000,
    private readonly maxAddresses = 10_000,
  ) {}

  /** Milliseconds until `address` may try again (0: it may try now). */
  retryAfter(address: string, nowMs: number): number {
    const recent = this.recent(address, nowMs);
    if (recent.length < this.maxFailures) return 0;
    return recent[recent.length - 1]! + this.windowMs - nowMs;
  }

  /**
   * Takes `address`'s one slot for a password check, counted when the attempt arrives: parallel
   * guesses cannot all be checked before the first failure is known. Returns 0 when the check may
   * go ahead (call {@link end} when its answer is sent), else the ms to tell the client to wait.
   */
  begin(address: string, nowMs: number): number {
    const locked = this.retryAfter(address, nowMs);
    if (locked > 0) return locked;
    if (this.checking.has(address)) return 1000;
    this.checking.add(address);
    return 0;
  }

  /** The check begun for `address` has been answered. */
  end(address: string): void {
    this.checking.delete(address);
  }

  fail(address: string, nowMs: number): void {
    const recent = this.recent(address, nowMs);
    recent.push(nowMs);
    this.failures.delete(address);
    this.failures.set(address, recent.slice(-this.maxFailures));
    if (this.failures.size > this.maxAddresses) this.failures.delete(this.failures.keys().next().value as string);
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }

  private recent(address: string, nowMs: number): number[] {
    return (this.failures.get(address) ?? []).filter((t) => nowMs - t < this.windowMs);
  }
}
