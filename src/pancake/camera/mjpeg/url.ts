// MJPEG cameras' URLs: http(s)://[user[:password]@]host[:port]/path from --camera (or env:NAME, file:PATH), validated and masked.
import net from 'node:net';
import { UsageError } from '../../../common/cli.js';
import { resolveSecret } from '../../../common/secret.js';
import { maskUrl } from '../rtsp.js';

/** A validated MJPEG camera URL. There is no form with the password in it: it travels only in the Authorization header. */
export interface HttpCameraUrl {
  /** The URL with the password replaced by `***` (`http://user:***@host/…`): for every log line, event and page. */
  readonly masked: string;
  readonly scheme: 'http' | 'https';
  /** As written (IPv6 in brackets, `[::1]`), lower-cased. */
  readonly host: string;
  /** The port given, else 80 (http) or 443 (https). */
  readonly port: number;
  /** Path and query as given, with a leading `/` (`/?action=stream`). */
  readonly path: string;
  /** The user name, decoded; undefined without one. */
  readonly user: string | undefined;
  /** The password, decoded; '' without one. Never log it. */
  readonly password: string;
}

export interface HttpCameraUrlOptions {
  /** `--camera-password` as given: `env:NAME` or `file:PATH`; the URL then names the user only. */
  password?: string;
  /** The flag named in messages; default `--camera`. */
  flag?: string;
}

const USAGE = 'http://[user[:password]@]host[:port]/path';

/**
 * Parses `http(s)://[user[:password]@]host[:port][/path][?query]`, or `env:NAME` / `file:PATH`
 * holding one (read as secrets are: the variable, or the file's first line). Throws a
 * {@link UsageError} (exit 3) with one line naming the flag; the password is never in it.
 */
export function parseHttpCameraUrl(value: string, options: HttpCameraUrlOptions = {}): HttpCameraUrl {
  const flag = options.flag ?? '--camera';
  const text = resolveSecret(value, flag);
  const from = text === value ? '' : ` (from ${value})`;
  const fail = (why: string): never => {
    throw new UsageError(`${flag}: ${why}: ${maskUrl(text)}${from}`);
  };
  if ([...text].some((c) => c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) === 0x7f)) fail('spaces or control characters in the URL (write a space as %20)');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(text);
  if (!m) fail(`not a URL; expected ${USAGE}`);
  const given = m![1]!.toLowerCase();
  if (given !== 'http' && given !== 'https') fail(`unsupported scheme ${given}:// for an MJPEG camera (http:// or https://)`);
  const scheme = given as 'http' | 'https';
  const rest = m![2]!;
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const tail = end < 0 ? '' : rest.slice(end);
  // A '/', '?' or '#' inside the password ends the authority early; say what to do about it.
  const encodeHint = tail.includes('@') ? ' (percent-encode / ? # @ in the user or password, or use --camera-password)' : '';
  if (tail.includes('#')) fail(`a '#' is never sent to the camera${encodeHint || ' (write it as %23)'}`);

  const at = authority.lastIndexOf('@');
  let user: string | undefined;
  let password = '';
  let inlinePassword = false;
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    inlinePassword = colon >= 0;
    const decodedUser = percentDecode(inlinePassword ? userinfo.slice(0, colon) : userinfo);
    const decodedPassword = percentDecode(inlinePassword ? userinfo.slice(colon + 1) : '');
    if (decodedUser === undefined || decodedPassword === undefined) fail("bad percent-encoding in the user or password (write '%' as %25)");
    // Basic authentication joins user and password with ':', so a ':' in the user cannot be sent.
    if (decodedUser === '' || decodedUser!.includes(':')) fail(decodedUser === '' ? 'empty user name before the @' : "a ':' in the user name cannot be sent (Basic authentication)");
    user = decodedUser;
    password = decodedPassword!;
  }

  const hostport = authority.slice(at + 1);
  const bracket = hostport.startsWith('[') ? hostport.indexOf(']') : -1;
  if (hostport.startsWith('[') && bracket < 0) fail(`unclosed [ in the host${encodeHint}`);
  const colon = hostport.indexOf(':', bracket + 1);
  const host = (colon < 0 ? hostport : hostport.slice(0, colon)).toLowerCase();
  const portText = colon < 0 ? undefined : hostport.slice(colon + 1);
  if (host === '') fail(`no host${encodeHint}`);
  if (bracket >= 0) {
    if (bracket !== host.length - 1) fail(`unexpected text after ${host.slice(0, bracket + 1)}${encodeHint}`);
    if (!net.isIPv6(host.slice(1, -1))) fail(`not an IPv6 address: ${host}`);
  } else if (!/^[a-z0-9._~-]+$/.test(host)) {
    fail(`bad host name ${host}${encodeHint}`);
  }
  let port = scheme === 'https' ? 443 : 80;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) fail(`bad port ${JSON.stringify(portText)} (1 to 65535)${encodeHint}`);
    port = Number(portText);
  }

  if (options.password !== undefined) {
    const shown = `${maskUrl(text)}${from}`;
    if (!options.password.startsWith('env:') && !options.password.startsWith('file:')) {
      throw new UsageError('--camera-password: give env:NAME or file:PATH, so the password is not on the command line');
    }
    if (user === undefined) throw new UsageError(`--camera-password: ${flag} names no user (${scheme}://USER@host/path): ${shown}`);
    if (inlinePassword) throw new UsageError(`--camera-password: ${flag} already holds a password; give it in one place only: ${shown}`);
    password = resolveSecret(options.password, '--camera-password');
  }

  const path = tail.startsWith('/') ? tail : `/${tail}`;
  const credentials = user === undefined ? '' : `${encodeURIComponent(user)}${password ? ':***' : ''}@`;
  return {
    masked: `${scheme}://${credentials}${portText === undefined ? host : `${host}:${port}`}${path}`,
    scheme,
    host,
    port,
    path,
    user,
    password,
  };
}

/** decodeURIComponent, or undefined for a malformed escape. */
function percentDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
