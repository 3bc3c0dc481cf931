#!/usr/bin/env node
// pancake: owns the camera, records H.264, and emits events to postproc.
import fs from 'node:fs';
import path from 'node:path';
import { runMain, UsageError } from '../common/cli.js';
import { systemClock } from '../common/clock.js';
import type { PancakeEvent } from '../common/events.js';
import type { AccessUnit } from '../common/h264/annexb.js';
import type { SpsInfo } from '../common/h264/sps.js';
import { createLogger } from '../common/log.js';
import { startBufferSweeps } from '../common/memory.js';
import { isLegacyHash, readPasswordFile } from '../common/password.js';
import { STATIC_DIR, TEMPLATES_DIR, TESTCARD_FPS, TESTCARD_PATH } from '../common/paths.js';
import { LiveServer } from './web/server.js';
import { FileLoopSource } from './camera/file-source.js';
import { annotateConfig, buildRpicamArgs } from './camera/rpicam.js';
import { RpicamSource } from './camera/rpicam-source.js';
import { findCameraTool, pickEncoder } from './camera/select.js';
import type { SourceFactory } from './camera/source.js';
import { CameraSupervisor } from './camera/supervisor.js';
import { EventLink } from './events/link.js';
import { Outbox, type NewEvent } from './events/outbox.js';
import { parsePancakeArgs } from './options.js';
import { findOnPath } from '../common/find-on-path.js';
import { FrameDecoder } from './decode/frame-decoder.js';
import { Detector } from './detect/detector.js';
import { HookError } from './detect/hook.js';
import { DetectionMonitor } from './detect/monitor.js';
import { createDetectionRecorder } from './record/detection.js';
import { ContinuousRecorder, type FinishedRecording } from './record/continuous.js';
import { RecordingJournal } from './record/journal.js';
import type { PancakeStatus } from './status.js';

await runMain('pancake', async () => {
  const config = parsePancakeArgs(process.argv.slice(2));
  const clock = systemClock;

  // The camera tool is looked for before anything is created, so a missing camera leaves no trace.
  let cameraTool: string | undefined;
  if (config.camera.kind === 'auto') {
    cameraTool = findCameraTool();
    if (!cameraTool) throw new UsageError('no camera tool found (rpicam-vid, libcamera-vid); without a Pi camera try --camera test', 2);
  }

  // detect(frame) needs ffmpeg to decode pictures: say so now, not when the first frame is due.
  if (config.detect?.mode === 'image' && !findOnPath('ffmpeg')) {
    throw new UsageError('--detect image: ffmpeg decodes the frames for detect(frame) and is not on PATH; install it: sudo apt install ffmpeg');
  }

  // The live view's password hash and TLS files are read now, so a bad one stops pancake before it starts anything.
  let passwordHash: string | undefined;
  if (config.login) {
    try {
      passwordHash = await readPasswordFile(config.login);
    } catch (err) {
      if (err instanceof UsageError) throw new UsageError(`--login: ${err.message}`);
      throw err;
    }
  }
  const tls = config.tls ? { cert: fs.readFileSync(config.tls.cert), key: fs.readFileSync(config.tls.key) } : undefined;

  const logger = createLogger({ program: 'pancake', file: config.log });
  const stopSweeps = startBufferSweeps();
  if (passwordHash && isLegacyHash(passwordHash)) {
    logger.warn(`--login: ${config.login} holds an unsalted SHA-512 hash from the original set_password.py; it works, but make a salted one with: pancake-set-password ${config.login}`);
  }
  fs.mkdirSync(config.stateDir, { recursive: true });

  // Events: durable outbox first, delivery to postproc whenever it is reachable.
  const outbox = config.emit ? new Outbox(path.join(config.stateDir, 'outbox'), logger) : undefined;
  const link = config.emit && outbox ? new EventLink({ socketName: config.emit, outbox, clock, logger }) : undefined;
  const emit = (event: NewEvent, id?: string): void => {
    if (!outbox) return;
    const stored: PancakeEvent = outbox.add(event, id);
    logger.info(`event: ${JSON.stringify(stored)}`);
    link?.flush();
  };
  const announce = (rec: FinishedRecording | (Omit<FinishedRecording, 'frames' | 'bytes'>)): void =>
    emit({
      h264: rec.path, fps: rec.fps, width: rec.width, height: rec.height, rotation: rec.rotation,
      start: new Date(rec.start).toISOString(), end: new Date(rec.end).toISOString(),
      ...(rec.detection === undefined ? {} : { detection: rec.detection }),
    });

  // Files a crash left open are finished now (Annex B is playable up to its last whole frame) and announced.
  const journal = new RecordingJournal(path.join(config.stateDir, 'recording'));
  for (const left of journal.leftovers()) {
    const stat = fs.statSync(left.path, { throwIfNoEntry: false });
    if (stat && stat.size > 0) {
      logger.warn(`record: ${left.path} was left open by a previous run; announcing it as finished`);
      announce({ ...left, end: stat.mtimeMs });
    }
    journal.closed(left.path);
  }

  const fps = config.camera.kind === 'test' ? TESTCARD_FPS : config.fps;
  const recorder = config.recordContinuous
    ? new ContinuousRecorder({
        dir: config.recordContinuous, segmentMinutes: config.segmentMinutes, fps, rotation: config.rotation,
        clock, logger, journal,
        onFinished: announce,
        onStorage: (state, reason, file) => emit({ storage: state, reason, ...(file ? { path: file } : {}), time: new Date(clock.now()).toISOString() }),
      })
    : undefined;

  // Pictures are decoded only while someone subscribes (detect(frame), the live view's JPEG fallback).
  const decoder = new FrameDecoder({ clock, logger });
  // Detection: detect() from customize.ts in a worker; its answers drive detection recording, or only events.
  const detect = config.detect;
  const detectionRecorder = detect && config.recordDetection
    ? createDetectionRecorder(config.recordDetection.mode, {
        dir: config.recordDetection.dir, fps, rotation: config.rotation, clock, logger, journal,
        onFinished: announce,
        onDetectionEnd: (wall) => emit({ detection: false, time: new Date(wall).toISOString() }),
      })
    : undefined;
  const monitor = detect && !config.recordDetection
    ? new DetectionMonitor({ clock, logger, onEdge: (state, wall) => emit({ detection: state, time: new Date(wall).toISOString() }) })
    : undefined;
  const detectIntervalMs = (detect?.intervalSeconds ?? 1 / fps) * 1000;
  const detector = detect
    ? new Detector({
        file: detect.customize, mode: detect.mode, intervalMs: detectIntervalMs, clock, logger,
        // Keyframes only (one a second) when detect() is called at most once a second: far cheaper to decode.
        frames: detect.mode === 'image'
          ? (onFrame) => decoder.subscribe({ width: detect.width, height: detect.height, keyframesOnly: detectIntervalMs >= 1000, onFrame })
          : undefined,
        onDetection: (state) => {
          status.detection = state;
          detectionRecorder?.setDetection(state);
          monitor?.setDetection(state);
        },
      })
    : undefined;

  let factory: SourceFactory;
  if (config.camera.kind === 'auto') {
    const tool = cameraTool!;
    const encoder = pickEncoder(config.encoder);
    const annotateFile = path.join(config.stateDir, 'annotate.json');
    let annotate = true;
    try {
      fs.writeFileSync(annotateFile, JSON.stringify(annotateConfig(config.annotateTextSize), null, 2));
    } catch (err) {
      // A full disk must not keep the camera from starting: run without the date/time overlay.
      logger.warn(`camera: cannot write ${annotateFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); no date/time overlay this run`);
      annotate = false;
    }
    logger.info(`camera: ${tool}, ${config.streamWidth}x${config.streamHeight} at ${config.fps} fps, ${encoder} H.264 encoder`);
    factory = () =>
      new RpicamSource({
        tool, logger,
        args: buildRpicamArgs({
          width: config.streamWidth, height: config.streamHeight, fps: config.fps, vflip: config.vflip, hflip: config.hflip,
          rotation: config.rotation, encoder, postProcessFile: annotate ? annotateFile : undefined,
        }),
        onMissingAnnotateStage: () => {
          annotate = false;
          logger.warn('camera: this rpicam-apps has no annotate_cv stage (e.g. rpicam-apps-lite), so there is no date/time overlay; install rpicam-apps for it');
        },
      });
  } else {
    const file = config.camera.kind === 'test' ? TESTCARD_PATH : config.camera.path;
    const description = config.camera.kind === 'test' ? 'built-in test card' : `file ${file}`;
    logger.info(`camera: ${description} looped at ${fps} fps`);
    factory = () => new FileLoopSource(file, fps, clock, description);
  }

  // The hub: every access unit of the one camera stream goes to each consumer, in this order.
  const status: PancakeStatus = {
    camera: 'starting',
    rotation: config.rotation,
    get recording() {
      return Boolean(recorder?.recording || detectionRecorder?.recording);
    },
  };
  const consumers: ((unit: AccessUnit, sps: SpsInfo | undefined) => void)[] = [];
  if (recorder) consumers.push((unit, sps) => recorder.push(unit, sps));
  if (detectionRecorder) consumers.push((unit, sps) => detectionRecorder.push(unit, sps));
  consumers.push((unit) => decoder.push(unit));

  // The live view: H.264 to browsers that decode it themselves; JPEG pictures from the shared decoder otherwise.
  const web = new LiveServer({
    host: config.host, port: config.port, tls, passwordHash, templatesDir: TEMPLATES_DIR, staticDir: STATIC_DIR, status,
    width: config.width, height: config.height, maxStreamFps: config.maxStreamFps, pictures: decoder, clock, logger,
  });
  consumers.push((unit, sps) => web.push(unit, sps));

  const supervisor = new CameraSupervisor({
    factory, clock, logger,
    onAccessUnit: (unit, sps) => {
      status.camera = 'up';
      for (const consume of consumers) consume(unit, sps);
    },
    onDown: (reason) => {
      status.camera = 'down';
      status.cameraReason = reason;
      void recorder?.finishCurrent();
      detectionRecorder?.cameraDown();
      emit({ camera: 'down', reason, time: new Date(clock.now()).toISOString() });
    },
    onUp: () => emit({ camera: 'up', time: new Date(clock.now()).toISOString() }),
    onEarlyUnit: (data, keyframe, wall) => web.h264.pushEarly(data, keyframe, wall),
    wantEarly: () => web.h264.viewerCount > 0,
  });

  // customize.ts is loaded (in the detect worker) before the camera starts: a broken file exits 3 here.
  await detector?.start().catch((err: unknown) => {
    throw err instanceof HookError ? new UsageError(`${detect!.customize}: ${err.message}`) : err;
  });
  link?.start();
  try {
    await web.start();
  } catch (err) {
    // The detect worker and a decoder child would keep the process alive after the error.
    await detector?.close();
    await decoder.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new UsageError(`--port: cannot listen on ${config.host ?? '*'}:${config.port} (${code})`, 2);
    }
    throw err;
  }
  supervisor.start();
  logger.info(`pancake started${config.recordContinuous ? `, recording into ${config.recordContinuous}` : ''}${config.emit ? `, events to @${config.emit}` : ''}`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  logger.info(`${signal}: finishing recordings and stopping`);
  // Close in reverse order: camera, then files (their events go to the outbox), then a short wait for acks.
  await web.close();
  await supervisor.close();
  await detector?.close();
  monitor?.close();
  await decoder.close();
  await recorder?.close();
  await detectionRecorder?.close();
  if (link) {
    const delivered = await link.drain(2000);
    if (!delivered) logger.warn(`events: ${outbox!.pending().length} event(s) not acknowledged yet; they stay in the outbox and are sent on the next start`);
    link.close();
  }
  stopSweeps();
  logger.info('pancake stopped');
  // winston writes asynchronously; give the transport a moment before the process ends.
  await new Promise<void>((resolve) => logger.on('finish', resolve).end());
  return 0;
});
