#!/usr/bin/env node
// pancake: owns the camera, records H.264, serves the live view, and emits events to postproc.
import fs from 'node:fs';
import path from 'node:path';
import { runMain, UsageError } from '../common/cli.js';
import { systemClock } from '../common/clock.js';
import { createLogger } from '../common/log.js';
import { startBufferSweeps } from '../common/memory.js';
import { isLegacyHash } from '../common/password.js';
import { STATIC_DIR, TEMPLATES_DIR } from '../common/paths.js';
import { planCamera } from './camera/factory.js';
import { FrameDecoder } from './decode/frame-decoder.js';
import { Detection } from './detect/detection.js';
import { EventSender } from './events/sender.js';
import { parsePancakeArgs } from './options.js';
import { preflight } from './preflight.js';
import { ContinuousRecorder } from './record/continuous.js';
import { RecordingJournal } from './record/journal.js';
import type { PancakeStatus } from './status.js';
import { CameraStream } from './stream/camera-stream.js';
import { LiveServer } from './web/server.js';

await runMain('pancake', async () => {
  // Parse and validate: every user error stops pancake here, before anything exists.
  const config = parsePancakeArgs(process.argv.slice(2));
  const { cameraTool, passwordHash, tls } = await preflight(config);
  const clock = systemClock;
  const logger = createLogger({ program: config.name ? `pancake[${config.name}]` : 'pancake', file: config.log });
  if (passwordHash && isLegacyHash(passwordHash)) {
    logger.warn(`--login: ${config.login} holds an unsalted SHA-512 hash from the original set_password.py; it works, but make a salted one with: pancake-set-password ${config.login}`);
  }

  // Build, from the events outwards to the camera.
  const stopSweeps = startBufferSweeps();
  fs.mkdirSync(config.stateDir, { recursive: true });
  const events = new EventSender({ socketName: config.emit, stateDir: config.stateDir, cameraName: config.name, clock, logger });
  const journal = new RecordingJournal(path.join(config.stateDir, 'recording'));
  events.announceLeftovers(journal);
  const camera = planCamera(config, cameraTool, clock, logger);
  const recorder = config.recordContinuous
    ? new ContinuousRecorder({
        dir: config.recordContinuous, segmentMinutes: config.segmentMinutes, fps: camera.fps, fixedRate: camera.fixedRate, rotation: config.rotation, clock, logger, journal,
        onFinished: (rec) => events.announce(rec),
        onStorage: (state, reason, file) => events.storage(state, reason, file),
      })
    : undefined;
  // Pictures are decoded only while someone subscribes (detect(frame), the live view's JPEG fallback);
  // an MJPEG camera's own JPEGs serve them instead (camera.pictures), so its stream is never decoded.
  const decoder = new FrameDecoder({ clock, logger });
  const detection = config.detect
    ? new Detection({ config, fps: camera.fps, keyframeIntervalMs: camera.keyframeIntervalMs, fixedRate: camera.fixedRate, decoder: camera.pictures ?? decoder, journal, events, clock, logger, onState: (state) => (status.detection = state) })
    : undefined;
  const stream = new CameraStream({
    factory: camera.factory, stallMs: config.cameraTimeoutMs, clock, logger,
    onDown: (reason) => events.camera('down', reason),
    onUp: () => events.camera('up'),
  });
  const status: PancakeStatus = {
    get camera() {
      return stream.state;
    },
    get cameraReason() {
      return stream.reason;
    },
    get recording() {
      return Boolean(recorder?.recording || detection?.recorder?.recording);
    },
    rotation: config.rotation,
  };
  // The live view: H.264 to browsers that decode it themselves; JPEG pictures from the shared decoder otherwise.
  const web = new LiveServer({
    host: config.host, port: config.port, tls, passwordHash, cameraName: config.name, templatesDir: TEMPLATES_DIR, staticDir: STATIC_DIR,
    status, width: config.width, height: config.height, maxStreamFps: config.maxStreamFps, pictures: decoder, jpegs: camera.pictures, clock, logger,
  });
  // Every access unit goes to each consumer in this order: files first, pictures last.
  for (const consumer of [recorder, detection?.recorder, decoder, web]) if (consumer) stream.add(consumer);

  // Start: customize.ts is loaded before the camera (a broken file exits 3), the port is taken before it too.
  await detection?.start();
  events.start();
  try {
    await web.start();
  } catch (err) {
    // The detect worker and a decoder child would keep the process alive after the error.
    await detection?.close();
    await decoder.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new UsageError(`--port: cannot listen on ${config.host ?? '*'}:${config.port} (${code})`, 2);
    }
    throw err;
  }
  stream.start();
  logger.info(`pancake started${config.recordContinuous ? `, recording into ${config.recordContinuous}` : ''}${config.emit ? `, events to @${config.emit}` : ''}`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  logger.info(`${signal}: finishing recordings and stopping`);
  // Close in reverse order: viewers and camera, then files (their events go to the outbox), then a short wait for acks.
  await web.close();
  await stream.close();
  await detection?.close();
  await decoder.close();
  await recorder?.close();
  await detection?.recorder?.close();
  await events.close();
  stopSweeps();
  logger.info(`pancake stopped (peak memory ${Math.round(process.resourceUsage().maxRSS / 1024)} MB)`);
  // winston writes asynchronously; give the transport a moment before the process ends.
  await new Promise<void>((resolve) => logger.on('finish', resolve).end());
  return 0;
});
