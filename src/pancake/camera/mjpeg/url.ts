// MJPEG cameras' URLs: http(s)://[user[:password]@]host[:port]/path from --camera (or env:NAME, file:PATH), validated and masked.
import { resolveSecret } from '../../../common/secret.js';
import { checkSeparatePassword, maskUrl, parseCameraAuthority, requireSecretReference } from '../camera-url.js';

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
  const shown = `${maskUrl(text)}${from}`;
  const parts = parseCameraAuthority(text, {
    flag, shown,
    defaultPorts: { http: 80, https: 443 },
    notAUrl: `not a URL; expected ${USAGE}`,
    unsupportedScheme: (given) => `unsupported scheme ${given}:// for an MJPEG camera (http:// or https://)`,
    fragment: "a '#' is never sent to the camera",
    noColonInUser: true,
  });
  const { user, host, port, portText, tail } = parts;
  const scheme = parts.scheme as 'http' | 'https';
  let password = parts.password;
  if (options.password !== undefined) {
    requireSecretReference(options.password);
    checkSeparatePassword(parts, flag, shown, `${scheme}://USER@host/path`);
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
