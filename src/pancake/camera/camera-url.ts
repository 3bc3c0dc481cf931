// Network cameras' URLs, the part every scheme shares: scheme://[user[:password]@]host[:port]tail split, decoded and checked, and masking.
import net from 'node:net';
import { UsageError } from '../../common/cli.js';

/** What {@link parseCameraAuthority} is told about the scheme family and where a message goes. */
export interface CameraUrlSpec {
  /** The flag named in messages (`--camera`). */
  flag: string;
  /** The URL as shown in messages: masked, perhaps with "(from env:NAME)". */
  shown: string;
  /** Lower-case schemes accepted, each with its default port (`{ rtsp: 554, rtsps: 322 }`). */
  defaultPorts: Readonly<Record<string, number>>;
  /** The message for a text that is not `scheme://…` at all. */
  notAUrl: string;
  /** The message for another scheme. */
  unsupportedScheme: (given: string) => string;
  /** What a '#' is, said when one appears (the hint to encode it is added). */
  fragment: string;
  /** Basic authentication joins user and password with ':', so a ':' in the user name cannot be sent. */
  noColonInUser?: boolean;
}

/** A camera URL taken apart, credentials decoded; nothing resolved or re-encoded yet. */
export interface CameraUrlParts {
  /** Lower-cased, one of the spec's schemes. */
  scheme: string;
  /** The user name, decoded; undefined without one. */
  user: string | undefined;
  /** The password, decoded; '' without one. */
  password: string;
  /** Whether the URL itself holds a password (`user:…@`). */
  inlinePassword: boolean;
  /** As written (IPv6 in brackets), lower-cased. */
  host: string;
  /** The port given, else the scheme's default. */
  port: number;
  /** The port as written; undefined when none was. */
  portText: string | undefined;
  /** Everything from the first '/', '?' or '#' after the authority; may be empty. */
  tail: string;
}

/**
 * Splits and validates `scheme://[user[:password]@]host[:port][/path][?query]`. Throws a
 * {@link UsageError} `<flag>: <why>: <shown>`; `shown` is masked, so the password is never in it.
 */
export function parseCameraAuthority(text: string, spec: CameraUrlSpec): CameraUrlParts {
  const fail = (why: string): never => {
    throw new UsageError(`${spec.flag}: ${why}: ${spec.shown}`);
  };
  if (/\s/.test(text) || [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) fail('spaces or control characters in the URL (write a space as %20)');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(text);
  if (!m) fail(spec.notAUrl);
  const scheme = m![1]!.toLowerCase();
  if (spec.defaultPorts[scheme] === undefined) fail(spec.unsupportedScheme(scheme));
  const rest = m![2]!;
  const end = firstOf(rest, '/?#');
  const authority = rest.slice(0, end);
  const tail = rest.slice(end);
  // A '/', '?' or '#' inside the password ends the authority early; say what to do about it.
  const encodeHint = tail.includes('@') ? ' (percent-encode / ? # @ in the user or password, or use --camera-password)' : '';
  if (tail.includes('#')) fail(`${spec.fragment}${encodeHint || ' (write it as %23)'}`);
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  const hostport = authority.slice(at + 1);

  let user: string | undefined;
  let password = '';
  const inlinePassword = userinfo !== undefined && userinfo.includes(':');
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const decodedUser = percentDecode(colon >= 0 ? userinfo.slice(0, colon) : userinfo);
    const decodedPassword = percentDecode(colon >= 0 ? userinfo.slice(colon + 1) : '');
    if (decodedUser === undefined || decodedPassword === undefined) fail("bad percent-encoding in the user or password (write '%' as %25)");
    if (decodedUser === '') fail('empty user name before the @');
    if (spec.noColonInUser && decodedUser!.includes(':')) fail("a ':' in the user name cannot be sent (Basic authentication)");
    user = decodedUser;
    password = decodedPassword!;
  }

  let host: string;
  let portText: string | undefined;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) fail(`unclosed [ in the host${encodeHint}`);
    host = hostport.slice(0, close + 1).toLowerCase();
    const inner = host.slice(1, -1).replace(/%25.+$/, ''); // an interface zone (fe80::1%25eth0) is not part of the address
    if (!net.isIPv6(inner)) fail(`not an IPv6 address: ${host}`);
    const after = hostport.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) fail(`unexpected text after ${host}${encodeHint}`);
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colon = hostport.lastIndexOf(':');
    host = (colon >= 0 ? hostport.slice(0, colon) : hostport).toLowerCase();
    portText = colon >= 0 ? hostport.slice(colon + 1) : undefined;
    if (host === '') fail(`no host${encodeHint}`);
    if (!/^[a-z0-9._~-]+$/.test(host)) fail(`bad host name ${host}${encodeHint}`);
  }
  let port = spec.defaultPorts[scheme]!;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) fail(`bad port ${JSON.stringify(portText)} (1 to 65535)${encodeHint}`);
    port = Number(portText);
  }
  return { scheme, user, password, inlinePassword, host, port, portText, tail };
}

/**
 * The checks for a password given apart from the URL (`--camera-password`): the URL must name a
 * user (`example`: `rtsp://USER@host/path`) and hold no password of its own.
 */
export function checkSeparatePassword(parts: CameraUrlParts, flag: string, shown: string, example: string): void {
  if (parts.user === undefined) throw new UsageError(`--camera-password: ${flag} names no user (${example}): ${shown}`);
  if (parts.inlinePassword) throw new UsageError(`--camera-password: ${flag} already holds a password; give it in one place only: ${shown}`);
}

/** `--camera-password` must be `env:NAME` or `file:PATH`; throws otherwise. */
export function requireSecretReference(value: string): void {
  if (!value.startsWith('env:') && !value.startsWith('file:')) {
    throw new UsageError('--camera-password: give env:NAME or file:PATH, so the password is not on the command line');
  }
}

/**
 * Any URL with its password replaced by `***` (`rtsp://user:***@host/…`). Errs on the safe side:
 * when an unencoded '/', '?' or '#' in a password hides where the credentials end, everything from
 * the user's ':' to the last '@' is masked.
 */
export function maskUrl(url: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)(.*)$/s.exec(url);
  if (!m) return url;
  const [, head, rest] = m as unknown as [string, string, string];
  const end = firstOf(rest, '/?#');
  let at = rest.slice(0, end).lastIndexOf('@');
  if (at < 0) at = rest.lastIndexOf('@');
  if (at < 0) return url;
  const colon = rest.indexOf(':');
  if (colon < 0 || colon > at) return url; // a user without a password
  return `${head}${rest.slice(0, colon)}:***${rest.slice(at)}`;
}

/** Index of the first of `chars` in `s`, or its length. */
function firstOf(s: string, chars: string): number {
  for (let i = 0; i < s.length; i++) if (chars.includes(s[i]!)) return i;
  return s.length;
}

/** decodeURIComponent, or undefined for a malformed escape. */
function percentDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
