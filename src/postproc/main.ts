#!/usr/bin/env node
// postproc: receives pancake's events, converts .h264 to .mp4, uploads, notifies over Telegram and webhooks, watches health.
import fs from 'node:fs';
import path from 'node:path';
import { runMain } from '../common/cli.js';
import { systemClock } from '../common/clock.js';
import { createLogger } from '../common/log.js';
import { describeAlerts, HealthMonitor, type Alert } from './alerts/health.js';
import { checkIntervalMs, HealthWatch } from './alerts/watch.js';
import { WebhookNotifier } from './alerts/webhook.js';
import { convertFile, resolveConverter } from './convert/index.js';
import { Journal } from './journal.js';
import { Mp4Sources } from './mp4-sources.js';
import { parsePostprocArgs } from './options.js';
import { Pipeline, type Job } from './pipeline.js';
import { EventReceiver } from './receiver.js';
import { TelegramNotifier } from './telegram.js';
import { describeDestination } from './upload/destination.js';
import { UploadQueue } from './upload/queue.js';
import { UploadTrigger } from './upload/trigger.js';

await runMain('postproc', async () => {
  // 1. Flags, validated (exit 2/3 with one line), secrets resolved, the converter found.
  const options = parsePostprocArgs(process.argv.slice(2));
  const converter = resolveConverter(options.converter);
  const clock = systemClock;
  const logger = createLogger({ program: 'postproc', ...(options.log ? { file: options.log } : {}) });

  // 2. Components, each with only its own settings.
  if (options.stateDirIsDefault) await fs.promises.mkdir(options.stateDir, { recursive: true });
  const journal = await Journal.open<Job>({ dir: options.stateDir, logger });
  const sources = await Mp4Sources.open({ dir: options.stateDir, logger });
  const notifier = options.telegram.length > 0
    ? new TelegramNotifier({
        destinations: options.telegram, apiRoot: options.telegramApiRoot, queueSize: options.notifyQueueSize,
        tmpDir: path.join(options.stateDir, 'tmp'), clock, logger,
      })
    : undefined;
  const webhooks = options.webhooks.length > 0 ? new WebhookNotifier({ urls: options.webhooks, clock, logger }) : undefined;
  // An alert is said in the log, over Telegram (not journaled: a restart watches afresh) and to every webhook.
  const alert = (a: Alert, telegram = true): void => {
    logger.warn(`alert (${a.kind} ${a.state}): ${a.text}`);
    if (telegram) notifier?.send({ text: a.text }).catch(() => {});
    webhooks?.send(a);
  };
  const monitor = new HealthMonitor({ settings: options.alerts, clock, onAlert: (a) => alert(a) });
  const uploads = options.destinations.length > 0
    ? new UploadQueue({
        stateDir: options.stateDir, destinations: options.destinations, clock, logger, maxInMemory: options.uploadQueueSize,
        onProblem: (p) => {
          // A refused host key or S3 key/bucket is said at once; anything else after a few failures.
          const text = p.kind === 'failing' ? `Upload to ${p.destination} failing: ${p.message}` : `Upload to ${p.destination} refused: ${p.message}`;
          alert({ camera: null, kind: 'upload-error', state: 'raised', text, time: new Date(clock.now()).toISOString() });
        },
      })
    : undefined;
  const trigger = uploads
    ? new UploadTrigger({
        ...(options.uploadAfterConvert !== undefined ? { afterConvert: options.uploadAfterConvert } : {}),
        ...(options.uploadMinutes !== undefined ? { minutes: options.uploadMinutes } : {}),
        clock, logger, fire: () => uploads.runNow(),
      })
    : undefined;
  const pipeline = new Pipeline({
    journal, sources, mp4Dir: options.mp4Dir, ...(options.fps !== undefined ? { fps: options.fps } : {}),
    ...(options.acceptDirs ? { acceptDirs: options.acceptDirs } : {}),
    convert: (input, output, o) => convertFile(converter, input, output, o),
    ...(uploads ? { uploads } : {}), ...(trigger ? { trigger } : {}), ...(notifier ? { notifier } : {}),
    clock, logger,
  });
  const watch = new HealthWatch({
    monitor, clock, logger, dirs: [options.mp4Dir, ...(options.acceptDirs ?? [])], learnRecordingDirs: !options.acceptDirs,
    ...(uploads ? { backlog: () => uploads.backlog() } : {}),
    intervalMs: checkIntervalMs(monitor.shortestThresholdMs()),
  });
  const receiver = new EventReceiver({
    socketName: options.socketName, logger,
    onHeartbeat: (heartbeat) => monitor.heard(heartbeat.name),
    handle: async (event, from) => {
      monitor.heard(event.name);
      if (event.kind === 'camera') {
        // Camera and storage events reach Telegram through the pipeline (journaled), webhooks from here.
        const { pass, alert: passOn } = monitor.cameraEvent(event);
        if (passOn) alert(passOn, false);
        if (!pass) {
          logger.info(`${from}: camera ${event.camera} not notified one by one: the camera is unstable`);
          return event.id;
        }
      } else if (event.kind === 'storage') {
        const passOn = monitor.storageEvent(event);
        if (passOn) alert(passOn, false);
      }
      const ack = await pipeline.receive(event, from);
      if (event.kind === 'file') {
        monitor.recording(event);
        watch.noteRecording(event.h264);
      }
      return ack;
    },
  });

  // 3. Bind first (a name in use stops everything, exit 2), then start working.
  try {
    await receiver.start();
  } catch (err) {
    await sources.close();
    await journal.close();
    throw err;
  }
  notifier?.start();
  await uploads?.start();
  trigger?.start();
  pipeline.start();
  watch.start();
  logger.info([
    `started: ${converter} converts into ${options.mp4Dir} at ${options.fps !== undefined ? `${options.fps} fps` : 'the frame timing (or fps) of each event'}`,
    options.destinations.length > 0 ? `uploads to ${options.destinations.map(describeDestination).join(', ')}` : 'no uploads',
    options.telegram.length > 0 ? `Telegram to chat(s) ${options.telegram.map((t) => t.chatId).join(', ')}` : 'no Telegram',
    webhooks ? `webhooks to ${webhooks.shownUrls.join(', ')}` : 'no webhooks',
    describeAlerts(options.alerts),
    options.acceptDirs ? `recordings only from ${options.acceptDirs.join(', ')}` : 'recordings from any folder (no --accept-dir)',
    `state in ${options.stateDir}`,
  ].join('; '));

  // 4. Wait for a signal; a second one while stopping ends at once.
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  logger.info(`${signal}: stopping; unfinished work is resumed at the next start`);
  const again = (): void => {
    logger.warn('second signal: exiting without finishing');
    process.exit(1);
  };
  process.once('SIGINT', again);
  process.once('SIGTERM', again);

  // 5. Close in reverse order.
  await receiver.close();
  await watch.close();
  await pipeline.close();
  trigger?.close();
  await uploads?.close();
  await notifier?.close();
  await webhooks?.close();
  await sources.close();
  await journal.close();
  logger.info('stopped');
  await new Promise<void>((resolve) => {
    logger.on('finish', () => resolve());
    logger.end();
  });
  process.removeListener('SIGINT', again);
  process.removeListener('SIGTERM', again);
  return 0;
});
