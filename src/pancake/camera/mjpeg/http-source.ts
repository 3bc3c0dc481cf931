// MJPEG cameras over HTTP: a multipart/x-mixed-replace stream read on one connection, or single JPEGs polled at a rate; JPEG frames out.
import http from 'node:http';
import https from 'node:https';
import type { Clock, Timer } from '../../../common/clock.js';
import type { Logger } from '../../../common/log.js';
import { VERSION } from '../../../common/paths.js';
import { maskUrl } from '../camera-url.js';
import { maskSecrets } from '../rtsp.js';
import type { SourceEnd } from '../source.js';
import { MAX_PART_BYTES, MjpegStreamError, MultipartParser, parseMjpegContentType, type MjpegContentType } from './multipart.js';
import type { HttpCameraUrl } from './url.js';

/**
 * A running camera that produces whole JPEG frames (where a {@link CameraSource} produces H.264
 * bytes). Single-use as well: the supervisor makes a new one for every (re)start.
 */
export interface JpegFrameSource {
  /** The masked camera URL. */
  readonly description: string;
  /** Starts producing; `onFrame` gets each JPEG and its arrival time (wall ms); `onEnd` is called once if the source ends by itself. */
  start(onFrame: (jpeg: Buffer, wallTimeMs: number) => void, onEnd: (end: SourceEnd) => void): void;
  /** Stops producing (closes the connection, cancels its timers); no callback comes after it. Idempotent. */
  close(): Promise<void>;
}

export interface MjpegHttpSourceOptions {
  /** From {@link parseHttpCameraUrl}; only its masked form is ever logged. */
  camera: HttpCameraUrl;
  clock: Clock;
  logger: Logger;
  /**
   * Snapshot polling: the URL serves one JPEG per request (mjpg-streamer's `?action=snapshot`),
   * fetched this many times a second, at most one request in flight. Absent: the URL is a stream.
   */
  pollFps?: number;
  /**
   * How long connecting and the response may take: until the first frame of a stream (later
   * stalls are the supervisor's), or the whole of each snapshot. Default {@link DEFAULT_TIMEOUT_MS}.
   */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

const IDLE = 0;
const RUNNING = 1;
const CLOSED = 2;

/**
 * One run of an MJPEG camera over HTTP(S). Basic authentication from the URL's user and password
 * (in the Authorization header only); no redirect is followed, since it could carry the password
 * to another host and cameras mostly redirect to a login page: the reason names the target instead.
 * Every end has a reason a person understands, and never the password.
 */
export class MjpegHttpSource implements JpegFrameSource {
  readonly description: string;
  private state = IDLE;
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;
  private request: http.ClientRequest | undefined;
  private timeout: Timer | undefined;
  private nextPoll: Timer | undefined;
  private frames = 0;
  private toldTruncated = false;
  private onFrame: (jpeg: Buffer, wallTimeMs: number) => void = () => {};
  private onEnd: (end: SourceEnd) => void = () => {};

  constructor(private readonly options: MjpegHttpSourceOptions) {
    this.description = options.camera.masked;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // One kept-alive socket: polled snapshots reuse it where the camera allows (mjpg-streamer closes each).
    this.agent = options.camera.scheme === 'https' ? new https.Agent({ keepAlive: true, maxSockets: 1 }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  start(onFrame: (jpeg: Buffer, wallTimeMs: number) => void, onEnd: (end: SourceEnd) => void): void {
    if (this.state !== IDLE) return;
    this.state = RUNNING;
    this.onFrame = onFrame;
    this.onEnd = onEnd;
    if (this.options.pollFps === undefined) this.stream();
    else this.poll(1000 / this.options.pollFps);
  }

  close(): Promise<void> {
    this.state = CLOSED;
    this.stop();
    return Promise.resolve();
  }

  /** Reads the multipart stream until it ends or fails. */
  private stream(): void {
    this.get('multipart/x-mixed-replace, image/jpeg', `sent no frame within ${this.timeoutMs / 1000} s (timed out)`, (res) => {
      const type = this.contentType(res, false);
      if (!type) return;
      if (type.kind === 'jpeg') {
        this.fail("the URL serves a single JPEG (a snapshot), not a stream: poll it (--camera-poll) or give the stream's URL (mjpg-streamer: /?action=stream)");
        return;
      }
      this.options.logger.info(`camera: ${this.description}: receiving ${res.headers['content-type']}`);
      const parser = new MultipartParser(type.boundary);
      res.on('data', (chunk: Buffer) => {
        if (this.state !== RUNNING) return;
        let parts;
        try {
          parts = parser.push(chunk);
        } catch (err) {
          if (!(err instanceof MjpegStreamError)) throw err;
          this.fail(err.message);
          return;
        }
        if (parser.truncatedParts > 0) this.tellTruncated();
        for (const part of parts) {
          if (this.state !== RUNNING) return;
          if (this.frames === 0) this.timeout?.cancel();
          this.frame(part.jpeg);
        }
      });
      const ended = (detail: string): void => {
        const where = parser.midPart ? 'in the middle of a frame' : this.frames === 0 ? 'before sending a frame' : `after ${this.frames} frames`;
        this.fail(`the camera closed the stream ${where}${detail}`);
      };
      res.on('error', (err: NodeJS.ErrnoException) => ended(` (${err.code ?? err.message})`));
      res.on('close', () => ended(''));
    });
  }

  /** Fetches one snapshot, then the next at the rate's next slot (at once when the fetch took longer). */
  private poll(intervalMs: number): void {
    const { clock } = this.options;
    const started = clock.monotonic();
    this.get('image/jpeg', `sent no whole snapshot within ${this.timeoutMs / 1000} s (timed out)`, (res) => {
      const type = this.contentType(res, true);
      if (!type) return;
      if (type.kind !== 'jpeg') {
        this.fail('the URL serves an MJPEG stream, not single JPEGs: read it as a stream (without --camera-poll)');
        return;
      }
      if (this.frames === 0) this.options.logger.info(`camera: ${this.description}: polling snapshots at ${this.options.pollFps} fps`);
      const length = Number(res.headers['content-length'] ?? NaN);
      if (length > MAX_PART_BYTES) return this.fail(snapshotTooLarge(`${length} bytes`));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (this.state !== RUNNING) return;
        const checkStart = size < 2;
        chunks.push(chunk);
        size += chunk.length;
        if (size > MAX_PART_BYTES) return this.fail(snapshotTooLarge(`more than ${MAX_PART_BYTES / 1024 / 1024} MB`));
        // Checked once the first two bytes are in, so a web page is not read to its end.
        if (checkStart && size >= 2) {
          const head = chunks.length === 1 ? chunk : Buffer.concat(chunks);
          if (head[0] !== 0xff || head[1] !== 0xd8) this.fail(`the snapshot is not a JPEG: it starts with ${head.subarray(0, 4).toString('hex').replace(/(..)(?!$)/g, '$1 ')}, not ff d8`);
        }
      });
      res.on('error', (err: NodeJS.ErrnoException) => this.fail(`the camera cut a snapshot off (${err.code ?? err.message})`));
      res.on('end', () => {
        if (this.state !== RUNNING) return;
        this.timeout?.cancel();
        const jpeg = Buffer.concat(chunks, size);
        if (size >= 4 && jpeg[size - 2] === 0xff && jpeg[size - 1] === 0xd9) this.frame(jpeg);
        else if (size < 2) return this.fail('the snapshot is empty');
        else this.tellTruncated();
        if (this.state !== RUNNING) return;
        this.nextPoll = clock.setTimeout(() => this.poll(intervalMs), Math.max(0, started + intervalMs - clock.monotonic()));
      });
    });
  }

  /** Sends a GET; a response other than 200 ends the source with what it means, a 200 goes to `onOk`. */
  private get(accept: string, lateAnswer: string, onOk: (res: http.IncomingMessage) => void): void {
    const { camera, clock } = this.options;
    const where = `${camera.host}:${camera.port}`;
    const headers: http.OutgoingHttpHeaders = { Accept: accept, 'User-Agent': `pancake/${VERSION}` };
    if (camera.user !== undefined) headers.Authorization = `Basic ${Buffer.from(`${camera.user}:${camera.password}`).toString('base64')}`;
    const transport = camera.scheme === 'https' ? https : http;
    let answered = false;
    const req = transport.request({ host: camera.host.replace(/^\[(.*)\]$/, '$1'), port: camera.port, path: camera.path, headers, agent: this.agent });
    this.request = req;
    this.timeout = clock.setTimeout(() => this.fail(answered ? lateAnswer : `no answer from ${where} within ${this.timeoutMs / 1000} s (timed out)`), this.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => this.fail(describeRequestError(err, camera)));
    req.on('response', (res) => {
      answered = true;
      if (this.state !== RUNNING) return void res.destroy();
      if (res.statusCode !== 200) {
        res.resume();
        this.fail(describeStatus(res, camera));
        return;
      }
      onOk(res);
    });
    req.end();
  }

  /** The response's Content-Type read, or undefined after ending the source with why it is neither a stream nor a JPEG. */
  private contentType(res: http.IncomingMessage, polling: boolean): MjpegContentType | undefined {
    const header = res.headers['content-type'];
    try {
      return parseMjpegContentType(header);
    } catch (err) {
      if (!(err instanceof MjpegStreamError)) throw err;
      const why = polling ? `not a JPEG (Content-Type: ${header || 'none'})` : err.message;
      this.fail(`${why}: check the path in --camera (mjpg-streamer: /?action=${polling ? 'snapshot' : 'stream'})`);
      return undefined;
    }
  }

  private frame(jpeg: Buffer): void {
    this.frames++;
    this.onFrame(jpeg, this.options.clock.now());
  }

  /** Said once per run: a camera that sends broken frames does it often. */
  private tellTruncated(): void {
    if (this.toldTruncated) return;
    this.toldTruncated = true;
    this.options.logger.warn(`camera: ${this.description}: dropped a frame that is not a whole JPEG (no end marker ff d9); the camera sends broken frames`);
  }

  private fail(reason: string): void {
    if (this.state !== RUNNING) return;
    this.state = CLOSED;
    this.stop();
    this.onEnd({ reason: `${this.description}: ${maskSecrets(reason, this.options.camera.password)}` });
  }

  private stop(): void {
    this.timeout?.cancel();
    this.nextPoll?.cancel();
    this.request?.destroy();
    this.agent.destroy();
  }
}

function snapshotTooLarge(size: string): string {
  return `a snapshot of ${size}: larger than the ${MAX_PART_BYTES / 1024 / 1024} MB a JPEG may have`;
}

/** What a status other than 200 means, as a sentence a person can act on. */
function describeStatus(res: http.IncomingMessage, camera: HttpCameraUrl): string {
  const status = res.statusCode ?? 0;
  const answer = `${status} ${res.statusMessage ?? ''}`.trim();
  if (status === 401) {
    const challenge = res.headers['www-authenticate'] ?? '';
    if (/^\s*digest\b/i.test(challenge) && !/\bbasic\b/i.test(challenge)) return `the camera asks for Digest authentication (${answer}); pancake sends Basic authentication only`;
    return camera.user === undefined
      ? `the camera wants a user and password (${answer}): put the user into --camera (${camera.scheme}://USER@host/…) and give --camera-password`
      : `the camera refused user ${JSON.stringify(camera.user)} or the password: wrong user or password (${answer})`;
  }
  if (status === 403) return `the camera forbids user ${camera.user === undefined ? '(none)' : JSON.stringify(camera.user)} this URL (${answer})`;
  if (status === 404) return `no such path ${camera.path} on the camera (${answer}): check the path in --camera (mjpg-streamer: /?action=stream)`;
  if (status >= 300 && status < 400) {
    const location = res.headers.location;
    return `the camera redirects to ${location ? maskUrl(location) : 'nowhere (no Location)'} (${answer}); pancake follows no redirects: put the URL it should read into --camera`;
  }
  if (status === 503) return `the camera refused the stream for now (${answer}): too many clients watching?`;
  return `the camera answered ${answer}`;
}

// Node's codes for a certificate it does not trust.
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Why a request failed before any response, as a sentence a person can act on. */
function describeRequestError(err: NodeJS.ErrnoException, camera: HttpCameraUrl): string {
  const where = `${camera.host}:${camera.port}`;
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') return `connection refused by ${where}: nothing listens there (is the camera on, the port right?)`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the host name ${camera.host} was not found (${code}): check the host in --camera`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `${where} cannot be reached (${code}): is the camera on and on this network?`;
  if (code === 'ECONNRESET') return `${where} closed the connection without answering (${code})`;
  if (code.startsWith('HPE_')) return `the answer from ${where} is not HTTP (${code}): is it the camera's HTTP port?`;
  if (CERTIFICATE_CODES.has(code)) return `the camera's certificate is not trusted (${code}: ${err.message})`;
  if (code === 'EPROTO' || code.startsWith('ERR_SSL')) return `no TLS at ${where} (${code}): does the camera speak http://, not https://, on this port?`;
  return `the request to ${where} failed: ${err.message}${code ? ` (${code})` : ''}`;
}
