// Dead connections are found with ping/pong and closed; live ones stay.
import WebSocket from 'ws';
import { afterEach, expect, it } from 'vitest';
import { systemClock } from '../../../src/common/clock.js';
import { createLogger } from '../../../src/common/log.js';
import { STATIC_DIR, TEMPLATES_DIR } from '../../../src/common/paths.js';
import { LiveServer } from '../../../src/pancake/web/server.js';

let server: LiveServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

it('terminates a viewer that stops answering pings, and keeps one that answers', async () => {
  server = new LiveServer({
    port: 0, host: '127.0.0.1', templatesDir: TEMPLATES_DIR, staticDir: STATIC_DIR,
    status: { camera: 'up', recording: false, rotation: 0 }, width: 320, height: 240, maxStreamFps: 10,
    // No JPEG viewer and no snapshot here, so no picture is ever asked for.
    pictures: { subscribe: () => ({ close: () => {} }) },
    clock: systemClock, logger: createLogger({ program: 'test', level: 'error' }), pingIntervalMs: 150,
  });
  const port = await server.start();
  const open = (autoPong: boolean): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/websocket`, { autoPong });
      ws.on('open', () => resolve(ws));
      ws.on('error', reject);
    });
  const silent = await open(false);
  const alive = await open(true);
  const closedAt = new Promise<number>((resolve) => silent.on('close', (code) => resolve(code)));
  expect(await closedAt).toBe(1006); // terminated: no close handshake for a dead peer
  await new Promise((r) => setTimeout(r, 400));
  expect(alive.readyState).toBe(WebSocket.OPEN);
  alive.close();
});
