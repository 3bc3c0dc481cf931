// MjpegHttpSource against real MJPEG servers on 127.0.0.1 (mjpg-streamer, ffmpeg's mpjpeg) and small Node servers that misbehave.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock, type Clock } from '../../../src/common/clock.js';
import { findOnPath } from '../../../src/common/find-on-path.js';
import { MjpegHttpSource } from '../../../src/pancake/camera/mjpeg/http-source.js';
import { parseHttpCameraUrl } from '../../../src/pancake/camera/mjpeg/url.js';
import type { SourceEnd } from '../../../src/pancake/camera/source.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';
import { ffmpegAvailable, mjpgStreamerAvailable, startFfmpegMjpegServer, startMjpgStreamer, type MjpegTestServer, type MjpgStreamerOptions, type MjpgStreamerServer } from '../../helpers/mjpeg-server.js';
import { captureLogger } from '../../postproc/upload/capture-logger.js';

const streamer = mjpgStreamerAvailable();
if (!streamer.ok) console.warn(`MJPEG tests with mjpg-streamer skipped: ${streamer.reason}`);
const ffmpeg = ffmpegAvailable();
if (!ffmpeg.ok) console.warn(`MJPEG tests with ffmpeg's server skipped: ${ffmpeg.reason}`);
const openssl = findOnPath('openssl');
if (!openssl) console.warn('MJPEG tests over https skipped: openssl not on PATH');

// Generous limits: every wait ends on an event; these only bound a broken run on a loaded machine.
const TEST_MS = 60_000;
const WAIT_MS = 30_000;

let servers: MjpegTestServer[] = [];
let nodeServers: net.Server[] = [];
let sockets: net.Socket[] = [];
let sources: MjpegHttpSource[] = [];
let tmp: string | undefined;
afterEach(async () => {
  await Promise.all(sources.map((s) => s.close()));
  await Promise.all(servers.map((s) => s.stop()));
  // close() waits for open connections: end them first.
  for (const socket of sockets) socket.destroy();
  await Promise.all(nodeServers.map((s) => new Promise((resolve) => s.close(resolve))));
  sources = [];
  servers = [];
  nodeServers = [];
  sockets = [];
  removeTmp(tmp);
  tmp = undefined;
});

async function mjpgStreamer(options: MjpgStreamerOptions = {}): Promise<MjpgStreamerServer> {
  const s = await startMjpgStreamer(options);
  servers.push(s);
  return s;
}

/** A started source and what it produced. */
interface Watched {
  source: MjpegHttpSource;
  frames: { jpeg: Buffer; wall: number }[];
  /** Everything the source logged. */
  log: () => string;
  end: SourceEnd | undefined;
  ended: Promise<SourceEnd>;
  /** Resolves once `test` holds (checked on every frame); rejects if the source ends first or after WAIT_MS. */
  until(test: () => boolean, what: string): Promise<void>;
}

function watch(url: string, options: { pollFps?: number; timeoutMs?: number; clock?: Clock; password?: string } = {}): Watched {
  const { logger, text } = captureLogger();
  const camera = parseHttpCameraUrl(url, { password: options.password });
  const source = new MjpegHttpSource({ camera, clock: options.clock ?? systemClock, logger, pollFps: options.pollFps, timeoutMs: options.timeoutMs });
  sources.push(source);
  const checks: (() => void)[] = [];
  let endNow: (end: SourceEnd) => void = () => {};
  const w: Watched = {
    source,
    frames: [],
    log: text,
    end: undefined,
    ended: new Promise((resolve) => (endNow = resolve)),
    until(test, what) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what} within ${WAIT_MS} ms (${w.frames.length} frames)`)), WAIT_MS);
        const check = (): void => {
          if (!test() && !w.end) return;
          clearTimeout(timer);
          checks.splice(checks.indexOf(check), 1);
          if (test()) resolve();
          else reject(new Error(`source ended before ${what}: ${w.end!.reason}`));
        };
        checks.push(check);
        check();
      });
    },
  };
  source.start(
    (jpeg, wall) => {
      w.frames.push({ jpeg, wall });
      for (const check of [...checks]) check();
    },
    (end) => {
      w.end = end;
      endNow(end);
      for (const check of [...checks]) check();
    },
  );
  return w;
}

/** Frames per second over the frames received (first to last arrival). */
const rate = (w: Watched): number => (w.frames.length - 1) / ((w.frames.at(-1)!.wall - w.frames[0]!.wall) / 1000);

/** Which served file each frame is (-1: none). */
const fileIndexes = (w: Watched, files: Buffer[]): number[] => w.frames.map((f) => files.findIndex((file) => file.equals(f.jpeg)));

describe.skipIf(!streamer.ok)('MjpegHttpSource with mjpg-streamer', () => {
  it('reads the stream at about 10 fps, every frame byte for byte one of the served files, in the order served', async () => {
    const cam = await mjpgStreamer();
    const url = cam.url('/?action=stream');
    const w = watch(url);
    expect(w.source.description).toBe(url);
    await w.until(() => w.frames.length >= 30, '30 frames');
    const indexes = fileIndexes(w, cam.frames);
    expect(indexes.filter((i) => i < 0)).toEqual([]);
    // mjpg-streamer sends every client every frame: each is the file after the one before (looping).
    const steps = indexes.slice(1).map((i, k) => (i - indexes[k]! + cam.frames.length) % cam.frames.length);
    expect(steps.filter((s) => s === 1).length).toBeGreaterThanOrEqual(steps.length - 3);
    expect(rate(w)).toBeGreaterThan(5);
    expect(rate(w)).toBeLessThan(20);
    await w.source.close();
    expect(w.end).toBeUndefined(); // closing is not an end to report
  }, TEST_MS);

  it('with -c user:password: frames with the right password; a wrong or missing one ends with a reason saying so, the password nowhere', async () => {
    const cam = await mjpgStreamer({ credentials: { user: 'viewer', password: 'right-pw-1' } });
    const good = watch(cam.url('/?action=stream', { user: 'viewer', password: 'right-pw-1' }));
    expect(good.source.description).toBe(`http://viewer:***@127.0.0.1:${cam.port}/?action=stream`);
    await good.until(() => good.frames.length >= 3, '3 frames');
    expect(fileIndexes(good, cam.frames).filter((i) => i < 0)).toEqual([]);

    const wrong = watch(cam.url('/?action=stream', { user: 'viewer', password: 'wrong-pw-xyz' }));
    const end = await wrong.ended;
    expect(end.reason).toBe(`http://viewer:***@127.0.0.1:${cam.port}/?action=stream: the camera refused user "viewer" or the password: wrong user or password (401 Unauthorized)`);
    expect(`${end.reason}\n${wrong.log()}\n${wrong.source.description}`).not.toContain('wrong-pw-xyz');
    expect(good.log()).not.toContain('right-pw-1');
    expect(wrong.frames).toEqual([]);

    const none = watch(cam.url('/?action=snapshot'), { pollFps: 2 });
    expect((await none.ended).reason).toBe(
      `http://127.0.0.1:${cam.port}/?action=snapshot: the camera wants a user and password (401 Unauthorized): put the user into --camera (http://USER@host/…) and give --camera-password`,
    );
  }, TEST_MS);

  it('polls snapshots (no Content-Length) at the asked rate, each one of the served files', async () => {
    const cam = await mjpgStreamer();
    const w = watch(cam.url('/?action=snapshot'), { pollFps: 4 });
    await w.until(() => w.frames.length >= 10, '10 snapshots');
    expect(fileIndexes(w, cam.frames).filter((i) => i < 0)).toEqual([]);
    expect(rate(w)).toBeGreaterThan(2);
    expect(rate(w)).toBeLessThan(6);
    expect(w.log()).toContain('polling snapshots at 4 fps');
  }, TEST_MS);

  it('says so when a snapshot URL is read as a stream, or a stream polled as snapshots', async () => {
    const cam = await mjpgStreamer();
    expect((await watch(cam.url('/?action=snapshot')).ended).reason).toBe(
      `http://127.0.0.1:${cam.port}/?action=snapshot: the URL serves a single JPEG (a snapshot), not a stream: poll it (--camera-poll) or give the stream's URL (mjpg-streamer: /?action=stream)`,
    );
    expect((await watch(cam.url('/?action=stream'), { pollFps: 2 }).ended).reason).toBe(
      `http://127.0.0.1:${cam.port}/?action=stream: the URL serves an MJPEG stream, not single JPEGs: read it as a stream (without --camera-poll)`,
    );
  }, TEST_MS);

  it('ends with a reason when the server is killed, and connection refused while it is gone', async () => {
    const cam = await mjpgStreamer();
    const url = cam.url('/?action=stream');
    const w = watch(url);
    await w.until(() => w.frames.length >= 5, '5 frames');
    await cam.stop('SIGKILL');
    const end = await w.ended;
    // A kill between two writes of a part would be "in the middle of a frame"; both are true stories.
    expect(end.reason).toMatch(new RegExp(`^${url.replace(/[?.]/g, '\\$&')}: the camera closed the stream (after \\d+ frames|in the middle of a frame)`));
    expect((await watch(url).ended).reason).toBe(`${url}: connection refused by 127.0.0.1:${cam.port}: nothing listens there (is the camera on, the port right?)`);
  }, TEST_MS);
});

describe.skipIf(!ffmpeg.ok)("MjpegHttpSource with ffmpeg's mpjpeg server", () => {
  it('reads its stream (boundary "ffmpeg", lower-case part headers, chunked): whole JPEGs of the size served, at its rate', async () => {
    const cam = await startFfmpegMjpegServer({ size: '320x240', fps: 10 });
    servers.push(cam);
    const w = watch(cam.url('/'));
    await w.until(() => w.frames.length >= 20, '20 frames');
    for (const { jpeg } of w.frames.slice(0, 3)) expect(await sharp(jpeg).metadata()).toMatchObject({ format: 'jpeg', width: 320, height: 240 });
    expect(rate(w)).toBeGreaterThan(5);
    expect(rate(w)).toBeLessThan(20);
    await cam.stop('SIGKILL');
    expect((await w.ended).reason).toMatch(/: the camera closed the stream (after \d+ frames|in the middle of a frame)/);
  }, TEST_MS);

  it("names ffmpeg's default Content-Type, which is not multipart", async () => {
    const cam = await startFfmpegMjpegServer({ contentType: null });
    servers.push(cam);
    expect((await watch(cam.url('/')).ended).reason).toBe(
      `http://127.0.0.1:${cam.port}/: not an MJPEG stream (Content-Type: application/octet-stream): check the path in --camera (mjpg-streamer: /?action=stream)`,
    );
  }, TEST_MS);
});

/** Listens on a free port of 127.0.0.1, its connections ended in afterEach; resolves with the port. */
async function listen(server: net.Server): Promise<number> {
  nodeServers.push(server);
  server.on('connection', (socket: net.Socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A Node HTTP server; resolves with its base URL. */
async function nodeServer(handler: http.RequestListener): Promise<string> {
  return `http://127.0.0.1:${await listen(http.createServer(handler))}`;
}

/** A TCP server that does `onConnection` with each socket (for answers that are not HTTP, or none); resolves with its port. */
function tcpServer(onConnection: (socket: net.Socket) => void): Promise<number> {
  return listen(net.createServer(onConnection));
}

/** A JPEG of testsrc2, made once. */
let testJpeg: Buffer | undefined;
function jpegFrame(): Buffer {
  if (testJpeg) return testJpeg;
  const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120', '-frames:v', '1', '-f', 'image2', '-c:v', 'mjpeg', 'pipe:1'], { maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`ffmpeg could not make a JPEG: ${r.stderr.toString()}`);
  testJpeg = r.stdout;
  return testJpeg;
}

const MULTIPART = { 'Content-Type': 'multipart/x-mixed-replace;boundary=b0undary' };
const part = (jpeg: Buffer, length = jpeg.length): Buffer => Buffer.concat([Buffer.from(`--b0undary\r\nContent-Type: image/jpeg\r\nContent-Length: ${length}\r\n\r\n`), jpeg, Buffer.from('\r\n')]);

describe.skipIf(!ffmpeg.ok)('MjpegHttpSource with servers that misbehave', () => {
  it.each<[string, number, http.OutgoingHttpHeaders, string, string]>([
    ['404', 404, {}, '/no/such?x=1', 'no such path /no/such?x=1 on the camera (404 Not Found): check the path in --camera (mjpg-streamer: /?action=stream)'],
    ['401 asking for Digest', 401, { 'WWW-Authenticate': 'Digest realm="cam", nonce="1"' }, '/', 'the camera asks for Digest authentication (401 Unauthorized); pancake sends Basic authentication only'],
    ['a redirect', 302, { Location: 'http://admin:hunter2@10.0.0.9/login' }, '/', 'the camera redirects to http://admin:***@10.0.0.9/login (302 Found); pancake follows no redirects: put the URL it should read into --camera'],
    ['500', 500, {}, '/', 'the camera answered 500 Internal Server Error'],
  ])('says what a %s means', async (_name, status, headers, pathAndQuery, why) => {
    const base = await nodeServer((_req, res) => res.writeHead(status, headers).end('nope'));
    const w = watch(`${base}${pathAndQuery}`);
    expect((await w.ended).reason).toBe(`${base}${pathAndQuery}: ${why}`);
  });

  it('sends Basic authentication in the header only, and says when the user or password is wrong', async () => {
    const seen: (string | undefined)[] = [];
    const base = await nodeServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="cam"' }).end();
    });
    const w = watch(`${base.replace('//', '//admin:p%40ss@')}/video`);
    expect((await w.ended).reason).toBe(`${base.replace('//', '//admin:***@')}/video: the camera refused user "admin" or the password: wrong user or password (401 Unauthorized)`);
    expect(seen).toEqual([`Basic ${Buffer.from('admin:p@ss').toString('base64')}`]);
  });

  it('says when the answer is a web page, not an MJPEG stream or a JPEG', async () => {
    const base = await nodeServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html></html>'));
    expect((await watch(`${base}/`).ended).reason).toBe(`${base}/: not an MJPEG stream (Content-Type: text/html): check the path in --camera (mjpg-streamer: /?action=stream)`);
    expect((await watch(`${base}/`, { pollFps: 1 }).ended).reason).toBe(`${base}/: not a JPEG (Content-Type: text/html): check the path in --camera (mjpg-streamer: /?action=snapshot)`);
  });

  it('ends a garbage stream that never sends its boundary, and closes the connection', async () => {
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const base = await nodeServer((req, res) => {
      res.writeHead(200, MULTIPART);
      const junk = Buffer.alloc(8192, 0x61);
      const timer = setInterval(() => res.write(junk), 5);
      req.socket.on('close', () => {
        clearInterval(timer);
        closed();
      });
    });
    const w = watch(`${base}/`);
    expect((await w.ended).reason).toBe(`${base}/: no boundary "--b0undary" in the first 64 KB of the stream`);
    await connectionClosed;
    expect(w.frames).toEqual([]);
  });

  it('ends on a part larger than 16 MB, with or without Content-Length, having read little more than the limit', async () => {
    const big = await nodeServer((_req, res) => {
      res.writeHead(200, MULTIPART);
      res.write(`--b0undary\r\nContent-Type: image/jpeg\r\nContent-Length: ${20 * 1024 * 1024}\r\n\r\n`);
    });
    expect((await watch(`${big}/`).ended).reason).toBe(`${big}/: a part of 20971520 bytes: larger than the 16 MB a JPEG may have`);

    // An endless part: written as fast as the source reads it, until the source hangs up.
    let written = 0;
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const endless = await nodeServer((req, res) => {
      res.writeHead(200, MULTIPART);
      res.write('--b0undary\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8', 'latin1');
      const chunk = Buffer.alloc(64 * 1024);
      const pump = (): void => {
        while (!res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      pump();
      req.socket.on('close', () => closed());
    });
    const w = watch(`${endless}/`);
    expect((await w.ended).reason).toBe(`${endless}/: a part of more than 16 MB: larger than the 16 MB a JPEG may have`);
    await connectionClosed;
    // The source read up to the limit and hung up; the socket buffers on the way (some MB) come on top.
    expect(written).toBeGreaterThan(16 * 1024 * 1024);
    expect(written).toBeLessThan(32 * 1024 * 1024);
  });

  it('drops a truncated JPEG (warning once) and goes on; a stream cut inside a part ends "in the middle of a frame"', async () => {
    const jpeg = jpegFrame();
    const base = await nodeServer((_req, res) => {
      res.writeHead(200, MULTIPART);
      res.write(Buffer.concat([part(jpeg), part(jpeg.subarray(0, 500)), part(jpeg.subarray(0, 600)), part(jpeg)]));
      // The last part is cut off: its headers promise more bytes than come before the connection closes.
      res.end(part(jpeg, jpeg.length + 1000).subarray(0, 300));
    });
    const w = watch(`${base}/`);
    expect((await w.ended).reason).toBe(`${base}/: the camera closed the stream in the middle of a frame`);
    expect(w.frames.map((f) => f.jpeg.equals(jpeg))).toEqual([true, true]);
    expect(w.log().match(/dropped a frame that is not a whole JPEG/g)).toHaveLength(1);
  });

  it('ends on a part that is not a JPEG, naming its first bytes and type', async () => {
    const base = await nodeServer((_req, res) => {
      res.writeHead(200, MULTIPART);
      res.write('--b0undary\r\nContent-Type: text/html\r\n\r\n<html>oops</html>\r\n--b0undary\r\n');
    });
    expect((await watch(`${base}/`).ended).reason).toBe(`${base}/: a part is not a JPEG: it starts with 3c 68 74 6d, not ff d8 (Content-Type: text/html)`);
  });

  it('times out on a server that accepts but never answers, and on one that answers but sends no frame', async () => {
    const silent = await tcpServer(() => {});
    const w = watch(`http://127.0.0.1:${silent}/`, { timeoutMs: 500 });
    expect((await w.ended).reason).toBe(`http://127.0.0.1:${silent}/: no answer from 127.0.0.1:${silent} within 0.5 s (timed out)`);

    const mute = await nodeServer((_req, res) => res.writeHead(200, MULTIPART).flushHeaders());
    expect((await watch(`${mute}/`, { timeoutMs: 500 }).ended).reason).toBe(`${mute}/: sent no frame within 0.5 s (timed out)`);
  });

  it('says when the answer is not HTTP, or the connection closes without one', async () => {
    const chatty = await tcpServer((socket) => socket.end('SSH-2.0-OpenSSH_9.2\r\n'));
    expect((await watch(`http://127.0.0.1:${chatty}/`).ended).reason).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:${chatty}/: the answer from 127\\.0\\.0\\.1:${chatty} is not HTTP \\(HPE_\\w+\\): is it the camera's HTTP port\\?$`),
    );
    const rude = await tcpServer((socket) => socket.on('data', () => socket.destroy()));
    expect((await watch(`http://127.0.0.1:${rude}/`).ended).reason).toBe(`http://127.0.0.1:${rude}/: 127.0.0.1:${rude} closed the connection without answering (ECONNRESET)`);
  });

  it('polls with at most one request in flight: a slow camera sets the pace', async () => {
    const jpeg = jpegFrame();
    let inFlight = 0;
    let most = 0;
    const base = await nodeServer((_req, res) => {
      most = Math.max(most, ++inFlight);
      setTimeout(() => {
        inFlight--;
        res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(jpeg);
      }, 300);
    });
    const w = watch(`${base}/snapshot.jpg`, { pollFps: 10 });
    await w.until(() => w.frames.length >= 5, '5 snapshots');
    expect(most).toBe(1);
    // Each snapshot takes the server 300 ms, so they can come no faster than that (however loaded the machine).
    const gaps = w.frames.slice(1).map((f, i) => f.wall - w.frames[i]!.wall);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(290);
    expect(w.frames.every((f) => f.jpeg.equals(jpeg))).toBe(true);
  });

  it('asks for the next snapshot when the clock says so, not before', async () => {
    const jpeg = jpegFrame();
    let requests = 0;
    const base = await nodeServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': jpeg.length }).end(jpeg);
    });
    const clock = new ManualClock();
    const w = watch(`${base}/snapshot.jpg`, { pollFps: 2, clock });
    await w.until(() => w.frames.length === 1, 'the first snapshot');
    expect(w.frames[0]!.wall).toBe(clock.now());
    await new Promise((r) => setTimeout(r, 300));
    expect(requests).toBe(1);
    clock.advance(499);
    await new Promise((r) => setTimeout(r, 300));
    expect(requests).toBe(1);
    clock.advance(1);
    await w.until(() => w.frames.length === 2, 'the second snapshot');
    expect(requests).toBe(2);
  });

  it('ends on a snapshot that is not a JPEG, or larger than 16 MB', async () => {
    const page = await nodeServer((_req, res) => res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end('<html>login</html>'));
    expect((await watch(`${page}/snap`, { pollFps: 1 }).ended).reason).toBe(`${page}/snap: the snapshot is not a JPEG: it starts with 3c 68 74 6d, not ff d8`);
    const huge = await nodeServer((_req, res) => res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': 17 * 1024 * 1024 }).write(Buffer.from([0xff, 0xd8])));
    expect((await watch(`${huge}/snap`, { pollFps: 1 }).ended).reason).toBe(`${huge}/snap: a snapshot of 17825792 bytes: larger than the 16 MB a JPEG may have`);
  });

  it('stops at close: the connection is closed and no end is reported', async () => {
    const jpeg = jpegFrame();
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const base = await nodeServer((req, res) => {
      res.writeHead(200, MULTIPART);
      const timer = setInterval(() => res.write(part(jpeg)), 20);
      req.socket.on('close', () => {
        clearInterval(timer);
        closed();
      });
    });
    const w = watch(`${base}/`);
    await w.until(() => w.frames.length >= 3, '3 frames');
    await w.source.close();
    await connectionClosed;
    const count = w.frames.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(w.frames.length).toBe(count);
    expect(w.end).toBeUndefined();
  });
});

describe.skipIf(!openssl)('MjpegHttpSource over https', () => {
  it("says when the camera's certificate is not trusted, and when the port speaks plain HTTP", async () => {
    tmp = makeTmp('pancake-mjpeg-tls-');
    const key = path.join(tmp, 'key.pem');
    const cert = path.join(tmp, 'cert.pem');
    const r = spawnSync(openssl!, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const port = await listen(https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (_req, res) => res.writeHead(200, MULTIPART).end()));
    expect((await watch(`https://127.0.0.1:${port}/`).ended).reason).toMatch(
      new RegExp(`^https://127\\.0\\.0\\.1:${port}/: the camera's certificate is not trusted \\(DEPTH_ZERO_SELF_SIGNED_CERT: self[- ]signed certificate\\)$`),
    );

    const plainHttp = await nodeServer((_req, res) => res.writeHead(200).end());
    const httpPort = new URL(plainHttp).port;
    expect((await watch(`https://127.0.0.1:${httpPort}/`).ended).reason).toMatch(
      new RegExp(`^https://127\\.0\\.0\\.1:${httpPort}/: no TLS at 127\\.0\\.0\\.1:${httpPort} \\((EPROTO|ERR_SSL_\\w+)\\): does the camera speak http://, not https://, on this port\\?$`),
    );
  });
});
