// pancake's events: each one durably into the outbox, then to postproc over the link; crash leftovers announced.
import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../common/clock.js';
import type { PancakeEvent } from '../../common/events.js';
import type { Logger } from '../../common/log.js';
import type { FinishedRecording } from '../record/recording-file.js';
import type { RecordingJournal } from '../record/journal.js';
import { EventLink } from './link.js';
import { Outbox, type NewEvent } from './outbox.js';

export interface EventSenderOptions {
  /** --emit: postproc's socket name; without it events are only logged. */
  socketName?: string;
  stateDir: string;
  /** --name: put into every event. */
  cameraName?: string;
  clock: Clock;
  logger: Logger;
}

type Untagged<E> = E extends unknown ? Omit<E, 'name'> : never;
/** An event as the parts of pancake make it: no id, no camera name (the sender adds both). */
export type OutgoingEvent = Untagged<NewEvent>;

/** Every event pancake sends: camera health, storage, detection edges, finished recordings. */
export class EventSender {
  private readonly outbox: Outbox | undefined;
  private readonly link: EventLink | undefined;

  constructor(private readonly options: EventSenderOptions) {
    const { socketName, stateDir, clock, logger } = options;
    if (socketName === undefined) return;
    this.outbox = new Outbox(path.join(stateDir, 'outbox'), logger);
    // The camera's name goes into the link's heartbeats, so postproc knows which pancake is alive.
    this.link = new EventLink({ socketName, outbox: this.outbox, clock, logger, ...(options.cameraName === undefined ? {} : { cameraName: options.cameraName }) });
  }

  start(): void {
    this.link?.start();
  }

  /** Stores `event` (with the camera name) and sends it when postproc is reachable. */
  emit(event: OutgoingEvent, id?: string): void {
    if (!this.outbox) return;
    const { cameraName, logger } = this.options;
    const named = (cameraName === undefined ? event : { ...event, name: cameraName }) as NewEvent;
    const stored: PancakeEvent = this.outbox.add(named, id);
    logger.info(`event: ${JSON.stringify(stored)}`);
    this.link?.flush();
  }

  /** `{"camera": "down", "reason": …}` once per outage, `{"camera": "up"}` when frames flow again. */
  camera(state: 'up' | 'down', reason?: string): void {
    this.emit({ camera: state, ...(reason === undefined ? {} : { reason }), time: this.now() });
  }

  /** `{"storage": "error"|"ok", …}`: a recording could not be written, or can be again. */
  storage(state: 'error' | 'ok', reason: string, file?: string): void {
    this.emit({ storage: state, reason, ...(file ? { path: file } : {}), time: this.now() });
  }

  /** `{"detection": true|false}` without a file (monitor mode, the end of an "all" recording). */
  detection(state: boolean, wallMs: number): void {
    this.emit({ detection: state, time: new Date(wallMs).toISOString() });
  }

  private now(): string {
    return new Date(this.options.clock.now()).toISOString();
  }

  /** A finished recording: `{"h264": …}` with its video facts and real frame timing. */
  announce(rec: FinishedRecording | (Omit<FinishedRecording, 'frames' | 'bytes' | 'timing'> & Partial<FinishedRecording>)): void {
    this.emit({
      h264: rec.path, fps: rec.fps, width: rec.width, height: rec.height, rotation: rec.rotation,
      start: new Date(rec.start).toISOString(), end: new Date(rec.end).toISOString(),
      ...(rec.frames === undefined ? {} : { frames: rec.frames }),
      ...(rec.timing === undefined || rec.timing.length === 0 ? {} : { timing: rec.timing }),
      ...(rec.detection === undefined ? {} : { detection: rec.detection }),
    });
  }

  /**
   * Files a crash left open are finished now (Annex B is playable up to its last whole frame) and
   * announced; one that got no byte before the crash (a kill right after a split) is removed.
   */
  announceLeftovers(journal: RecordingJournal): void {
    for (const left of journal.leftovers()) {
      const stat = fs.lstatSync(left.path, { throwIfNoEntry: false });
      if (stat?.isFile() && stat.size > 0) {
        this.options.logger.warn(`record: ${left.path} was left open by a previous run; announcing it as finished`);
        this.announce({ ...left, end: stat.mtimeMs });
      } else if (stat?.isFile()) {
        this.options.logger.warn(`record: ${left.path} was left open and empty by a previous run; removing it`);
        fs.rmSync(left.path, { force: true });
      }
      journal.closed(left.path);
    }
  }

  /** Waits a moment for acknowledgements, then stops; what is not acknowledged stays in the outbox. */
  async close(): Promise<void> {
    if (!this.link) return;
    const delivered = await this.link.drain(2000);
    if (!delivered) this.options.logger.warn(`events: ${this.outbox!.pending().length} event(s) not acknowledged yet; they stay in the outbox and are sent on the next start`);
    this.link.close();
  }
}
