// The live-view web server: pages, static files, login, /snapshot.jpg and the /websocket stream.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock } from '../../common/clock.js';
import type { AccessUnit } from '../../common/h264/annexb.js';
import type { SpsInfo } from '../../common/h264/sps.js';
import type { Logger } from '../../common/log.js';
import { verifyPassword } from '../../common/password.js';
import type { PancakeStatus } from '../status.js';
import { H264Hub } from './h264-hub.js';
import { encodeJpeg, JpegHub, type CameraJpegSource, type PictureSource } from './jpeg-hub.js';
import { MseHub } from './mse-hub.js';
import { MAX_CLIENT_MESSAGE_BYTES, parseAck } from './protocol.js';
import { LoginLimiter, parseCookies, SESSION_COOKIE, sessionCookie, SessionSigner } from './sessions.js';
import { contentType, readStatic, resolveStatic } from './static-files.js';
import type { Viewer } from './viewers.js';
import { readBody } from './request-body.js';

export interface LiveServerOptions {
  host?: string;
  port: number;
  tls?: { cert: Buffer; key: Buffer };
  /** --name: shown in the page title. */
  cameraName?: string;
  /** The stored password hash (--login), or undefined for no login. */
  passwordHash?: string;
  templatesDir: string;
  staticDir: string;
  status: PancakeStatus;
  /** --resolution: the size of JPEG pictures. */
  width: number;
  height: number;
  maxStreamFps: number;
  /** The shared frame decoder, for the JPEG view and snapshots. */
  pictures: PictureSource;
  /** An MJPEG camera's own JPEGs: the JPEG view and snapshots use them as they are, instead of `pictures`. */
  jpegs?: CameraJpegSource;
  clock: Clock;
  logger: Logger;
  /** A wrong password is answered after this long (the original waited 3 s). */
  wrongPasswordDelayMs?: number;
  /** Answers every request under /api/ (the JSON API); `hasSession` says whether it carries a valid session cookie. */
  api?: { handle(req: http.IncomingMessage, res: http.ServerResponse, hasSession: boolean): Promise<void> };
  pingIntervalMs?: number;
}

const MAX_BODY_BYTES = 4096;
const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; media-src 'self' blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
};

/** Serves the live view. A component: start() then close(). Nothing a client sends can throw out of it. */
export class LiveServer {
  readonly h264 = new H264Hub(3);
  readonly mse: MseHub;
  private readonly jpeg: JpegHub;
  private readonly server: http.Server | https.Server;
  private readonly wss: WebSocketServer;
  private readonly sessions = new SessionSigner();
  private readonly limiter = new LoginLimiter();
  private sps: SpsInfo | undefined;
  private readonly clients = new Map<WebSocket, { viewer: Viewer; mode: LiveMode; alive: boolean }>();
  private pingTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private lastStatus = '';

  constructor(private readonly options: LiveServerOptions) {
    this.mse = new MseHub(3, (message) => options.logger.warn(message));
    this.jpeg = new JpegHub({
      source: options.pictures, jpegs: options.jpegs, width: options.width, height: options.height, maxFps: options.maxStreamFps,
      clock: options.clock, logger: options.logger,
    });
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      this.handle(req, res).catch((err: Error) => {
        options.logger.error(`web: ${req.method} ${req.url}: ${err.stack ?? err.message}`);
        if (!res.headersSent) this.send(res, 500, 'text/plain; charset=utf-8', 'Internal error\n');
        else res.destroy();
      });
    };
    this.server = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler) : http.createServer(handler);
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_MESSAGE_BYTES, perMessageDeflate: false });
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  /** Listens; resolves with the port (useful with port 0). */
  start(): Promise<number> {
    const { host, port, logger } = this.options;
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host }, () => {
        this.server.off('error', reject);
        // Timers only once listening: a failed listen must leave nothing that keeps the process alive.
        this.pingTimer = setInterval(() => this.pingAll(), this.options.pingIntervalMs ?? 10_000);
        this.statusTimer = setInterval(() => this.broadcastStatus(), 1000);
        const actual = (this.server.address() as { port: number }).port;
        logger.info(`web: live view on ${this.options.tls ? 'https' : 'http'}://${host ?? '*'}:${actual}/${this.options.passwordHash ? ' (login required)' : ''}`);
        resolve(actual);
      });
    });
  }

  /** Every access unit of the camera stream. */
  push(unit: AccessUnit, sps: SpsInfo | undefined): void {
    if (sps) this.sps = sps;
    this.h264.push(unit);
    this.mse.push(unit);
  }

  /** A unit that looks complete before the next start code proves it: H.264 viewers get it at once. */
  pushEarly(data: Buffer, keyframe: boolean, wallTime: number): void {
    this.h264.pushEarly(data, keyframe, wallTime);
  }

  /** Early units are worth watching for only while someone views H.264. */
  wantsEarly(): boolean {
    return this.h264.viewerCount > 0;
  }

  // ---- HTTP -------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://pancake.invalid');
    const method = req.method ?? 'GET';
    const route = url.pathname;
    const read = method === 'GET' || method === 'HEAD';

    if (route === '/') {
      if (!read) return this.notAllowed(res, 'GET, HEAD');
      if (!this.authenticated(req)) return this.redirect(res, '/login');
      return this.page(res, 'index.html', { logout: this.options.passwordHash ? '<a class="logout" href="/logout">Log out</a>' : '' });
    }
    if (route === '/recordings') {
      if (!read) return this.notAllowed(res, 'GET, HEAD');
      if (!this.authenticated(req)) return this.redirect(res, '/login');
      return this.page(res, 'recordings.html', { logout: this.options.passwordHash ? '<a class="logout" href="/logout">Log out</a>' : '' });
    }
    // The raw path too: /api/recordings/../x must reach the API (and its JSON 404), not what the URL parser makes of it.
    if (route.startsWith('/api/') || (req.url ?? '').startsWith('/api/')) {
      if (!this.options.api) return this.send(res, 404, 'application/json; charset=utf-8', '{"error":"no API in this pancake"}\n');
      return this.options.api.handle(req, res, this.authenticated(req));
    }
    if (route === '/login') {
      if (!this.options.passwordHash) return this.redirect(res, '/');
      if (read) return this.page(res, 'login.html', { error: url.searchParams.has('error') ? '<p class="error" role="alert">Wrong password.</p>' : '' });
      if (method === 'POST') return this.login(req, res);
      return this.notAllowed(res, 'GET, HEAD, POST');
    }
    if (route === '/logout') {
      if (!read && method !== 'POST') return this.notAllowed(res, 'GET, HEAD, POST');
      res.setHeader('Set-Cookie', sessionCookie('', 0, Boolean(this.options.tls)));
      return this.redirect(res, this.options.passwordHash ? '/login' : '/');
    }
    if (route === '/snapshot.jpg') {
      if (!read) return this.notAllowed(res, 'GET, HEAD');
      if (!this.authenticated(req)) return this.send(res, 401, 'text/plain; charset=utf-8', 'Login required\n');
      return this.snapshot(res);
    }
    if (route === '/websocket') {
      return this.send(res, 426, 'text/plain; charset=utf-8', 'This is a WebSocket endpoint\n', { Upgrade: 'websocket' });
    }
    if (route.startsWith('/static/')) {
      if (!read) return this.notAllowed(res, 'GET, HEAD');
      const file = resolveStatic(this.options.staticDir, route.slice('/static/'.length));
      const body = file ? readStatic(file) : undefined;
      if (!file || !body) return this.send(res, 404, 'text/plain; charset=utf-8', 'Not found\n');
      return this.send(res, 200, contentType(file), body, { 'Cache-Control': 'no-cache' });
    }
    return this.send(res, 404, 'text/plain; charset=utf-8', 'Not found\n');
  }

  private authenticated(req: http.IncomingMessage): boolean {
    if (!this.options.passwordHash) return true;
    return this.sessions.verify(parseCookies(req.headers.cookie).get(SESSION_COOKIE), this.options.clock.now());
  }

  private async login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { clock, logger } = this.options;
    const address = req.socket.remoteAddress ?? 'unknown';
    const locked = this.limiter.retryAfter(address, clock.now()) > 0;
    const wait = this.limiter.begin(address, clock.now());
    if (wait > 0) {
      logger.warn(`web: login from ${address} refused: ${locked ? `too many wrong passwords, locked for ${Math.ceil(wait / 1000)} s` : 'another password check from this address is still running'}`);
      return this.send(res, 429, 'text/plain; charset=utf-8', 'Too many wrong passwords; try again later.\n', { 'Retry-After': String(Math.ceil(wait / 1000)) });
    }
    try {
      await this.checkPassword(req, res, address);
    } finally {
      this.limiter.end(address);
    }
  }

  /** One password check for `address`, which holds its slot in the limiter meanwhile. */
  private async checkPassword(req: http.IncomingMessage, res: http.ServerResponse, address: string): Promise<void> {
    const { clock, logger } = this.options;
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) return this.send(res, 413, 'text/plain; charset=utf-8', 'Request body too large\n', { Connection: 'close' });
    const password = new URLSearchParams(body).get('password') ?? '';
    const started = clock.monotonic();
    const { ok } = await verifyPassword(password, this.options.passwordHash!).catch(() => ({ ok: false }));
    if (!ok) {
      this.limiter.fail(address, clock.now());
      logger.warn(`web: wrong password from ${address}`);
      // As the original: a wrong password is answered after 3 s, which makes guessing slow.
      const rest = (this.options.wrongPasswordDelayMs ?? 3000) - (clock.monotonic() - started);
      if (rest > 0) await new Promise<void>((r) => clock.setTimeout(r, rest));
      return this.redirect(res, '/login?error');
    }
    this.limiter.succeed(address);
    logger.info(`web: login from ${address}`);
    res.setHeader('Set-Cookie', sessionCookie(this.sessions.issue(clock.now()), this.sessions.maxAgeSeconds, Boolean(this.options.tls)));
    return this.redirect(res, '/');
  }

  private async snapshot(res: http.ServerResponse): Promise<void> {
    const { width, height, pictures, jpegs } = this.options;
    if (jpegs) return this.cameraSnapshot(res, jpegs);
    const frame = await new Promise<Parameters<Parameters<PictureSource['subscribe']>[0]['onFrame']>[0] | undefined>((resolve) => {
      let sub: { close(): void } | undefined = undefined;
      const timer = setTimeout(() => {
        sub?.close();
        resolve(undefined);
      }, 5000);
      sub = pictures.subscribe({
        width, height, keyframesOnly: false,
        onFrame: (f) => {
          clearTimeout(timer);
          sub?.close();
          resolve(f);
        },
      });
    });
    if (!frame) return this.send(res, 503, 'text/plain; charset=utf-8', 'No picture from the camera\n', { 'Retry-After': '5' });
    return this.send(res, 200, 'image/jpeg', await encodeJpeg(frame, 85), { 'Cache-Control': 'no-store' });
  }

  /** The MJPEG camera's newest JPEG, unchanged; the next one when there is none yet (up to 5 s). */
  private async cameraSnapshot(res: http.ServerResponse, jpegs: CameraJpegSource): Promise<void> {
    const jpeg = jpegs.newest?.jpeg ?? await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => {
        sub.close();
        resolve(undefined);
      }, 5000);
      const sub = jpegs.subscribeJpeg((picture) => {
        clearTimeout(timer);
        sub.close();
        resolve(picture.jpeg);
      });
    });
    if (!jpeg) return this.send(res, 503, 'text/plain; charset=utf-8', 'No picture from the camera\n', { 'Retry-After': '5' });
    return this.send(res, 200, 'image/jpeg', jpeg, { 'Cache-Control': 'no-store' });
  }

  private page(res: http.ServerResponse, name: string, values: Record<string, string>): void {
    const template = fs.readFileSync(path.join(this.options.templatesDir, name), 'utf8');
    // The camera name is letters, digits, '-' and '_' only (camera-name.ts): nothing to escape.
    const all: Record<string, string> = { title: this.options.cameraName ? `${this.options.cameraName} — Raspberry Pancake` : 'Raspberry Pancake', ...values };
    const html = template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => all[key] ?? '');
    this.send(res, 200, 'text/html; charset=utf-8', html, { 'Cache-Control': 'no-store' });
  }

  private redirect(res: http.ServerResponse, location: string): void {
    this.send(res, 303, 'text/plain; charset=utf-8', '', { Location: location, 'Cache-Control': 'no-store' });
  }

  private notAllowed(res: http.ServerResponse, allow: string): void {
    this.send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed\n', { Allow: allow });
  }

  private send(res: http.ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  }

  // ---- WebSocket ----------------------------------------------------------------------------

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    const refuse = (status: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const url = new URL(req.url ?? '/', 'http://pancake.invalid');
    if (url.pathname !== '/websocket') return refuse('404 Not Found');
    // Another site's page must not open our stream with the user's cookie: the Origin must be us.
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let originHost: string;
      try {
        originHost = new URL(origin).host;
      } catch {
        return refuse('403 Forbidden');
      }
      if (originHost !== req.headers.host) return refuse('403 Forbidden');
    }
    if (!this.authenticated(req)) return refuse('401 Unauthorized');
    const mode = liveMode(url.searchParams.get('mode'));
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, mode, req.socket.remoteAddress ?? 'unknown'));
  }

  private connected(ws: WebSocket, mode: LiveMode, address: string): void {
    const { logger, status, width, height, maxStreamFps } = this.options;
    const sps = this.sps;
    ws.send(JSON.stringify({
      type: 'config', mode, rotation: status.rotation, maxFps: maxStreamFps,
      codec: sps?.codec ?? null, width: mode === 'jpeg' ? width : (sps?.width ?? null), height: mode === 'jpeg' ? height : (sps?.height ?? null),
    }));
    ws.send(this.statusMessage());
    const hub = mode === 'jpeg' ? this.jpeg : mode === 'mse' ? this.mse : this.h264;
    const viewer = hub.addViewer(ws);
    const client = { viewer, mode, alive: true };
    this.clients.set(ws, client);
    logger.info(`web: ${mode} viewer connected from ${address} (${this.clients.size} watching)`);
    ws.on('pong', () => (client.alive = true));
    ws.on('message', (data, isBinary) => {
      const seq = isBinary ? undefined : parseAck(data.toString());
      if (seq === undefined) {
        logger.warn(`web: closing a viewer from ${address} that sent a malformed message`);
        ws.close(1008, 'malformed message');
        return;
      }
      hub.ack(viewer, seq);
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      this.clients.delete(ws);
      hub.removeViewer(viewer);
      logger.info(`web: ${mode} viewer from ${address} left after ${viewer.sent} frames, ${viewer.skipped} skipped (${this.clients.size} watching)`);
    });
  }

  /** Dead connections (a phone that went away) are found by unanswered pings and closed. */
  private pingAll(): void {
    for (const [ws, client] of this.clients) {
      if (!client.alive) {
        ws.terminate();
        continue;
      }
      client.alive = false;
      ws.ping();
    }
  }

  private statusMessage(): string {
    const s = this.options.status;
    return JSON.stringify({ type: 'status', camera: s.camera, reason: s.camera === 'down' ? (s.cameraReason ?? null) : null, recording: s.recording, paused: s.continuousPaused ?? false, detection: s.detection ?? null });
  }

  private broadcastStatus(): void {
    const message = this.statusMessage();
    if (message === this.lastStatus) return;
    this.lastStatus = message;
    for (const ws of this.clients.keys()) ws.send(message);
  }

  /** Closes every connection and stops listening. Idempotent. */
  async close(): Promise<void> {
    clearInterval(this.pingTimer);
    clearInterval(this.statusTimer);
    this.jpeg.close();
    for (const ws of this.clients.keys()) ws.terminate();
    this.wss.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections(); // keep-alive connections would hold close() open
    await closed;
  }
}

/** How a viewer gets pictures: H.264 units (WebCodecs), MP4 fragments (MSE) or JPEG pictures. */
export type LiveMode = 'h264' | 'mse' | 'jpeg';

/** The websocket's ?mode=; H.264 when absent or unknown (pages before MSE asked for nothing or jpeg). */
export function liveMode(value: string | null): LiveMode {
  return value === 'jpeg' || value === 'mse' ? value : 'h264';
}
