// postproc's work: each accepted event becomes a durable job — convert, hand to uploads, notify.
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../common/clock.js';
import { cameraNameError } from '../common/camera-name.js';
import type { ReceivedEvent, Rotation, TimingRun } from '../common/events.js';
import type { Logger } from '../common/log.js';
import { averageFps } from '../common/mp4/timing.js';
import type { Journal, JournalEntry } from './journal.js';
import type { Mp4Sources, Recording } from './mp4-sources.js';
import type { Notification } from './telegram.js';

/**
 * A job as the journal keeps it. A file job has the camera's name when the event had one, and the
 * event's `frames` and `timing` when it had them (and no --convert fps overrides them).
 */
export type Job =
  | { kind: 'file'; h264: string; mp4: string; fps: number; rotation: Rotation; detection?: boolean; camera?: string; frames?: number; timing?: TimingRun[] }
  | { kind: 'message'; text: string };

/** What a conversion reports, when it reports anything (frames written, things worth a warning). */
export interface ConvertReport {
  frames?: number;
  warnings?: string[];
}

/**
 * Converts one file; rejects on failure (with the tool's `output` when there is one) or when `signal` aborts.
 * `timing`, when given, is each frame's real duration (runs `[count, durationMs]`); `fps` is then its average.
 * The finished MP4, complete under a temporary name beside `output`, must be handed to `place`, which
 * alone puts it at `output` (or refuses with an Mp4TakenError, when `output` is another recording's MP4).
 */
export type ConvertFunction = (
  input: string,
  output: string,
  options: { fps: number; rotation: Rotation; timing?: readonly TimingRun[]; signal: AbortSignal; place: (tmp: string) => Promise<void> },
) => Promise<ConvertReport | void>;

export interface PipelineOptions {
  journal: Journal<Job>;
  mp4Dir: string;
  /** `--convert mp4_dir fps`: used instead of the event's fps and timing. */
  fps?: number;
  convert: ConvertFunction;
  /** Which recording made each MP4; decides whether an MP4 may be written or replaced. */
  sources: Mp4Sources;
  /**
   * `--accept-dir`: real paths of the folders pancake records into. When given, only recordings
   * directly in one of them (their real path's folder) are converted.
   */
  acceptDirs?: readonly string[];
  /** The upload queue (absent without upload destinations); `camera` puts the file in the camera's remote folder. */
  uploads?: { enqueue(mp4Path: string, camera?: string): Promise<void> };
  /** Counts conversions for `--upload-after-convert`. */
  trigger?: { converted(): void };
  /** Telegram (absent without --notify-telegram); resolves once a notification is settled (sent, given up, dropped). */
  notifier?: { send(notification: Notification): Promise<void> };
  clock: Clock;
  logger: Logger;
}

/** "Detection changed to True", plus sentences, as the original wrote it (Python's True/False). */
export function detectionText(detection: boolean, ...sentences: string[]): string {
  return [`Detection changed to ${detection ? 'True' : 'False'}`, ...sentences].join('. ');
}

/** A message about a named camera says which one: "front: Camera down"; unchanged without a name. */
export function cameraText(camera: string | undefined, text: string): string {
  return camera === undefined ? text : `${camera}: ${text}`;
}

/** The Telegram text for a camera, storage or detection event, with the camera's name when it has one. */
export function healthText(event: ReceivedEvent): string {
  switch (event.kind) {
    case 'camera':
      return cameraText(event.name, event.camera === 'down' ? `Camera down${event.reason ? `: ${event.reason}` : ''}` : 'Camera up again');
    case 'storage':
      return cameraText(event.name, event.storage === 'error'
        ? `Storage error${event.reason ? `: ${event.reason}` : ''}${event.path ? ` (${event.path})` : ''}`
        : 'Storage OK again');
    case 'detection':
      return cameraText(event.name, detectionText(event.detection));
    case 'file':
      return '';
  }
}

/**
 * The MP4 for a recording: `mp4_dir/<name>.mp4`, as the original named it, or
 * `mp4_dir/<camera>/<name>.mp4` for a named camera, so cameras with the same file names never
 * meet. `camera` must be a valid camera name (camera-name.ts: one plain path component).
 */
export function mp4PathFor(mp4Dir: string, h264: string, camera?: string): string {
  const file = `${path.basename(h264, '.h264')}.mp4`;
  if (camera === undefined) return path.join(mp4Dir, file);
  const error = cameraNameError(camera);
  if (error !== undefined) throw new Error(error);
  return path.join(mp4Dir, camera, file);
}

/**
 * Makes the camera's folder of `mp4` (`mp4_dir/<camera>`) when it is missing, and checks that it is
 * a real folder, not a symbolic link that would lead the MP4 out of mp4_dir. Returns why not, or undefined.
 */
export async function prepareCameraFolder(mp4: string): Promise<string | undefined> {
  const dir = path.dirname(mp4);
  try {
    await fs.promises.mkdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return `cannot make the camera folder ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  const stat = await fs.promises.lstat(dir).catch(() => undefined);
  if (!stat) return `the camera folder ${dir} cannot be read`;
  if (stat.isSymbolicLink()) return `the camera folder ${dir} is a symbolic link; MP4s are written only into real folders inside mp4_dir`;
  if (!stat.isDirectory()) return `the camera folder ${dir} is not a folder`;
  return undefined;
}

/**
 * Why `real` (a recording's real path) is not to be converted under `--accept-dir`, or undefined
 * when it is: its folder must be one of `acceptDirs` (real paths) itself. Directly in, not beneath:
 * pancake writes its files directly in its --record-continuous / --record-detection folders.
 */
export function acceptDirError(file: string, real: string, acceptDirs: readonly string[] | undefined): string | undefined {
  if (acceptDirs === undefined || acceptDirs.length === 0 || acceptDirs.includes(path.dirname(real))) return undefined;
  return `not directly in a folder given with --accept-dir (${acceptDirs.join(', ')})${real === file ? '' : `: its real path is ${real}`}`;
}

/**
 * Whether `file` may be acted on: an absolute path, named *.h264, that is its own real path
 * (no symbolic link anywhere in it, no "..") and is a regular file — and, when `acceptDirs` are
 * given (--accept-dir), whose real path is directly in one of them. Anyone on the machine can
 * send events, so this is checked on receipt and again before converting.
 * Returns the file's facts (lstat, real path), or why not.
 */
export async function checkRecording(file: string, acceptDirs?: readonly string[]): Promise<{ stat: fs.Stats; real: string } | { error: string }> {
  if (!path.isAbsolute(file)) return { error: 'not an absolute path' };
  if (!file.endsWith('.h264') || path.basename(file) === '.h264') return { error: 'not named *.h264' };
  let stat: fs.Stats;
  try {
    stat = await fs.promises.lstat(file);
  } catch (err) {
    return { error: `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  let real: string;
  try {
    real = await fs.promises.realpath(file);
  } catch (err) {
    if (stat.isSymbolicLink()) return { error: 'a symbolic link' };
    return { error: `cannot be resolved (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  // First, so a link or a ".." that leads out of the accepted folders is refused as that.
  const outside = acceptDirError(file, real, acceptDirs);
  if (outside !== undefined) return { error: outside };
  if (stat.isSymbolicLink()) return { error: 'a symbolic link' };
  if (!stat.isFile()) return { error: stat.isDirectory() ? 'a directory, not a regular file' : 'not a regular file' };
  if (real !== file) return { error: `not its own real path (it is ${real})` };
  return { stat, real };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The last lines of a tool's output, for a log line. */
function tail(output: string, lines = 20): string {
  return output.split(/\r?\n/).filter((l) => l.trim() !== '').slice(-lines).join('\n');
}

/**
 * Turns events into durable jobs and works them off.
 *
 * An event is acknowledged once `receive` resolved, which is after the job was written to the
 * journal; every later step is recorded there too (converted/failed, queued for upload,
 * notified), so after a crash `start` resumes each job at the step it had reached. Conversions
 * run one at a time, in arrival order (a Pi has few cores); messages without a file skip that
 * line and go straight to Telegram.
 *
 * Ids: an event's own id is what makes it happen once; a repeated id is acknowledged again and
 * otherwise ignored. An event without an id (a script written for the original) gets no ack —
 * there is nothing to acknowledge — but is still handled: a file event is identified by the
 * file (path, inode, size, modification time), so the same finished file sent twice is
 * converted once; other events without an id are each new.
 *
 * An MP4 reaches its path only through `sources` (mp4-sources.ts): one made from another recording,
 * or one postproc has no record of, is never replaced. Such an event, or one outside --accept-dir, is
 * refused on receipt (logged, acknowledged, no job); a clash that arises later fails the job instead.
 */
export class Pipeline {
  private readonly lane: string[] = []; // ids of file jobs waiting for the converter
  private worker: Promise<void> | undefined;
  private readonly notifying = new Set<string>();
  private readonly abort = new AbortController();
  private started = false;
  private closed = false;

  constructor(private readonly options: PipelineOptions) {}

  /**
   * Starts working: on the jobs a previous run left unfinished and those received since the
   * pipeline was built (the socket is bound before the uploads start, as the original bound first).
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    const left = this.options.journal.unfinished();
    if (left.length > 0) this.options.logger.info(`${left.length} unfinished job(s) to do, e.g. from before a restart`);
    for (const entry of left) this.schedule(entry);
  }

  /** Validates and records one event; resolves with the id to acknowledge once it is durable. */
  async receive(event: ReceivedEvent, from = 'event'): Promise<string | undefined> {
    const { journal, logger } = this.options;
    if (this.closed) throw new Error('postproc is stopping');
    if (event.id !== undefined && journal.has(event.id)) {
      logger.info(`${from}: id ${event.id} was received before; acknowledged again, nothing done twice`);
      return event.id;
    }
    const admitted = await this.admit(event);
    if ('error' in admitted) {
      // Final: sending it again would not change the answer, so it is acknowledged.
      logger.warn(`${from}: rejected ${event.id === undefined ? 'event' : `event ${event.id}`}: ${admitted.error}`);
      return event.id;
    }
    const { id, job } = admitted;
    if (!(await journal.accept(id, job))) {
      logger.info(`${from}: ${event.id === undefined ? `${job.kind === 'file' ? job.h264 : 'event'} (no id)` : `id ${id}`} was received before; nothing done twice`);
      return event.id;
    }
    logger.info(`${from}: accepted ${describeJob(id, job)}`);
    this.schedule(journal.get(id)!);
    return event.id;
  }

  /** Stops: aborts the conversion in progress (it is redone on the next start) and waits for the worker; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    await this.worker;
  }

  private async admit(event: ReceivedEvent): Promise<{ id: string; job: Job } | { error: string }> {
    if (event.kind !== 'file') {
      return { id: event.id ?? `noid-${randomUUID()}`, job: { kind: 'message', text: healthText(event) } };
    }
    const { acceptDirs, sources } = this.options;
    const check = await checkRecording(event.h264, acceptDirs);
    if ('error' in check) return { error: `h264 ${JSON.stringify(event.h264)}: ${check.error}` };
    const nameError = event.name === undefined ? undefined : cameraNameError(event.name);
    if (nameError !== undefined) return { error: `"name": ${nameError}` };
    // A --convert fps overrides everything the event says about time, as it always overrode the fps.
    const timing = this.options.fps === undefined ? event.timing : undefined;
    const fps = this.options.fps ?? event.fps ?? (timing ? averageFps(timing) : undefined);
    if (fps === undefined) return { error: `${event.h264}: no fps in the event; give one with --convert mp4_dir fps` };
    const job: Job = { kind: 'file', h264: event.h264, mp4: mp4PathFor(this.options.mp4Dir, event.h264, event.name), fps, rotation: event.rotation ?? 0 };
    // Refused now when the MP4's name is taken (another recording's MP4, or one of unknown origin),
    // and checked again when converting and when putting it in place, as it may be taken by then.
    const verdict = await sources.check(job.mp4, { h264: check.real, size: check.stat.size });
    if (!verdict.ok) return { error: `h264 ${JSON.stringify(event.h264)}: not converted: ${verdict.reason}` };
    if (event.detection !== undefined) job.detection = event.detection;
    if (event.name !== undefined) job.camera = event.name;
    if (timing) {
      if (event.frames !== undefined) job.frames = event.frames;
      job.timing = timing;
    }
    const { stat } = check;
    const id = event.id ?? `noid-${createHash('sha256').update(JSON.stringify([event.h264, stat.ino, stat.size, stat.mtimeMs])).digest('hex').slice(0, 32)}`;
    return { id, job };
  }

  private schedule(entry: JournalEntry<Job>): void {
    if (this.closed || !this.started) return; // start() picks it up from the journal
    if (entry.job.kind === 'file' && !('converted' in entry.steps || 'failed' in entry.steps)) {
      this.lane.push(entry.id);
      this.worker ??= this.work();
      return;
    }
    void this.advance(entry);
  }

  private async work(): Promise<void> {
    while (this.lane.length > 0 && !this.closed) {
      const entry = this.options.journal.get(this.lane.shift()!);
      if (!entry) continue;
      try {
        await this.convertStep(entry);
        if (this.closed) break;
        await this.advance(entry);
      } catch (err) {
        if (!this.closed) this.options.logger.error(`job ${entry.id}: ${(err as Error).message}; it is retried at the next start`);
      }
    }
    this.worker = undefined;
  }

  /** Converts, retrying once; records the outcome. */
  private async convertStep(entry: JournalEntry<Job>): Promise<void> {
    const job = entry.job;
    if (job.kind !== 'file' || 'converted' in entry.steps || 'failed' in entry.steps) return;
    const { convert, clock, logger, journal, sources, acceptDirs } = this.options;
    let lastError = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      const check = await checkRecording(job.h264, acceptDirs);
      if ('error' in check) {
        lastError = `${job.h264} is ${check.error}`;
        logger.warn(`conversion of ${job.h264} not attempted: it is ${check.error}`);
        break;
      }
      if (job.camera !== undefined) {
        const problem = await prepareCameraFolder(job.mp4);
        if (problem !== undefined) {
          lastError = problem;
          logger.warn(`conversion of ${job.h264} not attempted: ${problem}`);
          break;
        }
      }
      const source: Recording = { h264: check.real, size: check.stat.size };
      const verdict = await sources.check(job.mp4, source);
      if (!verdict.ok) {
        lastError = verdict.reason;
        logger.warn(`conversion of ${job.h264} not attempted: ${verdict.reason}`);
        break;
      }
      // Stopping while the checks ran: the conversion is done at the next start instead.
      if (this.abort.signal.aborted) return;
      const started = clock.monotonic();
      let report: ConvertReport | void;
      try {
        report = await convert(job.h264, job.mp4, {
          fps: job.fps, rotation: job.rotation, ...(job.timing ? { timing: job.timing } : {}), signal: this.abort.signal,
          place: (tmp) => sources.place(tmp, job.mp4, source),
        });
      } catch (err) {
        if (this.abort.signal.aborted) {
          logger.info(`conversion of ${job.h264} stopped (postproc is stopping); it is redone at the next start`);
          return;
        }
        if ((err as { code?: unknown }).code === 'MP4_TAKEN') {
          // Taken while converting: final, as a second attempt would find it taken too.
          lastError = (err as Error).message;
          logger.warn(`conversion of ${job.h264} → ${job.mp4} not put in place: ${lastError}`);
          break;
        }
        const output = (err as { output?: unknown }).output;
        lastError = (err as Error).message;
        logger.warn(`conversion of ${job.h264} → ${job.mp4} failed (attempt ${attempt} of 2, after ${seconds(clock.monotonic() - started)}): ${lastError}` +
          (typeof output === 'string' && output.trim() !== '' ? `\n${tail(output)}` : ''));
        continue;
      }
      const size = await fs.promises.stat(job.mp4).then((s) => s.size, () => 0);
      const frames = report?.frames === undefined ? '' : `${report.frames} frames, `;
      logger.info(`converted ${job.h264} → ${job.mp4} (${frames}${rateText(job)}${job.rotation ? `, rotation ${job.rotation}` : ''}, ${megabytes(size)}) in ${seconds(clock.monotonic() - started)}`);
      for (const warning of report?.warnings ?? []) logger.warn(`${job.h264}: ${warning}`);
      await journal.step(entry.id, 'converted', job.mp4);
      return;
    }
    logger.error(`conversion of ${job.h264} failed; the .h264 is kept`);
    await journal.step(entry.id, 'failed', lastError);
  }

  /** Does every step after the conversion that is still missing, and finishes the job when all are done. */
  private async advance(entry: JournalEntry<Job>): Promise<void> {
    const { uploads, trigger, journal, logger } = this.options;
    const { job, steps } = entry;
    try {
      if (job.kind === 'file' && 'converted' in steps && uploads && !('queued' in steps)) {
        try {
          await uploads.enqueue(job.mp4, job.camera);
          trigger?.converted();
          await journal.step(entry.id, 'queued');
        } catch (err) {
          // A name without a date has no YYYY/MM/DD folder; the original skipped such files too.
          if ((err as { code?: string }).code !== 'UPLOAD_BAD_NAME') throw err;
          logger.warn(`${job.mp4} is not uploaded: ${(err as Error).message}`);
          await journal.step(entry.id, 'queued', 'skipped');
        }
      }
      this.notify(entry);
      await this.finishIfComplete(entry);
    } catch (err) {
      if (!this.closed) logger.error(`job ${entry.id}: ${(err as Error).message}; it is retried at the next start`);
    }
  }

  /** What Telegram is told about a job, if anything. */
  private notificationFor(entry: JournalEntry<Job>): Notification | undefined {
    const { job, steps } = entry;
    if (job.kind === 'message') return { text: job.text };
    if ('failed' in steps) {
      return job.detection === undefined
        ? { text: cameraText(job.camera, `MP4 conversion failed: ${path.basename(job.h264)}`) }
        : { text: cameraText(job.camera, detectionText(job.detection, 'MP4 conversion failed.')) };
    }
    if ('converted' in steps && job.detection !== undefined) return { text: cameraText(job.camera, detectionText(job.detection)), video: job.mp4 };
    return undefined;
  }

  private notify(entry: JournalEntry<Job>): void {
    const { notifier, journal, logger } = this.options;
    const notification = this.notificationFor(entry);
    if (!notifier || !notification || 'notified' in entry.steps || this.notifying.has(entry.id)) return;
    this.notifying.add(entry.id);
    notifier.send(notification)
      .then(async () => {
        await journal.step(entry.id, 'notified');
        await this.finishIfComplete(entry);
      })
      .catch((err: Error) => {
        // Not recorded as notified: the next start sends it again.
        if (!this.closed) logger.error(`job ${entry.id}: notification not recorded: ${err.message}`);
      })
      .finally(() => this.notifying.delete(entry.id));
  }

  private async finishIfComplete(entry: JournalEntry<Job>): Promise<void> {
    const { job, steps } = entry;
    if (job.kind === 'file') {
      if (!('converted' in steps) && !('failed' in steps)) return;
      if ('converted' in steps && this.options.uploads && !('queued' in steps)) return;
    }
    if (this.options.notifier && this.notificationFor(entry) && !('notified' in steps)) return;
    if (!this.options.journal.get(entry.id)) return;
    await this.options.journal.finish(entry.id);
  }
}

/** "12 fps", or "variable timing, 2 runs, 11.93 fps on average". */
function rateText(job: Job & { kind: 'file' }): string {
  if (!job.timing) return `${job.fps} fps`;
  return `variable timing, ${job.timing.length} run${job.timing.length === 1 ? '' : 's'}, ${Number(job.fps.toFixed(3))} fps on average`;
}

function describeJob(id: string, job: Job): string {
  if (job.kind === 'message') return `${id}: ${job.text}`;
  const detection = job.detection === undefined ? '' : `, detection ${job.detection}`;
  const camera = job.camera === undefined ? '' : `camera ${job.camera}: `;
  return `${id}: ${camera}${job.h264} (${rateText(job)}${job.rotation ? `, rotation ${job.rotation}` : ''}${detection}) → ${job.mp4}`;
}
