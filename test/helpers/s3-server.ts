// Test helper: a real S3 HTTP server on 127.0.0.1 (s3rver, files on disk) behind a strict AWS Signature V4 check.
//
// s3rver 3.7 checks only that a SigV4 request's access key id exists, not its signature (its
// authentication middleware says "Signature version 4 calculation is unimplemented"), so a wrong
// secret would pass. The front here recomputes every request's signature from the canonical
// request, as S3 does, and answers InvalidAccessKeyId / SignatureDoesNotMatch /
// AuthorizationHeaderMalformed (wrong region) with S3's XML before s3rver sees the request.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import S3rver from 's3rver';
import { makeTmp, removeTmp } from './env.js';

const require = createRequire(import.meta.url);
// s3rver's own registry of accounts; its one account knows only the key "S3RVER" until told.
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account') as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };

export interface S3ServerOptions {
  buckets?: string[];
  accessKeyId?: string;
  secretAccessKey?: string;
  /** The region requests must be signed for. */
  region?: string;
}

/** One request as the server saw it. */
export interface S3Request {
  method: string;
  /** The raw path (URI-encoded as sent). */
  path: string;
  /** The raw query string without "?". */
  query: string;
  /** The HTTP status answered (0 while in progress or when the connection was cut). */
  status: number;
}

/** A running test S3 service. */
export interface S3TestServer {
  /** `http://127.0.0.1:PORT`; stays the same across {@link down} and {@link up}. */
  endpoint: string;
  port: number;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Every request, in arrival order. */
  requests: S3Request[];
  /** Emits `request` (S3Request) as each request arrives, before it is answered. */
  events: EventEmitter;
  /** The file holding an object's bytes, or undefined when there is no such object. */
  objectFile(bucket: string, key: string): string | undefined;
  /** Every object key in a bucket, sorted. */
  keys(bucket: string): string[];
  /** What s3rver stored as the object's headers: content-type and x-amz-meta-*. */
  objectHeaders(bucket: string, key: string): Record<string, string>;
  /** Stops answering: the port is closed and open connections are cut. Objects are kept. */
  down(): Promise<void>;
  /** Answers again on the same port. */
  up(): Promise<void>;
  /** Stops and removes everything. */
  stop(): Promise<void>;
}

const OBJECT_SUFFIX = '._S3rver_object';

/** Starts s3rver with `buckets` on 127.0.0.1, port 0, accepting only requests signed with the given keys. */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3TestServer> {
  const buckets = options.buckets ?? ['bak'];
  const accessKeyId = options.accessKeyId ?? 'PANCAKETESTKEY01';
  const secretAccessKey = options.secretAccessKey ?? 'pancake/test+secret/0123456789abcdefghij';
  const region = options.region ?? 'us-east-1';
  const root = makeTmp('pancake-s3rver-');
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  const app = new S3rver({
    silent: true,
    directory: root,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
    vhostBuckets: false,
  });
  await app.configureBuckets();
  const handle = app.callback();
  const requests: S3Request[] = [];
  const events = new EventEmitter();

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const entry: S3Request = { method: req.method ?? '', path: q === -1 ? url : url.slice(0, q), query: q === -1 ? '' : url.slice(q + 1), status: 0 };
    requests.push(entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
    });
    events.emit('request', entry);
    const refusal = checkSignature(req, entry, { accessKeyId, secretAccessKey, region });
    if (refusal) {
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${refusal.message}</Message><RequestId>pancake-test</RequestId></Error>`;
      res.writeHead(refusal.status, { 'content-type': 'application/xml' });
      res.end(req.method === 'HEAD' ? undefined : body);
      req.resume();
      return;
    }
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let listening = true;

  const objectFile = (bucket: string, key: string): string | undefined => {
    const file = path.join(root, bucket, ...key.split('/').slice(0, -1), `${key.split('/').pop()!}${OBJECT_SUFFIX}`);
    return fs.existsSync(file) ? file : undefined;
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    region,
    accessKeyId,
    secretAccessKey,
    requests,
    events,
    objectFile,
    keys(bucket) {
      const dir = path.join(root, bucket);
      return (fs.readdirSync(dir, { recursive: true }) as string[])
        .filter((f) => f.endsWith(OBJECT_SUFFIX))
        .map((f) => f.slice(0, -OBJECT_SUFFIX.length).split(path.sep).join('/'))
        .sort();
    },
    objectHeaders(bucket, key) {
      const file = objectFile(bucket, key);
      if (!file) throw new Error(`no object ${bucket}/${key}`);
      return JSON.parse(fs.readFileSync(file.slice(0, -OBJECT_SUFFIX.length) + '._S3rver_metadata.json', 'utf8')) as Record<string, string>;
    },
    async down() {
      if (!listening) return;
      listening = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
    async up() {
      if (listening) return;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      listening = true;
    },
    async stop() {
      if (listening) {
        listening = false;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
      }
      removeTmp(root);
    },
  };
}

interface Refusal {
  status: number;
  code: string;
  message: string;
}

// AWS Signature Version 4 for a request signed in the Authorization header:
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
function checkSignature(
  req: http.IncomingMessage,
  entry: S3Request,
  keys: { accessKeyId: string; secretAccessKey: string; region: string },
): Refusal | undefined {
  const denied = (message: string): Refusal => ({ status: 403, code: 'AccessDenied', message });
  const auth = req.headers.authorization;
  if (auth === undefined) return denied('Anonymous access is not allowed');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return { status: 400, code: 'AuthorizationHeaderMalformed', message: 'The authorization header is malformed' };
  const [, id, date, region, service, signedHeaders, signature] = m as unknown as [string, string, string, string, string, string, string];
  if (id !== keys.accessKeyId) return { status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
  if (region !== keys.region) {
    return { status: 400, code: 'AuthorizationHeaderMalformed', message: `The authorization header is malformed; the region '${region}' is wrong; expecting '${keys.region}'` };
  }
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const payloadHash = req.headers['x-amz-content-sha256'];
  if (!amzDate.startsWith(date) || typeof payloadHash !== 'string') return denied('x-amz-date and x-amz-content-sha256 are required');
  const names = signedHeaders.split(';');
  if (!names.includes('host')) return denied('the host header must be signed');
  const canonicalHeaders = names.map((n) => {
    const v = req.headers[n];
    const value = Array.isArray(v) ? v.join(',') : (v ?? '');
    return `${n}:${value.trim().replace(/\s+/g, ' ')}\n`;
  }).join('');
  const canonicalQuery = entry.query === ''
    ? ''
    : entry.query.split('&').map((pair) => {
        const eq = pair.indexOf('=');
        const k = decodeURIComponent(eq === -1 ? pair : pair.slice(0, eq));
        const v = eq === -1 ? '' : decodeURIComponent(pair.slice(eq + 1));
        return [rfc3986(k), rfc3986(v)] as const;
      })
        .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
        .map(([k, v]) => `${k}=${v}`)
        .join('&');
  const canonicalRequest = [req.method, entry.path, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${keys.secretAccessKey}`, date), region), service), 'aws4_request');
  const expected = hmac(signingKey, stringToSign);
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    return {
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    };
  }
  return undefined;
}

function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
