// What `--upload-s3 BUCKET[/PREFIX]`, `--s3-endpoint` and `--s3-region` may say (pure checks, one message each).

/** AWS's default region, which every S3-compatible service also accepts (or ignores). */
export const DEFAULT_S3_REGION = 'us-east-1';

/**
 * Why `name` is not a bucket name, or undefined when it is one. The rules of AWS's general purpose
 * buckets, which R2, B2, Wasabi, MinIO and Garage keep too: 3–63 lowercase letters, digits, dots
 * and hyphens, a letter or digit at each end, no `..`, not an IP address.
 */
export function bucketNameError(name: string): string | undefined {
  const rules = '3–63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit';
  if (name.length < 3 || name.length > 63 || !/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return `not a valid bucket name: ${JSON.stringify(name)} (${rules})`;
  if (name.includes('..') || name.includes('.-') || name.includes('-.')) return `not a valid bucket name: ${JSON.stringify(name)} (no ".." and no dot next to a hyphen)`;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return `not a valid bucket name: ${JSON.stringify(name)} (an IP address)`;
  return undefined;
}

/**
 * Why `prefix` is not a key prefix, or undefined when it is one: folders separated by single `/`,
 * none of them `.` or `..` (which some services and every file-backed mirror of a bucket resolve,
 * climbing out of the prefix), no control characters, not starting with `/`. A trailing `/` is
 * allowed (and dropped by {@link parseS3Target}).
 */
export function prefixError(prefix: string): string | undefined {
  if (prefix.startsWith('/')) return `the prefix must not start with "/": ${JSON.stringify(prefix)}`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(prefix)) return `the prefix has a control character: ${JSON.stringify(prefix)}`;
  const parts = prefix.replace(/\/$/, '').split('/');
  if (parts.some((p) => p === '')) return `the prefix has an empty folder ("//"): ${JSON.stringify(prefix)}`;
  if (parts.some((p) => p === '.' || p === '..')) return `the prefix must not contain "." or ".." folders: ${JSON.stringify(prefix)}`;
  if (prefix.length > 512) return 'the prefix is longer than 512 characters';
  return undefined;
}

/** `BUCKET[/PREFIX]` split and checked: `{ bucket, prefix }` with the prefix's trailing `/` dropped, or `{ error }`. */
export function parseS3Target(text: string): { bucket: string; prefix: string } | { error: string } {
  const slash = text.indexOf('/');
  const bucket = slash === -1 ? text : text.slice(0, slash);
  const prefix = slash === -1 ? '' : text.slice(slash + 1);
  const bad = bucketNameError(bucket) ?? (slash === -1 ? undefined : prefix === '' ? undefined : prefixError(prefix));
  if (bad !== undefined) return { error: bad };
  return { bucket, prefix: prefix.replace(/\/$/, '') };
}

/**
 * `--s3-endpoint`: the URL normalised (`https://host[:port][/path]`, no trailing `/`), or `{ error }`.
 * Credentials, a query or a fragment in it are refused: the endpoint is shown in logs.
 */
export function parseS3Endpoint(text: string): { endpoint: string } | { error: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { error: `not a URL: ${JSON.stringify(text)} (e.g. https://s3.eu-central-003.backblazeb2.com or http://192.168.1.20:9000)` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: `not an http(s) URL: ${JSON.stringify(text)}` };
  if (url.hostname === '') return { error: `no host in ${JSON.stringify(text)}` };
  // Said without the URL: what is in it may be a password.
  if (url.username !== '' || url.password !== '') return { error: 'a user or password in the URL is not used; give keys with --s3-credentials' };
  if (url.search !== '' || url.hash !== '') return { error: `a query or fragment is not allowed: ${JSON.stringify(text)}` };
  return { endpoint: `${url.origin}${url.pathname.replace(/\/+$/, '')}` };
}

/** Why `region` is not a region name (AWS's `eu-west-1`, R2's `auto`, Garage's `garage`), or undefined. */
export function regionError(region: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(region)) return `not a region name: ${JSON.stringify(region)} (e.g. us-east-1, eu-central-003, auto)`;
  return undefined;
}
