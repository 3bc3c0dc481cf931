// postproc's command line: the original's flags, names, defaults and messages, plus the new ones.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Help, Option } from 'commander';
import { exitOverride, UsageError } from '../common/cli.js';
import { VERSION } from '../common/paths.js';
import { resolveSecret } from '../common/secret.js';
import type { HealthSettings } from './alerts/health.js';
import { maskUrl } from './alerts/webhook.js';
import { CONVERTER_NAMES, type ConverterName } from './convert/index.js';
import { describeDestination, destinationKey, type DestinationSpec } from './upload/destination.js';
import { loadS3Keys, type S3CredentialSource } from './upload/s3-credentials.js';
import { DEFAULT_S3_REGION, parseS3Endpoint, parseS3Target, regionError } from './upload/s3-target.js';

/** `--converter`: auto = MP4Box when on PATH (as the original), otherwise the built-in muxer. */
export type ConverterChoice = 'auto' | ConverterName;
export const CONVERTER_CHOICES: readonly ConverterChoice[] = ['auto', ...CONVERTER_NAMES];

export const DEFAULT_TELEGRAM_API_ROOT = 'https://api.telegram.org';

/** One `--notify-telegram bot_token chat_id`; the token is already resolved (env:/file:) and must never be logged. */
export interface TelegramDestination {
  token: string;
  chatId: string;
}

/** Everything postproc was asked to do, validated. */
export interface PostprocOptions {
  socketName: string;
  mp4Dir: string;
  /** `--convert mp4_dir fps`: overrides the fps each event carries. */
  fps?: number;
  /**
   * `--accept-dir DIR` (repeatable): real paths, distinct, in the order given. Only recordings
   * directly in one of them are converted. Absent: any folder, as before.
   */
  acceptDirs?: string[];
  converter: ConverterChoice;
  stateDir: string;
  /** True when --state-dir was not given: the default `<mp4_dir>/.postproc` is created as needed. */
  stateDirIsDefault: boolean;
  uploadAfterConvert?: number;
  /** Sorted, distinct, 0..59. */
  uploadMinutes?: number[];
  destinations: DestinationSpec[];
  uploadQueueSize: number;
  telegram: TelegramDestination[];
  notifyQueueSize: number;
  telegramApiRoot: string;
  /** `--notify-webhook URL` (repeatable), resolved (env:/file:); secret: log only maskUrl() of it. */
  webhooks: string[];
  /** The health alerts' thresholds (alerts/health.ts); 0 turns one off. */
  alerts: HealthSettings;
  log?: string;
}

/** --alert-pancake-silent's default, in minutes. */
export const DEFAULT_ALERT_PANCAKE_SILENT_MINUTES = 5;
/** --alert-disk-free's default. */
export const DEFAULT_ALERT_DISK_FREE = '1G';
/** --alert-upload-late's default, in hours. */
export const DEFAULT_ALERT_UPLOAD_LATE_HOURS = 2;

// How many values each option takes (argparse's nargs). The original's multi-value options
// (`--upload-scp user@host port remote_dir`) are not something commander can express per
// occurrence, so argv is grouped here first, exactly as argparse did: an option takes its values
// and whatever is left over is the positional socket_name, wherever it stands.
const ARITY: Record<string, { min: number; max: number; names: string }> = {
  '--convert': { min: 1, max: 2, names: 'mp4_dir [fps]' },
  '--converter': { min: 1, max: 1, names: 'auto|mp4box|builtin|ffmpeg' },
  '--accept-dir': { min: 1, max: 1, names: 'DIR' },
  '--upload-after-convert': { min: 1, max: 1, names: 'N' },
  '--upload-minutes': { min: 1, max: Infinity, names: '{0..59} [{0..59} ...]' },
  '--upload-scp': { min: 3, max: 3, names: 'user@host port remote_dir' },
  '--upload-ftp': { min: 5, max: 5, names: 'host port user password remote_dir' },
  '--upload-ftps': { min: 5, max: 5, names: 'host port user password remote_dir' },
  '--ftps-fingerprint': { min: 2, max: 2, names: 'host sha256' },
  '--upload-s3': { min: 1, max: 1, names: 'BUCKET[/PREFIX]' },
  '--s3-endpoint': { min: 1, max: 1, names: 'URL' },
  '--s3-region': { min: 1, max: 1, names: 'REGION' },
  '--s3-credentials': { min: 1, max: 1, names: 'env:NAME|file:PATH' },
  '--upload-queue-size': { min: 1, max: 1, names: '8' },
  '--notify-telegram': { min: 2, max: 2, names: 'bot_token chat_id' },
  '--notify-queue-size': { min: 1, max: 1, names: '8' },
  '--telegram-api-root': { min: 1, max: 1, names: 'URL' },
  '--notify-webhook': { min: 1, max: 1, names: 'URL' },
  '--alert-no-recording': { min: 1, max: 1, names: 'MINUTES' },
  '--alert-pancake-silent': { min: 1, max: 1, names: 'MINUTES' },
  '--alert-disk-free': { min: 1, max: 1, names: 'SIZE' },
  '--alert-upload-late': { min: 1, max: 1, names: 'HOURS' },
  '--state-dir': { min: 1, max: 1, names: 'dir' },
  '--log': { min: 1, max: 1, names: 'path' },
};

/** argparse's idea of an option: starts with "-" and is not a negative number. */
function looksLikeOption(token: string): boolean {
  return token.length > 1 && token.startsWith('-') && !/^-\d+$|^-\d*\.\d+$/.test(token);
}

function looksLikeNumber(token: string): boolean {
  return /^[+-]?(\d+\.?\d*|\.\d+)$/.test(token);
}

/**
 * Groups argv as argparse would: each known option with its values (as one JSON token, so
 * commander sees a single-value option per occurrence), then `--` and the positionals.
 * Flags commander knows itself (-h, --version) and unknown options pass through for it to handle.
 */
export function groupArgv(argv: readonly string[]): string[] {
  const grouped: string[] = [];
  const positionals: string[] = [];
  let convertValues: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!looksLikeOption(token)) {
      positionals.push(token);
      continue;
    }
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const name = eq === -1 ? token : token.slice(0, eq);
    const arity = ARITY[name];
    if (!arity) {
      grouped.push(token);
      continue;
    }
    const values = eq === -1 ? [] : [token.slice(eq + 1)];
    while (values.length < arity.max && i + 1 < argv.length && argv[i + 1] !== '--' && !looksLikeOption(argv[i + 1]!)) {
      values.push(argv[++i]!);
    }
    if (values.length < arity.min) {
      const expected = arity.min === arity.max ? `${arity.min} argument${arity.min === 1 ? '' : 's'}`
        : arity.max === Infinity ? 'at least one argument' : `${arity.min} or ${arity.max} arguments`;
      throw new UsageError(`${name}: expected ${expected}: ${arity.names}`, 2);
    }
    if (name === '--convert') convertValues = values;
    grouped.push(name, JSON.stringify(values));
  }
  // fps became optional, so `postproc --convert mp4 ppp` is ambiguous; a socket name is required
  // and an fps is a number, so a non-number there with no other positional is the socket name.
  if (positionals.length === 0 && convertValues?.length === 2 && !looksLikeNumber(convertValues[1]!)) {
    const socketName = convertValues[1]!;
    const at = grouped.lastIndexOf('--convert');
    grouped[at + 1] = JSON.stringify([convertValues[0]]);
    positionals.push(socketName);
  }
  return [...grouped, '--', ...positionals];
}

const collect = (value: string, previous: string[][] | undefined): string[][] => [...(previous ?? []), JSON.parse(value) as string[]];
const single = (value: string): string[] => JSON.parse(value) as string[];

/** The commander program: flags, help texts (the original's where it had them) and defaults. */
export function buildCommand(): Command {
  const option = (name: string, description: string, repeatable = false): Option => {
    const o = new Option(`${name} <values>`, description);
    return repeatable ? o.argParser(collect) : o.argParser(single);
  };
  const program = exitOverride(new Command('postproc'))
    .description('Post-processor for pancake: convert h264 to mp4, upload over SCP/FTP, notify via Telegram')
    .version(VERSION)
    .helpOption('-h, --help', 'show this help message and exit')
    .argument('<socket_name>', 'address of unix domain socket, in abstract namespace')
    .addOption(option('--convert', 'convert h264 files into mp4_dir, at framerate fps (default: the fps pancake sends with each file)'))
    .addOption(option('--converter', 'h264 to mp4 converter; auto is MP4Box when installed, as the original, otherwise builtin (default: auto)'))
    .addOption(option('--accept-dir', 'convert only .h264 files whose real path is directly in DIR (not in a subfolder): a folder pancake records into, ' +
      'its --record-continuous / --record-detection (repeatable; default: any folder)', true))
    .addOption(option('--upload-after-convert', 'trigger upload after N conversions'))
    .addOption(option('--upload-minutes', 'trigger upload at minutes'))
    .addOption(option('--upload-scp', 'better set up SSH key-based authentication; uploads over SFTP, the host key must be in ~/.ssh/known_hosts (repeatable)', true))
    .addOption(option('--upload-ftp', 'upload over FTP; password may be env:NAME or file:PATH (repeatable)', true))
    .addOption(option('--upload-ftps', 'like --upload-ftp, over explicit FTPS (AUTH TLS); the certificate is verified against the system CAs (repeatable)', true))
    .addOption(option('--ftps-fingerprint', 'accept the one certificate with this SHA-256 fingerprint from an --upload-ftps host, e.g. a self-signed one (repeatable)', true))
    .addOption(option('--upload-s3', 'upload to an S3-compatible bucket (AWS, MinIO, Garage, R2, B2, Wasabi) as PREFIX/YYYY/MM/DD/name.mp4 (repeatable)', true))
    .addOption(option('--s3-endpoint', 'S3 service of every --upload-s3, e.g. https://<account>.r2.cloudflarestorage.com or http://nas:9000 (default: AWS)'))
    .addOption(option('--s3-region', `region of the --upload-s3 buckets; R2 takes auto (default: ${DEFAULT_S3_REGION})`))
    .addOption(new Option('--s3-path-style', 'address buckets as URL/BUCKET instead of BUCKET.host (MinIO and Garage on a LAN)'))
    .addOption(option('--s3-credentials', 'S3 keys as ACCESS_KEY_ID:SECRET_ACCESS_KEY in an environment variable or the first line of a file ' +
      '(default: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, else ~/.aws/credentials, profile AWS_PROFILE or default)'))
    .addOption(option('--upload-queue-size', 'pending uploads kept in memory; more wait on disk, none are dropped (default: 8)'))
    .addOption(option('--notify-telegram', 'use Telegram Bot API to notify chat_id of detection status; bot_token may be env:NAME or file:PATH (repeatable)', true))
    .addOption(option('--notify-queue-size', 'notifications waiting to be sent; the oldest is dropped when full (default: 8)'))
    .addOption(option('--telegram-api-root', `Telegram Bot API server, e.g. a self-hosted one (default: ${DEFAULT_TELEGRAM_API_ROOT})`))
    .addOption(option('--notify-webhook', 'also send every alert as a JSON POST {camera, kind, state, text, time} to URL (ntfy, Home Assistant, ' +
      'an SMS gateway, a chat hook); may be env:NAME or file:PATH (repeatable)', true))
    .addOption(option('--alert-no-recording', 'alert when no recording has finished for MINUTES (default: the recordings\' length plus a margin, ' +
      'continuous recordings only; 0: off)'))
    .addOption(option('--alert-pancake-silent', `alert when nothing is heard from pancake for MINUTES (default: ${DEFAULT_ALERT_PANCAKE_SILENT_MINUTES}; 0: off)`))
    .addOption(option('--alert-disk-free', `alert when the free space for mp4_dir or the recordings falls below SIZE, e.g. 500M, 2G (default: ${DEFAULT_ALERT_DISK_FREE}; 0: off)`))
    .addOption(option('--alert-upload-late', `alert when a destination has had a file pending for more than HOURS (default: ${DEFAULT_ALERT_UPLOAD_LATE_HOURS}; 0: off)`))
    .addOption(option('--state-dir', 'where work in progress and pending uploads are kept (default: mp4_dir/.postproc)'))
    .addOption(option('--log', 'log file, split at midnight and kept 33 days (default: stdout)'));
  // Show each option with its value names as the original's --help did ("--upload-scp user@host port remote_dir").
  const helper = new Help();
  program.configureHelp({
    optionTerm: (o) => (o.long && ARITY[o.long] ? `${o.long} ${ARITY[o.long]!.names}` : helper.optionTerm(o)),
    argumentTerm: (a) => a.name(),
  });
  return program;
}

function checkDirectory(flag: string, dir: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new UsageError(`${flag}: directory not exist: ${dir}`);
  }
  if (!stat.isDirectory()) throw new UsageError(`${flag}: not a directory: ${dir}`);
}

/** argparse's `type=int` check, with its wording. */
function toInt(flag: string, value: string): number {
  if (!/^[+-]?\d+$/.test(value.trim())) throw new UsageError(`${flag}: invalid int value: '${value}'`);
  return Number(value);
}

/** The original's own check of ports and fps ("Not an integer"). */
function notAnInteger(flag: string, value: string): number {
  if (!/^[+-]?\d+$/.test(value.trim())) throw new UsageError(`${flag}: Not an integer: ${value}`);
  return Number(value);
}

function toPort(flag: string, value: string): number {
  const port = notAnInteger(flag, value);
  if (port < 1 || port > 65535) throw new UsageError(`${flag}: port must be in 1..65535: ${value}`);
  return port;
}

function atLeastOne(flag: string, value: string): number {
  const n = toInt(flag, value);
  if (n < 1) throw new UsageError(`${flag}: must be at least 1: ${value}`);
  return n;
}

/** A number ≥ 0 of `unit` (fractions allowed), as milliseconds. */
function toDurationMs(flag: string, value: string, unitMs: number, unit: string): number {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(value.trim())) throw new UsageError(`${flag}: not a number of ${unit} (0 or more): ${value}`);
  return Math.round(Number(value) * unitMs);
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "1G", "500M", "1.5T", "2048": bytes, binary units, an optional "B" or "iB". Undefined when it is none. Pure. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d*)?|\.\d+)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!);
}

/** A --notify-webhook value: read (env:/file:) and checked; the message never repeats a URL's secret part. */
function webhookUrl(value: string): string {
  const flag = '--notify-webhook';
  const url = resolveSecret(value, flag).trim();
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  const from = value.startsWith('env:') || value.startsWith('file:') ? ` (from ${value})` : '';
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) throw new UsageError(`${flag}: not an http(s) URL${from}: ${maskUrl(url)}`);
  return url;
}

function nonEmpty(flag: string, what: string, value: string): string {
  if (value.trim() === '') throw new UsageError(`${flag}: ${what} is empty`);
  return value;
}

/**
 * The `--upload-s3` destinations, with the `--s3-*` settings they share, checked before anything
 * starts: bucket names, prefixes, the endpoint, the region and that the keys can be read (the keys
 * themselves are read again at each connection, so they are not kept here).
 */
function s3Destinations(o: Record<string, unknown>): DestinationSpec[] {
  const targets = ((o.uploadS3 ?? []) as [string][]).map(([t]) => t);
  const endpointText = (o.s3Endpoint as string[] | undefined)?.[0];
  const regionText = (o.s3Region as string[] | undefined)?.[0];
  const credentialsText = (o.s3Credentials as string[] | undefined)?.[0];
  if (targets.length === 0) {
    const stray = [['--s3-endpoint', endpointText], ['--s3-region', regionText], ['--s3-credentials', credentialsText], ['--s3-path-style', o.s3PathStyle]]
      .find(([, v]) => v !== undefined);
    if (stray) throw new UsageError(`${String(stray[0])}: no --upload-s3 destination`);
    return [];
  }
  let endpoint: string | undefined;
  if (endpointText !== undefined) {
    const parsed = parseS3Endpoint(endpointText);
    if ('error' in parsed) throw new UsageError(`--s3-endpoint: ${parsed.error}`);
    endpoint = parsed.endpoint;
  }
  const region = regionText ?? DEFAULT_S3_REGION;
  const badRegion = regionError(region);
  if (badRegion !== undefined) throw new UsageError(`--s3-region: ${badRegion}`);
  const credentials: S3CredentialSource = credentialsText === undefined ? { kind: 'standard' } : { kind: 'secret', ref: credentialsText };
  const specs = targets.map((text): DestinationSpec => {
    const target = parseS3Target(text);
    if ('error' in target) throw new UsageError(`--upload-s3: ${target.error}`);
    return {
      kind: 's3', bucket: target.bucket, remoteDir: target.prefix, ...(endpoint !== undefined ? { endpoint } : {}),
      region, pathStyle: o.s3PathStyle === true, credentials,
    };
  });
  try {
    loadS3Keys(credentials);
  } catch (err) {
    throw new UsageError(`${credentialsText === undefined ? '--upload-s3' : '--s3-credentials'}: ${(err as Error).message}`);
  }
  return specs;
}

/**
 * Parses and validates postproc's arguments (without node and the script). Throws UsageError:
 * exit 2 for a malformed command line (as argparse), exit 3 for a value the original refused
 * (its messages), a missing directory, or destinations without triggers and the reverse.
 * Secrets given as env:NAME / file:PATH are resolved here.
 */
export function parsePostprocArgs(argv: readonly string[], program: Command = buildCommand()): PostprocOptions {
  program.parse(groupArgv(argv), { from: 'user' });
  const o = program.opts<Record<string, string[] | string[][] | undefined>>();
  const socketName = program.args[0]!;
  if (socketName === '') throw new UsageError('socket_name is empty', 2);

  const convert = o.convert as string[] | undefined;
  if (!convert) throw new UsageError('the following arguments are required: --convert', 2);
  const [mp4Dir, fpsText] = convert as [string, string | undefined];
  let fps: number | undefined;
  if (fpsText !== undefined) {
    fps = notAnInteger('--convert', fpsText);
    if (fps < 1) throw new UsageError(`--convert: fps must be at least 1: ${fpsText}`);
  }
  checkDirectory('--convert', mp4Dir);

  const converterText = (o.converter as string[] | undefined)?.[0] ?? 'auto';
  if (!(CONVERTER_CHOICES as readonly string[]).includes(converterText)) {
    throw new UsageError(`--converter: must be one of ${CONVERTER_CHOICES.join(', ')}: ${converterText}`);
  }

  let acceptDirs: string[] | undefined;
  for (const [dir] of (o.acceptDir ?? []) as [string][]) {
    checkDirectory('--accept-dir', dir);
    // Real paths: a recording is compared by its real path's folder.
    const real = fs.realpathSync(dir);
    acceptDirs ??= [];
    if (!acceptDirs.includes(real)) acceptDirs.push(real);
  }

  const uploadAfterConvert = o.uploadAfterConvert ? atLeastOne('--upload-after-convert', (o.uploadAfterConvert as string[])[0]!) : undefined;
  let uploadMinutes: number[] | undefined;
  if (o.uploadMinutes) {
    const minutes = (o.uploadMinutes as string[]).map((m) => toInt('--upload-minutes', m));
    if (!minutes.every((m) => m >= 0 && m <= 59)) throw new UsageError('--upload-minutes: Minute must be in 0..59');
    if (new Set(minutes).size !== minutes.length) throw new UsageError('--upload-minutes: Some minutes are repeated');
    uploadMinutes = minutes.sort((a, b) => a - b);
  }

  const destinations: DestinationSpec[] = [];
  for (const [userHost, port, remoteDir] of (o.uploadScp ?? []) as [string, string, string][]) {
    const flag = '--upload-scp';
    const at = userHost.lastIndexOf('@');
    // Without "user@", ssh and scp used the local user name; so do we.
    const user = at === -1 ? os.userInfo().username : userHost.slice(0, at);
    const host = userHost.slice(at + 1);
    nonEmpty(flag, 'user', user);
    nonEmpty(flag, 'host', host);
    destinations.push({ kind: 'scp', user, host, port: toPort(flag, port), remoteDir: nonEmpty(flag, 'remote_dir', remoteDir) });
  }
  const fingerprints = new Map<string, string>();
  for (const [host, fingerprint] of (o.ftpsFingerprint ?? []) as [string, string][]) {
    if (!/^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$/.test(fingerprint)) {
      throw new UsageError(`--ftps-fingerprint: not a SHA-256 fingerprint (64 hex digits, colons allowed): ${fingerprint}`);
    }
    fingerprints.set(host.toLowerCase(), fingerprint);
  }
  for (const [flag, secure] of [['--upload-ftp', false], ['--upload-ftps', true]] as const) {
    const groups = (secure ? o.uploadFtps : o.uploadFtp) as [string, string, string, string, string][] | undefined;
    for (const [host, port, user, password, remoteDir] of groups ?? []) {
      const spec: DestinationSpec = {
        kind: 'ftp', host: nonEmpty(flag, 'host', host), port: toPort(flag, port), user: nonEmpty(flag, 'user', user),
        password: resolveSecret(password, flag), remoteDir: nonEmpty(flag, 'remote_dir', remoteDir), secure,
      };
      const fingerprint = fingerprints.get(host.toLowerCase());
      if (secure && fingerprint) spec.tlsFingerprint = fingerprint;
      destinations.push(spec);
    }
  }
  destinations.push(...s3Destinations(o));
  const keys = new Set<string>();
  for (const d of destinations) {
    const key = destinationKey(d);
    if (keys.has(key)) throw new UsageError(`upload destination given twice: ${describeDestination(d)}`);
    keys.add(key);
  }
  for (const host of fingerprints.keys()) {
    if (!destinations.some((d) => d.kind === 'ftp' && d.secure && d.host.toLowerCase() === host)) {
      throw new UsageError(`--ftps-fingerprint: no --upload-ftps destination has host ${host}`);
    }
  }
  const uploadQueueSize = o.uploadQueueSize ? atLeastOne('--upload-queue-size', (o.uploadQueueSize as string[])[0]!) : 8;

  const telegram = ((o.notifyTelegram ?? []) as [string, string][]).map(([token, chatId]) => ({
    token: nonEmpty('--notify-telegram', 'bot_token', resolveSecret(token, '--notify-telegram')),
    chatId: nonEmpty('--notify-telegram', 'chat_id', chatId),
  }));
  const notifyQueueSize = o.notifyQueueSize ? atLeastOne('--notify-queue-size', (o.notifyQueueSize as string[])[0]!) : 8;
  const telegramApiRoot = (o.telegramApiRoot as string[] | undefined)?.[0] ?? DEFAULT_TELEGRAM_API_ROOT;
  let rootUrl: URL | undefined;
  try {
    rootUrl = new URL(telegramApiRoot);
  } catch {
    rootUrl = undefined;
  }
  if (!rootUrl || (rootUrl.protocol !== 'http:' && rootUrl.protocol !== 'https:')) {
    throw new UsageError(`--telegram-api-root: not an http(s) URL: ${telegramApiRoot}`);
  }

  const webhooks = ((o.notifyWebhook ?? []) as [string][]).map(([value]) => webhookUrl(value));
  const first = (v: unknown): string | undefined => (v as string[] | undefined)?.[0];
  const noRecording = first(o.alertNoRecording);
  const diskFreeText = first(o.alertDiskFree) ?? DEFAULT_ALERT_DISK_FREE;
  const diskFreeBytes = parseSize(diskFreeText);
  if (diskFreeBytes === undefined) throw new UsageError(`--alert-disk-free: not a size (a number with K, M, G or T, e.g. 500M): ${diskFreeText}`);
  const alerts: HealthSettings = {
    pancakeSilentMs: toDurationMs('--alert-pancake-silent', first(o.alertPancakeSilent) ?? String(DEFAULT_ALERT_PANCAKE_SILENT_MINUTES), 60_000, 'minutes'),
    diskFreeBytes,
    uploadLateMs: toDurationMs('--alert-upload-late', first(o.alertUploadLate) ?? String(DEFAULT_ALERT_UPLOAD_LATE_HOURS), 3600_000, 'hours'),
  };
  if (noRecording !== undefined) alerts.noRecordingMs = toDurationMs('--alert-no-recording', noRecording, 60_000, 'minutes');

  const givenStateDir = (o.stateDir as string[] | undefined)?.[0];
  if (givenStateDir !== undefined) checkDirectory('--state-dir', givenStateDir);
  const log = (o.log as string[] | undefined)?.[0];
  if (log !== undefined) checkDirectory('--log', path.dirname(log));

  // The original's own checks, its messages and its exit code.
  const hasDestinations = destinations.length > 0;
  const hasTriggers = uploadAfterConvert !== undefined || uploadMinutes !== undefined;
  if (hasDestinations && !hasTriggers) throw new UsageError('Please set upload trigger: --upload-after-convert or --upload-minutes');
  if (hasTriggers && !hasDestinations) throw new UsageError('Please set upload destination: --upload-scp or --upload-ftp');

  const options: PostprocOptions = {
    socketName, mp4Dir: path.resolve(mp4Dir), converter: converterText as ConverterChoice,
    stateDir: path.resolve(givenStateDir ?? path.join(mp4Dir, '.postproc')), stateDirIsDefault: givenStateDir === undefined,
    destinations, uploadQueueSize, telegram, notifyQueueSize, telegramApiRoot, webhooks, alerts,
  };
  if (fps !== undefined) options.fps = fps;
  if (acceptDirs !== undefined) options.acceptDirs = acceptDirs;
  if (uploadAfterConvert !== undefined) options.uploadAfterConvert = uploadAfterConvert;
  if (uploadMinutes !== undefined) options.uploadMinutes = uploadMinutes;
  if (log !== undefined) options.log = path.resolve(log);
  return options;
}
