// The JSON API under /api/: status, the recordings index, recordings and clips as MP4, event history, the continuous-recording switch.
import crypto from 'node:crypto';
import type http from 'node:http';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { isCalendarDate, parseRecordingName } from '../../common/recording-name.js';
import type { IndexedRecording } from '../record/recording-index.js';
import { clipBytes } from './clip.js';
import type { EventHistory } from './event-history.js';
import type { RecordingLibrary } from './library.js';
import { movieBytes } from './movie.js';
import { formatLocal, localDayOf, localDayRange, localMidnight, nextLocalMidnight, parseTime, timeZoneName, utcOffset } from './times.js';
import { readBody } from '../web/request-body.js';

/** The longest clip one request may ask for. */
export const MAX_CLIP_SECONDS = 3600;
const MAX_BODY_BYTES = 1024;
/** How long a live recording's snapshot stays the same for one viewer's range requests. */
const LIVE_PIN_MS = 60_000;

/** The continuous recorder's state as the API shows it. */
export interface ContinuousState {
  enabled: boolean;
  paused: boolean;
  writing: boolean;
}

export interface RecordingsApiOptions {
  library: RecordingLibrary;
  history: EventHistory;
  /** GET /api/status's body. */
  status: () => Promise<object>;
  /** Pauses (false) or resumes (true) continuous recording, saved across restarts; undefined without --record-continuous. */
  setContinuous?: (enabled: boolean) => Promise<ContinuousState>;
  /** --login was given: every route needs a session or the token. */
  loginRequired: boolean;
  /** --api-token's value: `Authorization: Bearer TOKEN` stands for a session. */
  apiToken?: string;
  clock: Clock;
  logger: Logger;
}

const HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/** A request the API refuses, with its status and one line for `{"error": …}`. */
class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

/** `.mp4` name of a recording: exactly the recording-name form, nothing a path could hide in. */
function h264NameOf(name: string): string | undefined {
  if (!/^[0-9]{8}-[0-9]{4,6}(-[1-9][0-9]*)?\.mp4$/.test(name)) return undefined;
  const parsed = parseRecordingName(name);
  return parsed && parsed.ext === '.mp4' ? `${parsed.base}.h264` : undefined;
}

/** Bytes [start, end] of a `Range: bytes=…` header for a body of `size` bytes; undefined for none, 'unsatisfiable' when it lies outside. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges, or another unit: the whole body, as RFC 9110 allows.
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/**
 * Answers every request under /api/. Nothing a client sends can throw out of {@link handle}:
 * bad input is a JSON error with its status; a client that goes away stops the MP4 it was sent.
 */
export class RecordingsApi {
  private readonly livePins = new Map<string, { units: number; until: number }>();

  constructor(private readonly options: RecordingsApiOptions) {}

  /** `hasSession`: the request carries a valid session cookie. */
  async handle(req: http.IncomingMessage, res: http.ServerResponse, hasSession: boolean): Promise<void> {
    try {
      await this.route(req, res, hasSession);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      this.json(res, err.status, { error: err.message }, err.headers);
    }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse, hasSession: boolean): Promise<void> {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    const method = req.method ?? 'GET';
    if (!this.authorized(req, hasSession)) {
      throw new ApiError(401, 'login required: a session cookie or Authorization: Bearer TOKEN (--api-token)', this.options.apiToken ? { 'WWW-Authenticate': 'Bearer' } : {});
    }
    const only = (allowed: string): void => {
      if (!allowed.split(', ').includes(method)) throw new ApiError(405, `method ${method} not allowed here`, { Allow: allowed });
    };

    if (rawPath === '/api/status') {
      only('GET, HEAD');
      return this.json(res, 200, await this.options.status());
    }
    if (rawPath === '/api/recordings/days') {
      only('GET, HEAD');
      await this.options.library.refresh();
      return this.json(res, 200, this.days());
    }
    if (rawPath === '/api/recordings') {
      only('GET, HEAD');
      await this.options.library.refresh();
      return this.json(res, 200, this.day(params.get('day')));
    }
    if (rawPath.startsWith('/api/recordings/')) {
      only('GET, HEAD');
      return this.recording(req, res, rawPath.slice('/api/recordings/'.length), params);
    }
    if (rawPath === '/api/clip.mp4') {
      only('GET, HEAD');
      return this.clip(req, res, params);
    }
    if (rawPath === '/api/events') {
      only('GET, HEAD');
      const since = params.get('since');
      const from = since === null ? -Infinity : parseTime(since);
      if (from === undefined) throw new ApiError(400, `since: not an ISO 8601 time: ${since}`);
      return this.json(res, 200, {
        events: this.options.history.since(from).map((e) => ({ time: formatLocal(e.time), type: e.type, state: e.state, reason: e.reason })),
      });
    }
    if (rawPath === '/api/recording') {
      only('PUT');
      return this.setRecording(req, res);
    }
    throw new ApiError(404, 'no such API route');
  }

  private authorized(req: http.IncomingMessage, hasSession: boolean): boolean {
    if (!this.options.loginRequired || hasSession) return true;
    const token = this.options.apiToken;
    const auth = req.headers.authorization;
    if (!token || !auth?.startsWith('Bearer ')) return false;
    const given = crypto.createHash('sha256').update(auth.slice(7).trim()).digest();
    const expected = crypto.createHash('sha256').update(token).digest();
    return crypto.timingSafeEqual(given, expected);
  }

  private days(): object {
    const perDay = new Map<string, { day: string; recordings: number; bytes: number; continuous: number; detection: number }>();
    for (const rec of this.options.library.index.all()) {
      for (let d = localMidnight(rec.start); d <= rec.end; d = nextLocalMidnight(d)) {
        const day = localDayOf(d);
        const entry = perDay.get(day) ?? { day, recordings: 0, bytes: 0, continuous: 0, detection: 0 };
        entry.recordings++;
        entry.bytes += rec.bytes;
        entry[rec.kind]++;
        perDay.set(day, entry);
      }
    }
    return { timeZone: timeZoneName(), days: [...perDay.values()].sort((a, b) => (a.day < b.day ? 1 : -1)) };
  }

  private day(day: string | null): object {
    const m = day === null ? null : /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
    if (!m || !isCalendarDate(Number(m[1]), Number(m[2]), Number(m[3]))) throw new ApiError(400, `day: expected YYYY-MM-DD, got ${day ?? 'nothing'}`);
    const { from, to } = localDayRange(Number(m[1]), Number(m[2]), Number(m[3]));
    const { index } = this.options.library;
    return {
      day, timeZone: timeZoneName(), utcOffset: utcOffset(from),
      recordings: index.between(from, to).map((rec) => this.describe(rec)),
      detections: index.detectionPeriods(from, to).map((p) => ({ start: formatLocal(p.start), end: p.end === undefined ? null : formatLocal(p.end) })),
    };
  }

  private describe(rec: IndexedRecording): object {
    const name = `${rec.name.replace(/\.h264$/, '')}.mp4`;
    const timing = this.options.library.timing(rec);
    const seconds = rec.timing
      ? rec.timing.reduce((sum, [n, ms]) => sum + n * ms, 0) / 1000
      : rec.frames !== undefined ? rec.frames / timing.fps : (rec.end - rec.start) / 1000;
    return {
      name, kind: rec.kind, start: formatLocal(rec.start), end: formatLocal(rec.start + seconds * 1000),
      durationSeconds: Math.round(seconds * 1000) / 1000, frames: rec.frames ?? null, bytes: rec.bytes, live: rec.live,
      url: `/api/recordings/${name}`,
    };
  }

  private async recording(req: http.IncomingMessage, res: http.ServerResponse, rawName: string, params: URLSearchParams): Promise<void> {
    let name: string;
    try {
      name = decodeURIComponent(rawName);
    } catch {
      throw new ApiError(404, 'no such recording');
    }
    const h264 = h264NameOf(name);
    if (!h264) throw new ApiError(404, 'no such recording');
    await this.options.library.refresh();
    const range = req.headers.range;
    const now = this.options.clock.now();
    for (const [key, pin] of this.livePins) if (pin.until < now) this.livePins.delete(key);
    // A viewer's first request (no range, or from byte 0) takes a new snapshot of a live file; its later ranges keep it.
    const pinKey = `${req.socket.remoteAddress ?? ''} ${h264}`;
    const continuing = range !== undefined && !/^bytes=0-/.test(range.trim());
    const planned = await this.options.library.movie(h264, continuing ? this.livePins.get(pinKey)?.units : undefined);
    if (!planned) throw new ApiError(404, 'no such recording');
    const { rec, movie } = planned;
    if (rec.live || this.livePins.has(pinKey)) this.livePins.set(pinKey, { units: movie.units, until: now + LIVE_PIN_MS });
    const headers: Record<string, string> = {
      ...HEADERS, 'Content-Type': 'video/mp4', 'Accept-Ranges': 'bytes',
      'X-Recording-Frames': String(movie.frames), 'X-Recording-Duration': String(movie.durationSeconds),
    };
    if (params.get('download') === '1') headers['Content-Disposition'] = `attachment; filename="${name}"`;
    if (!rec.live) headers.ETag = `"${h264}-${rec.bytes}"`;
    const wanted = parseRange(range, movie.size);
    if (wanted === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${movie.size}`, 'Content-Length': '0' });
      res.end();
      return;
    }
    const { start, end } = wanted ?? { start: 0, end: movie.size - 1 };
    res.writeHead(wanted ? 206 : 200, {
      ...headers, 'Content-Length': String(end - start + 1), ...(wanted ? { 'Content-Range': `bytes ${start}-${end}/${movie.size}` } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await this.stream(res, movieBytes(movie, rec.path, start, end + 1), rec.path);
  }

  private async clip(req: http.IncomingMessage, res: http.ServerResponse, params: URLSearchParams): Promise<void> {
    const startText = params.get('start');
    const from = startText === null ? undefined : parseTime(startText);
    if (from === undefined) throw new ApiError(400, `start: not an ISO 8601 time: ${startText ?? 'nothing'}`);
    let to: number | undefined;
    const endText = params.get('end');
    const durationText = params.get('duration');
    if (endText !== null && durationText !== null) throw new ApiError(400, 'give end or duration, not both');
    if (endText !== null) {
      to = parseTime(endText);
      if (to === undefined) throw new ApiError(400, `end: not an ISO 8601 time: ${endText}`);
    } else if (durationText !== null) {
      const seconds = /^\d+(\.\d+)?$/.test(durationText) ? Number(durationText) : NaN;
      if (!(seconds > 0)) throw new ApiError(400, `duration: expected seconds > 0, got ${durationText}`);
      to = from + seconds * 1000;
    } else {
      throw new ApiError(400, 'end or duration is missing');
    }
    if (to <= from) throw new ApiError(400, 'end: must be after start');
    if (to - from > MAX_CLIP_SECONDS * 1000) throw new ApiError(400, `a clip is at most ${MAX_CLIP_SECONDS} s long`);
    await this.options.library.refresh();
    const plan = await this.options.library.clip(from, to);
    if (!plan) throw new ApiError(404, 'no recording in that range');
    const stamp = formatLocal(from).slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
    res.writeHead(200, {
      ...HEADERS, 'Content-Type': 'video/mp4', 'Content-Disposition': `attachment; filename="clip-${stamp}.mp4"`,
      'X-Clip-Start': formatLocal(plan.start), 'X-Clip-End': formatLocal(plan.end), 'X-Clip-Frames': String(plan.frames),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await this.stream(res, clipBytes(plan), 'a clip');
  }

  /**
   * Sends the bytes as they are made, each chunk handed to the socket before the next is made
   * (the generator uses its buffers again), at the pace the client takes them; a client that leaves ends it.
   */
  private async stream(res: http.ServerResponse, bytes: AsyncGenerator<Buffer>, what: string): Promise<void> {
    let gone = false;
    const onClose = (): void => {
      gone = true;
    };
    res.once('close', onClose);
    try {
      for await (const chunk of bytes) {
        if (gone || res.destroyed) break;
        await new Promise<void>((resolve, reject) => {
          // A client that leaves may take the write's callback with it.
          const left = (): void => resolve();
          res.once('close', left);
          res.write(chunk, (err) => {
            res.off('close', left);
            if (err) reject(err);
            else resolve();
          });
        });
      }
      if (!gone) res.end();
    } catch (err) {
      // A client that went away is no trouble; anything else (the file changed, a read failed) is logged.
      const code = (err as NodeJS.ErrnoException).code ?? '';
      const left = gone || res.destroyed || ['ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END', 'EPIPE', 'ECONNRESET'].includes(code);
      if (!left) this.options.logger.warn(`web: serving ${what} stopped: ${(err as Error).message}`);
      res.destroy();
    } finally {
      res.off('close', onClose);
    }
  }

  private async setRecording(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Another site's page must not switch recording off with the user's session (or on an open pancake).
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let host: string | undefined;
      try {
        host = new URL(origin).host;
      } catch {
        host = undefined;
      }
      if (host !== req.headers.host) throw new ApiError(403, `foreign Origin refused: ${origin}`);
    }
    if (req.headers['sec-fetch-site'] === 'cross-site') throw new ApiError(403, 'cross-site request refused');
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) throw new ApiError(413, 'request body too large');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new ApiError(400, 'body: expected JSON {"continuous": true|false}');
    }
    const value = (parsed as { continuous?: unknown } | null)?.continuous;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof value !== 'boolean' || Object.keys(parsed).length !== 1) {
      throw new ApiError(400, 'body: expected JSON {"continuous": true|false}');
    }
    if (!this.options.setContinuous) throw new ApiError(409, 'continuous recording is not on (--record-continuous)');
    const state = await this.options.setContinuous(value);
    this.options.logger.info(`web: continuous recording ${value ? 'resumed' : 'paused'} from ${req.socket.remoteAddress ?? 'unknown'}`);
    this.json(res, 200, { continuous: state });
  }

  private json(res: http.ServerResponse, status: number, value: object, headers: Record<string, string> = {}): void {
    const body = `${JSON.stringify(value)}\n`;
    res.writeHead(status, { ...HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), ...headers });
    res.end(res.req?.method === 'HEAD' ? undefined : body);
  }
}
