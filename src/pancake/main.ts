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
import { PauseState } from './record/pause-state.js';
import { RecordingIndex } from './record/recording-index.js';
import { RecordingsApi } from './recordings/api.js';
import { EventHistory } from './recordings/event-history.js';
import { FrameStore } from './recordings/frame-store.js';
import { RecordingLibrary } from './recordings/library.js';
import { StreamFacts, statusReport } from './recordings/status-report.js';
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
  const camera = await planCamera(config, cameraTool, clock, logger);
  const startedAt = clock.now();
  // The recordings as the API serves them: the index (rebuilt at start-up), frame tables, what happened, the pause switch.
  const recordingDirs = [
    ...(config.recordContinuous ? [{ dir: config.recordContinuous, kind: 'continuous' as const }] : []),
    ...(config.recordDetection ? [{ dir: config.recordDetection.dir, kind: 'detection' as const }] : []),
  ];
  const frames = new FrameStore({ dir: path.join(config.stateDir, 'frames'), logger });
  const index = new RecordingIndex({ dirs: recordingDirs.map((d) => d.dir), catalog: path.join(config.stateDir, 'recordings.ndjson'), frames });
  const library = new RecordingLibrary({ index, store: frames, fps: camera.fps, rotation: config.rotation, logger });
  const history = new EventHistory({ file: path.join(config.stateDir, 'history.ndjson'), clock });
  const pauseState = new PauseState(path.join(config.stateDir, 'recording-switch.json'));
  const recorder = config.recordContinuous
    ? new ContinuousRecorder({
        dir: config.recordContinuous, segmentMinutes: config.segmentMinutes, fps: camera.fps, fixedRate: camera.fixedRate, rotation: config.rotation, clock, logger, journal, index,
        onFinished: (rec) => events.announce(rec),
        onStorage: (state, reason, file) => {
          events.storage(state, reason, file);
          history.add('storage', state, reason);
        },
      })
    : undefined;
  // Pictures are decoded only while someone subscribes (detect(frame), the live view's JPEG fallback);
  // an MJPEG camera's own JPEGs serve them instead (camera.pictures), so its stream is never decoded.
  const decoder = new FrameDecoder({ clock, logger });
  const detection = config.detect
    ? new Detection({ config, fps: camera.fps, keyframeIntervalMs: camera.keyframeIntervalMs, fixedRate: camera.fixedRate, decoder: camera.pictures ?? decoder, journal, events, clock, logger, index,
        onState: (state) => {
          // Edges only, for the history and the index's detection periods (the first "no" is no edge).
          if (state !== (status.detection ?? false)) {
            history.add('detection', state ? 'on' : 'off');
            index.detectionChanged(state, clock.now());
          }
          status.detection = state;
        },
      })
    : undefined;
  const stream = new CameraStream({
    factory: camera.factory, stallMs: config.cameraTimeoutMs, clock, logger,
    onDown: (reason) => {
      events.camera('down', reason);
      history.add('camera', 'down', reason);
      cameraSince = clock.now();
    },
    onUp: () => {
      events.camera('up');
      history.add('camera', 'up');
      cameraSince = clock.now();
    },
  });
  let cameraSince = startedAt;
  const status: PancakeStatus = {
    get camera() {
      return stream.state;
    },
    get cameraReason() {
      return stream.reason;
    },
    get cameraSince() {
      return cameraSince;
    },
    get continuousPaused() {
      return recorder?.paused;
    },
    get recording() {
      return Boolean(recorder?.recording || detection?.recorder?.recording);
    },
    rotation: config.rotation,
  };
  const facts = new StreamFacts();
  const continuousState = () => ({ enabled: recorder !== undefined, paused: recorder?.paused ?? false, writing: recorder?.recording ?? false });
  const api = new RecordingsApi({
    library, history, clock, logger, loginRequired: passwordHash !== undefined, apiToken: config.apiToken,
    status: () => statusReport({
      name: config.name, status, facts, fps: camera.fps, startedAt, dirs: recordingDirs, clock,
      continuous: recorder ? continuousState : undefined,
      detection: { enabled: detection?.recorder !== undefined, writing: () => detection?.recorder?.recording ?? false },
    }),
    setContinuous: recorder
      ? async (enabled) => {
          pauseState.save(!enabled);
          await recorder.setPaused(!enabled);
          return continuousState();
        }
      : undefined,
  });
  // The live view: H.264 to browsers that decode it themselves; JPEG pictures from the shared decoder otherwise.
  const web = new LiveServer({ api,
    host: config.host, port: config.port, tls, passwordHash, cameraName: config.name, templatesDir: TEMPLATES_DIR, staticDir: STATIC_DIR,
    status, width: config.width, height: config.height, maxStreamFps: config.maxStreamFps, pictures: decoder, jpegs: camera.pictures, clock, logger,
  });
  // Every access unit goes to each consumer in this order: files first, pictures last.
  for (const consumer of [recorder, detection?.recorder, decoder, web, facts]) if (consumer) stream.add(consumer);
  // Paused before this start (PUT /api/recording): stays paused.
  if (recorder && pauseState.load()) {
    await recorder.setPaused(true);
    logger.info('record: continuous recording is paused (PUT /api/recording {"continuous": true} resumes it)');
  }

  // Start: customize.ts is loaded before the camera (a broken file exits 3), the port is taken before it too.
  await detection?.start();
  await library.start();
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
  frames.close();
  await events.close();
  stopSweeps();
  logger.info(`pancake stopped (peak memory ${Math.round(process.resourceUsage().maxRSS / 1024)} MB)`);
  // winston writes asynchronously; give the transport a moment before the process ends.
  await new Promise<void>((resolve) => logger.on('finish', resolve).end());
  return 0;
});
