// S3 credentials: `--s3-credentials env:NAME|file:PATH`, or the standard AWS environment variables and ~/.aws/credentials.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveSecret } from '../../common/secret.js';

/**
 * Where an S3 destination's keys come from. Read again on every connection, so a corrected
 * credentials file takes effect at the next retry without a restart.
 *
 * - `secret`: `--s3-credentials env:NAME` or `file:PATH`, holding `ACCESS_KEY_ID:SECRET_ACCESS_KEY`
 *   (one line; a file's first line).
 * - `standard`: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`) when set,
 *   else the profile `AWS_PROFILE` (default `default`) of `AWS_SHARED_CREDENTIALS_FILE`
 *   (default `~/.aws/credentials`).
 */
export type S3CredentialSource = { kind: 'secret'; ref: string } | { kind: 'standard' };

/** Static keys for one connection. Never logged. */
export interface S3Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Thrown when no usable keys are found; the message names where it looked, never a key. */
export class S3CredentialsError extends Error {
  readonly code = 'S3_NO_CREDENTIALS';
  constructor(message: string) {
    super(message);
    this.name = 'S3CredentialsError';
  }
}

/** The environment and home folder credentials are looked up in (replaceable in tests). */
export interface CredentialPlaces {
  env?: NodeJS.ProcessEnv;
  home?: string;
}

/** Reads the keys of `source` now. Throws {@link S3CredentialsError}. */
export function loadS3Keys(source: S3CredentialSource, places: CredentialPlaces = {}): S3Keys {
  const env = places.env ?? process.env;
  if (source.kind === 'secret') return keysFromSecret(source.ref);
  const id = env.AWS_ACCESS_KEY_ID ?? '';
  const secret = env.AWS_SECRET_ACCESS_KEY ?? '';
  if (id !== '' || secret !== '') {
    if (id === '') throw new S3CredentialsError('AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not');
    if (secret === '') throw new S3CredentialsError('AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not');
    const token = env.AWS_SESSION_TOKEN ?? '';
    return { accessKeyId: id, secretAccessKey: secret, ...(token !== '' ? { sessionToken: token } : {}) };
  }
  const file = env.AWS_SHARED_CREDENTIALS_FILE || path.join(places.home ?? os.homedir(), '.aws', 'credentials');
  const profile = env.AWS_PROFILE || 'default';
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new S3CredentialsError(
        `no S3 credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set and ${file} does not exist ` +
          '(or give --s3-credentials env:NAME or file:PATH holding ACCESS_KEY_ID:SECRET_ACCESS_KEY)',
      );
    }
    throw new S3CredentialsError(`cannot read ${file}: ${code ?? String(err)}`);
  }
  const section = parseIni(text).get(profile);
  if (!section) throw new S3CredentialsError(`no profile [${profile}] in ${file}${env.AWS_PROFILE ? ' (AWS_PROFILE)' : ''}`);
  const fileId = section.get('aws_access_key_id') ?? '';
  const fileSecret = section.get('aws_secret_access_key') ?? '';
  if (fileId === '' || fileSecret === '') {
    throw new S3CredentialsError(`profile [${profile}] in ${file} has no aws_access_key_id and aws_secret_access_key`);
  }
  const fileToken = section.get('aws_session_token') ?? '';
  return { accessKeyId: fileId, secretAccessKey: fileSecret, ...(fileToken !== '' ? { sessionToken: fileToken } : {}) };
}

// `ACCESS_KEY_ID:SECRET_ACCESS_KEY`: access key ids of every S3 service are letters and digits, so
// the first colon splits them; the secret may hold anything else ("/" and "+" in AWS's).
function keysFromSecret(ref: string): S3Keys {
  if (!ref.startsWith('env:') && !ref.startsWith('file:')) {
    throw new S3CredentialsError('give env:NAME or file:PATH, not the keys themselves (they would show in ps)');
  }
  let value: string;
  try {
    value = resolveSecret(ref, '--s3-credentials');
  } catch (err) {
    throw new S3CredentialsError((err as Error).message.replace(/^--s3-credentials: /, ''));
  }
  const colon = value.indexOf(':');
  const accessKeyId = colon === -1 ? '' : value.slice(0, colon).trim();
  const secretAccessKey = colon === -1 ? '' : value.slice(colon + 1).trim();
  if (accessKeyId === '' || secretAccessKey === '') {
    throw new S3CredentialsError(`${ref.startsWith('env:') ? 'the variable' : 'the first line of'} ${ref.replace(/^(env|file):/, '')} is not ACCESS_KEY_ID:SECRET_ACCESS_KEY`);
  }
  return { accessKeyId, secretAccessKey };
}

/** The sections of an AWS-style ini file: `[name]` then `key = value` lines; `#` and `;` start comments. */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([^\]]*?)\s*\]$/.exec(line);
    if (header) {
      // ~/.aws/config writes "[profile name]"; the credentials file plain "[name]".
      const name = header[1]!.replace(/^profile\s+/, '');
      current = sections.get(name) ?? new Map<string, string>();
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq === -1 || !current) continue;
    current.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return sections;
}
