// RtspSource against a real RTSP camera (GStreamer's rtsp-server on 127.0.0.1): video, auth, errors, codecs, audio, outages.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AnnexBParser, iterateNalUnits, type AccessUnit } from '../../../src/common/h264/index.js';
import { parseCameraUrl } from '../../../src/pancake/camera/rtsp.js';
import { RtspSource, type RtspSourceOptions } from '../../../src/pancake/camera/rtsp-source.js';
import type { SourceEnd } from '../../../src/pancake/camera/source.js';
import { decodeErrors, frameTypes, makeTmp, removeTmp, terminate } from '../../helpers/env.js';
import { rtspServerAvailable, startRtspServer, type RtspServerOptions, type RtspTestServer } from '../../helpers/rtsp-server.js';
import { captureLogger } from '../../postproc/upload/capture-logger.js';
import { freePort } from '../../helpers/net.js';

const available = rtspServerAvailable();
if (!available.ok) console.warn(`rtsp-source tests skipped: ${available.reason}`);
const live = it.skipIf(!available.ok);
// Generous limits: waits end on events, these only bound a broken run.
const TEST_MS = 90_000;
const WAIT_MS = 40_000;

let servers: RtspTestServer[] = [];
let sources: RtspSource[] = [];
let tmp: string | undefined;
afterEach(async () => {
  await Promise.all(sources.map((s) => s.close()));
  await Promise.all(servers.map((s) => s.stop()));
  sources = [];
  servers = [];
  removeTmp(tmp);
  tmp = undefined;
});

async function server(options: RtspServerOptions = {}): Promise<RtspTestServer> {
  const s = await startRtspServer(options);
  servers.push(s);
  return s;
}

/** A started source and what it produced: chunks, access units (parsed as pancake does), its end. */
interface Watched {
  source: RtspSource;
  chunks: Buffer[];
  units: AccessUnit[];
  parser: AnnexBParser;
  lines: string[];
  end: SourceEnd | undefined;
  ended: Promise<SourceEnd>;
  /** Resolves once `test` holds (checked on every chunk); rejects if the source ends first or after WAIT_MS. */
  until(test: () => boolean, what: string): Promise<void>;
}

function watch(url: string, options: Partial<RtspSourceOptions> & { password?: string } = {}): Watched {
  const { logger, lines } = captureLogger();
  const camera = parseCameraUrl(url, { password: options.password });
  const source = new RtspSource({ camera, logger, timeoutSeconds: 5, ...options });
  sources.push(source);
  const parser = new AnnexBParser();
  const checks: (() => void)[] = [];
  let endNow: (end: SourceEnd) => void = () => {};
  const w: Watched = {
    source,
    chunks: [],
    units: [],
    parser,
    lines,
    end: undefined,
    ended: new Promise((resolve) => (endNow = resolve)),
    until(test, what) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what} within ${WAIT_MS} ms (${w.units.length} access units)`)), WAIT_MS);
        const check = (): void => {
          if (test()) {
            clearTimeout(timer);
            checks.splice(checks.indexOf(check), 1);
            resolve();
          } else if (w.end) {
            clearTimeout(timer);
            checks.splice(checks.indexOf(check), 1);
            reject(new Error(`source ended before ${what}: ${w.end.reason}`));
          }
        };
        checks.push(check);
        check();
      });
    },
  };
  source.start(
    (chunk) => {
      w.chunks.push(chunk);
      w.units.push(...parser.push(chunk, Date.now(), performance.now()));
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

const keyframes = (w: Watched): AccessUnit[] => w.units.filter((u) => u.keyframe);
const nalTypes = (au: AccessUnit): number[] => [...iterateNalUnits(au.data)].map((nal) => nal[0]! & 0x1f);

function saveStream(w: Watched): string {
  tmp ??= makeTmp('pancake-rtsp-');
  const file = path.join(tmp, 'received.h264');
  fs.writeFileSync(file, Buffer.concat(w.chunks));
  return file;
}

describe('RtspSource', () => {
  live('passes the camera\'s H.264 on: keyframes with SPS/PPS, the size the camera sends', async () => {
    const cam = await server({ gopSeconds: 1 });
    const w = watch(cam.url());
    expect(w.source.description).toBe(cam.url());
    await w.until(() => keyframes(w).length >= 2, 'two keyframes');
    expect(w.units[0]!.keyframe).toBe(true); // ffmpeg's copy starts at a keyframe
    expect(nalTypes(keyframes(w)[1]!)).toEqual([9, 7, 8, 5]);
    expect(w.parser.sps).toMatchObject({ width: 320, height: 240 });
    expect(w.source.videoDescription).toMatch(/^h264 \(Constrained Baseline\).*320x240.*15 fps/);
    await w.source.close();
    expect(w.end).toBeUndefined(); // closing is not an end to report
    expect(decodeErrors(saveStream(w))).toBe('');
  }, TEST_MS);

  live('puts SPS/PPS sent only in the SDP in front of the first picture, once', async () => {
    const cam = await server({ gopSeconds: 1, parameterSets: 'sdp' });
    const w = watch(cam.url());
    await w.until(() => keyframes(w).length >= 2, 'two keyframes');
    const [first, second] = keyframes(w);
    expect(nalTypes(first!)).toEqual([9, 7, 8, 5]);
    expect(nalTypes(second!)).toEqual([9, 5]); // the camera really sends none in the stream
    expect(w.lines.some((l) => l.includes('SPS/PPS only in the SDP'))).toBe(true);
    await w.source.close();
    expect(decodeErrors(saveStream(w))).toBe('');
  }, TEST_MS);

  live('passes B-frames unchanged', async () => {
    const cam = await server({ gopSeconds: 1, bframes: true });
    const w = watch(cam.url());
    await w.until(() => keyframes(w).length >= 3, 'three keyframes');
    await w.source.close();
    const file = saveStream(w);
    expect(decodeErrors(file)).toBe('');
    const types = frameTypes(file).map((f) => f.pict).join('');
    expect(types).toMatch(/^IB*P/);
    expect(types).toContain('B');
  }, TEST_MS);

  live.each(['basic', 'digest'] as const)('%s authentication: a password with special characters, given apart, works and is never logged', async (auth) => {
    const password = 'p@ss w/rd:%';
    const cam = await server({ auth, user: 'admin', password });
    const w = watch(cam.url({ user: 'admin' }), { password });
    expect(w.source.description).toBe(`rtsp://admin:***@127.0.0.1:${cam.port}/stream`);
    await w.until(() => keyframes(w).length >= 1, 'a keyframe');
    await w.source.close();
    const logged = w.lines.join('\n');
    expect(logged).toContain('admin:***@');
    expect(logged).not.toContain(password);
    expect(logged).not.toContain(encodeURIComponent(password));
  }, TEST_MS);

  live.each(['basic', 'digest'] as const)('%s authentication: a wrong password ends with a reason that says so and holds no password', async (auth) => {
    const cam = await server({ auth, user: 'admin', password: 'right-pw-81' });
    const w = watch(cam.url({ user: 'admin', password: 'wrong-pw-42' }));
    const { reason } = await w.ended;
    expect(reason).toMatch(/^rtsp:\/\/admin:\*\*\*@127\.0\.0\.1:\d+\/stream: the camera refused user "admin" or the password: wrong user or password \(401 Unauthorized\) \(ffmpeg .* ended with exit code 1; stderr: .*401/);
    expect(reason).not.toMatch(/wrong-pw-42|right-pw-81/);
    expect(w.chunks).toHaveLength(0);
  }, TEST_MS);

  live('a wrong path ends with 404 and the path', async () => {
    const cam = await server();
    const w = watch(`rtsp://127.0.0.1:${cam.port}/no/such/stream`);
    const { reason } = await w.ended;
    expect(reason).toContain('no stream at path /no/such/stream on the camera (404 Not Found): check the path in --camera');
  }, TEST_MS);

  live('nothing listening ends with connection refused', async () => {
    const port = await freePort();
    const w = watch(`rtsp://admin:pw-1234@127.0.0.1:${port}/stream`);
    const { reason } = await w.ended;
    expect(reason).toContain(`connection refused by 127.0.0.1:${port}: nothing listens there`);
    expect(reason).not.toContain('pw-1234');
  }, TEST_MS);

  live.each<[RtspServerOptions['codec'], RegExp]>([
    ['h265', /the camera sends H\.265 \(HEVC\), pancake records H\.264: set the camera's video codec to H\.264 \(often 'Video encoding' in its web settings\) \(ffmpeg .* stopped by pancake/],
    ['mjpeg', /the camera sends MJPEG, pancake records H\.264: set the camera's video codec to H\.264.* \(ffmpeg .* stopped by pancake/],
  ])('a %s camera is stopped at once with the codec reason, and none of its bytes passes', async (codec, expected) => {
    const cam = await server({ codec });
    const w = watch(cam.url());
    const { reason } = await w.ended;
    expect(reason).toMatch(expected);
    expect(w.chunks).toHaveLength(0);
  }, TEST_MS);

  live('tells about an audio track once (callback), and records the video only', async () => {
    const cam = await server({ audio: true, gopSeconds: 1 });
    const seen: string[] = [];
    const w = watch(cam.url(), { onAudioTrack: (codec) => seen.push(codec) });
    await w.until(() => keyframes(w).length >= 2, 'two keyframes');
    expect(seen).toEqual(['aac']);
    expect(w.source.audioCodec).toBe('aac');
    expect(w.lines.some((l) => l.includes('audio track'))).toBe(false); // the caller said it
    await w.source.close();
    // Without a callback the source logs it itself, once. The shared test media is torn down with
    // its last client, and on a loaded machine a client that comes just then is refused (503) or
    // gets nothing: as pancake would, try again (a new source, as pancake makes on a restart).
    let quiet: Watched | undefined;
    for (let attempt = 1; !quiet; attempt++) {
      const next = watch(cam.url());
      try {
        await next.until(() => keyframes(next).length >= 2, 'two keyframes');
        quiet = next;
      } catch (err) {
        if (attempt >= 3 || !/503|nothing for/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    expect(quiet.lines.filter((l) => /audio track \(aac\) ignored/.test(l))).toHaveLength(1);
  }, TEST_MS);

  live('a camera that stops mid-stream ends the source; when it is back, a new source streams again', async () => {
    const cam = await server({ gopSeconds: 1 });
    const first = watch(cam.url());
    await first.until(() => keyframes(first).length >= 1, 'a keyframe');
    await cam.down();
    const { reason } = await first.ended;
    expect(reason).toMatch(/: the camera ended the stream \(connection closed\) \(ffmpeg .* ended with exit code 0/);
    await cam.up();
    const again = watch(cam.url());
    await again.until(() => keyframes(again).length >= 1, 'a keyframe after the restart');
  }, TEST_MS);

  live('a camera that hangs mid-stream ends by ffmpeg\'s timeout; describeStall tells the story', async () => {
    const cam = await server({ gopSeconds: 1 });
    const w = watch(cam.url(), { timeoutSeconds: 2 });
    await w.until(() => keyframes(w).length >= 1, 'a keyframe');
    cam.pause();
    expect(w.source.describeStall(7)).toMatch(new RegExp(`^rtsp://127\\.0\\.0\\.1:${cam.port}/stream: sent no frame for 7 s \\(ffmpeg .*-timeout 2000000`));
    const { reason } = await w.ended;
    expect(reason).toContain('the camera stopped sending: nothing for 2 s (timed out)');
  }, TEST_MS);

  live('streams over UDP too', async () => {
    const cam = await server({ gopSeconds: 1 });
    const w = watch(cam.url(), { transport: 'udp' });
    await w.until(() => keyframes(w).length >= 2, 'two keyframes');
    expect(w.source.videoDescription).toMatch(/^h264/);
  }, TEST_MS);

  live('two clients see one stream (the server is shared, like a camera)', async () => {
    const cam = await server({ gopSeconds: 1 });
    const a = watch(cam.url());
    await a.until(() => keyframes(a).length >= 2, 'two keyframes');
    const b = watch(cam.url());
    await b.until(() => keyframes(b).length >= 1, 'a keyframe');
    // With one encoder, b's first keyframe is one a also received (a later one, not a's first).
    const firstOfB = keyframes(b)[0]!.data;
    await a.until(() => keyframes(a).slice(1).some((k) => k.data.equals(firstOfB)), "b's first keyframe");
    expect(cam.clients()).toBe(2);
  }, TEST_MS);
});

describe('the test RTSP server', () => {
  live('changes its frame rate at run time (15 → 7 fps) without restarting the stream; keyframes stay 2 s apart', async () => {
    const cam = await server({ gopSeconds: 2, fps: 15 });
    // ffprobe reads the RTP timestamps (90 kHz) of every video packet.
    const probe = spawn('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-show_entries', 'packet=pts,flags', '-of', 'csv=p=0', cam.url()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const packets: { pts: number; key: boolean }[] = [];
    let out = '';
    let changedAt: number | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`ffprobe got ${packets.length} packets in ${WAIT_MS} ms`)), WAIT_MS);
        probe.on('exit', (code) => reject(new Error(`ffprobe exited (${code})`)));
        probe.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          let nl: number;
          while ((nl = out.indexOf('\n')) >= 0) {
            const [pts, flags] = out.slice(0, nl).trim().split(',');
            out = out.slice(nl + 1);
            if (pts === undefined || !/^\d+$/.test(pts)) continue;
            packets.push({ pts: Number(pts), key: (flags ?? '').includes('K') });
            if (changedAt === undefined && packets.length === 45) {
              changedAt = packets[packets.length - 1]!.pts;
              void cam.setRate(7).catch(reject);
            }
            if (changedAt !== undefined && packets[packets.length - 1]!.pts - changedAt >= 8 * 90_000) {
              clearTimeout(timer);
              resolve();
            }
          }
        });
      });
    } finally {
      await terminate(probe);
    }
    const fpsBetween = (from: number, to: number): number => packets.filter((p) => p.pts >= from && p.pts < to).length / ((to - from) / 90_000);
    const start = packets[0]!.pts;
    expect(fpsBetween(start, changedAt!)).toBeCloseTo(15, 0);
    // The change takes effect within a frame or two (the command travels through a pipe): skip 1 s.
    expect(fpsBetween(changedAt! + 90_000, changedAt! + 8 * 90_000)).toBeCloseTo(7, 0);
    const keys = packets.filter((p) => p.key).map((p) => p.pts);
    const gaps = keys.slice(1).map((k, i) => (k - keys[i]!) / 90_000);
    expect(gaps.length).toBeGreaterThanOrEqual(4);
    for (const gap of gaps) expect(gap).toBeCloseTo(2, 0);
  }, TEST_MS);
});
