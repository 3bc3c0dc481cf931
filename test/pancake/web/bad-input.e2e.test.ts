// Nothing a client sends can escape static/, crash pancake or stop recording.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import type { FileEvent } from '../../../src/common/events.js';
import { decodeErrors, makeTmp } from '../../helpers/env.js';
import { startEventSink } from '../../helpers/event-sink.js';
import { startLivePancake, type LivePancake } from '../../helpers/live.js';
import { usePancakeTest } from '../../helpers/pancake-process.js';
import { until } from '../../helpers/until.js';

/** A raw HTTP request (the path is sent exactly as given, unnormalised). */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(request));
    let out = '';
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('close', () => resolve(out));
    socket.on('error', () => resolve(out));
  });
}

const statusOf = (response: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);

function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/websocket`);
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

const closeCode = (ws: WebSocket): Promise<number> => new Promise((resolve) => ws.on('close', (code) => resolve(code)));

describe('hostile clients', () => {
  const t = usePancakeTest<LivePancake>();

  it('cannot break out of static/, crash pancake or stop recording', async () => {
    t.tmp = makeTmp();
    const dir = path.join(t.tmp, 'h264');
    fs.mkdirSync(dir);
    const name = `pancake-bad-${path.basename(t.tmp)}`;
    t.sink = await startEventSink(name);
    t.pancake = await startLivePancake(['--record-continuous', dir, '--emit', name]);
    const port = Number(new URL(t.pancake.url).port);

    for (const p of ['/static/../templates/index.html', '/static/..%2ftemplates%2findex.html', '/static/%2e%2e/%2e%2e/etc/passwd',
      '/static/..%5c..%5cetc%5cpasswd', '/static/%252e%252e/etc/passwd', '/static//etc/passwd', '/static/style.css%00.png', '/../../etc/passwd']) {
      const response = await raw(port, `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      expect(statusOf(response), p).toBe(404);
      expect(response).not.toContain('root:');
      expect(response).not.toContain('<title>');
    }
    expect(statusOf(await raw(port, 'GET /static/style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'))).toBe(200);
    expect(statusOf(await raw(port, 'GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'))).toBe(404);
    const wrong = await raw(port, 'DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(statusOf(wrong)).toBe(405);
    expect(wrong).toMatch(/\r\nAllow: GET, HEAD\r\n/i);
    expect(statusOf(await raw(port, 'PUT /static/style.css HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'))).toBe(405);
    expect(statusOf(await raw(port, 'GARBAGE\r\n\r\n'))).toBe(0); // closed without an answer, no crash
    // WebSocket: a malformed message closes that socket only; an oversized one too; a binary one too.
    const good = await openSocket(t.pancake.url);
    let goodFrames = 0;
    good.on('message', (data, isBinary) => {
      if (isBinary) {
        goodFrames++;
        good.send(JSON.stringify({ ack: (data as Buffer).readUInt32BE(4) }));
      }
    });
    const malformed = await openSocket(t.pancake.url);
    const malformedClosed = closeCode(malformed);
    malformed.send('{"ack": "soon"');
    expect(await malformedClosed).toBe(1008);
    const oversized = await openSocket(t.pancake.url);
    const oversizedClosed = closeCode(oversized);
    oversized.send('x'.repeat(100_000));
    expect(await oversizedClosed).toBe(1009);
    const binary = await openSocket(t.pancake.url);
    const binaryClosed = closeCode(binary);
    binary.send(Buffer.from([1, 2, 3]));
    expect(await binaryClosed).toBe(1008);
    // The well-behaved viewer goes on getting frames (waited for: a loaded machine may send them slowly).
    const before = goodFrames;
    await until(() => goodFrames - before > 8, 'more frames for the well-behaved viewer');
    good.close();

    // A cross-site page cannot open the stream.
    const foreign = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${t.pancake!.url.replace(/^http/, 'ws')}/websocket`, { headers: { Origin: 'http://evil.example' } });
      ws.on('unexpected-response', (_q, res) => resolve(String(res.statusCode)));
      ws.on('open', () => resolve('open'));
      ws.on('error', () => {});
    });
    expect(foreign).toBe('403');

    // Still alive and still recording: the file finished at shutdown decodes cleanly.
    expect(t.pancake.child.exitCode).toBeNull();
    const stopAt = Date.now();
    const stopped = await t.pancake.stop('SIGTERM');
    expect(stopped.code).toBe(0);
    const event = (await t.sink.waitFor((e) => 'h264' in e)) as FileEvent;
    expect(decodeErrors(event.h264)).toBe('');
    // Recording went on through all of it, up to the shutdown.
    expect(Date.parse(event.end)).toBeGreaterThan(stopAt - 1000);
  }, 40_000);
});
