// The events pancake sends to postproc: one JSON object per line over an abstract unix stream socket.
//
// Field meanings follow the Python original ("h264", "detection"); the rest is new:
//   id        unique per event, the same when the event is resent (postproc acts on an id once)
//   fps, width, height, rotation   of the recording, so postproc needs no --convert fps
//   start, end                     ISO 8601 wall-clock times of a file's first and last frame
//   frames, timing                 a file's access-unit count and real frame durations (variable frame rate)
//   name                           the camera's name (pancake --name), on every event of a named camera
// postproc answers every line with {"ack": "<id>"} once the event is durably recorded.
// Between events pancake sends {"heartbeat": "<iso time>", "name"?} every minute on the same
// connection: no id, never journaled, never acknowledged; it tells postproc that pancake is alive.

import { cameraNameError } from './camera-name.js';

/** Display rotation in degrees, clockwise. 180 is done by the camera; 90/270 are carried as metadata. */
export type Rotation = 0 | 90 | 180 | 270;

/**
 * One run of a file's frame timing: `count` consecutive frames (access units, in decoding = file
 * order) each lasting `durationMs` milliseconds. `[[150, 66.667], [70, 142.857]]` is 10 s at
 * 15 fps, then 10 s at 7 fps.
 */
export type TimingRun = [count: number, durationMs: number];

/** Most runs a file event's `timing` may have. */
export const MAX_TIMING_RUNS = 2000;
/** Longest frame duration a run may give, in milliseconds. */
export const MAX_FRAME_DURATION_MS = 60000;

/** Facts about the video in a finished .h264 file. */
export interface VideoFacts {
  fps: number;
  width: number;
  height: number;
  rotation: Rotation;
  /** ISO 8601 time of the first frame. */
  start: string;
  /** ISO 8601 time of the last frame. */
  end: string;
}

/** A finished recording; `detection` is present on detection clips (edge: the new state; all: true on the first file). */
export interface FileEvent extends VideoFacts {
  id: string;
  h264: string;
  detection?: boolean;
  /** Access units (frames) in the file. */
  frames?: number;
  /**
   * The frames' real durations as runs, in file order; the counts add up to `frames` and the sum
   * of count × durationMs is the time the file covers. `fps` is then frames over that time.
   */
  timing?: TimingRun[];
  /** The camera's name (see camera-name.ts), when pancake was given --name. */
  name?: string;
}

/** A detection edge without a file (monitor mode, or `{"detection": false}` ending an "all" recording). */
export interface DetectionEvent {
  id: string;
  detection: boolean;
  time: string;
  name?: string;
}

/** Camera health: "down" once per outage with the reason, "up" when frames flow again. */
export interface CameraEvent {
  id: string;
  camera: 'up' | 'down';
  reason?: string;
  time: string;
  name?: string;
}

/** A recording could not be written (disk full, I/O error); recording is retried. */
export interface StorageEvent {
  id: string;
  storage: 'error' | 'ok';
  reason?: string;
  path?: string;
  time: string;
  name?: string;
}

export type PancakeEvent = FileEvent | DetectionEvent | CameraEvent | StorageEvent;

/**
 * "pancake is alive": sent by the event link every minute while connected (and on connecting).
 * Not an event: no id, not stored in the outbox or postproc's journal, not acknowledged.
 */
export interface Heartbeat {
  /** ISO 8601 wall-clock time it was sent. */
  heartbeat: string;
  name?: string;
}

/** postproc's acknowledgement of one event. */
export interface Ack {
  ack: string;
}

/** The abstract-namespace address for a socket name, as in the original ("\0" + name). */
export function abstractSocketPath(name: string): string {
  return `\0${name}`;
}

/**
 * Longest line either side accepts; longer lines are rejected without reading them whole.
 * A file event with {@link MAX_TIMING_RUNS} runs of long numbers is about 50 kB.
 */
export const MAX_EVENT_LINE_BYTES = 64 * 1024;

/** Encodes one event or ack as a line. */
export function encodeLine(message: PancakeEvent | Heartbeat | Ack): string {
  return JSON.stringify(message) + '\n';
}

// ---- Reading events (postproc) -------------------------------------------------------------

/**
 * An event as received, after validation. Fields the original's format lacked (`id`, `fps`, …)
 * are optional here: postproc also accepts `{"h264": "/abs/x.h264"}` from scripts written for
 * the Python original, and decides itself what to do without them.
 */
export type ReceivedEvent =
  | ({ kind: 'file'; id?: string; name?: string; h264: string; detection?: boolean; frames?: number; timing?: TimingRun[] } & Partial<VideoFacts>)
  | { kind: 'detection'; id?: string; name?: string; detection: boolean; time?: string }
  | { kind: 'camera'; id?: string; name?: string; camera: 'up' | 'down'; reason?: string; time?: string }
  | { kind: 'storage'; id?: string; name?: string; storage: 'error' | 'ok'; reason?: string; path?: string; time?: string };

/** A heartbeat as received: the time pancake sent it, and its camera's name when it has one. */
export interface ReceivedHeartbeat {
  heartbeat: string;
  name?: string;
}

/** The result of {@link parseEventLine}: an event, or why the line was refused (plus its id when one could be read). */
export type ParsedLine =
  | { ok: true; event: ReceivedEvent }
  | { ok: true; heartbeat: ReceivedHeartbeat }
  | { ok: false; error: string; id?: string };

/** Longest id accepted; pancake's ids are far shorter. */
export const MAX_EVENT_ID_LENGTH = 200;
/** Longest free text (reason, path, time) accepted; longer text is refused, not cut. */
export const MAX_EVENT_TEXT_LENGTH = 4096;

const ROTATIONS: readonly number[] = [0, 90, 180, 270];

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x20 || text.charCodeAt(i) === 0x7f) return true;
  return false;
}

/**
 * Checks a `timing` value: a non-empty array of at most {@link MAX_TIMING_RUNS} runs, each exactly
 * `[count, durationMs]` with count a whole number ≥ 1 and durationMs a number in
 * (0, {@link MAX_FRAME_DURATION_MS}]; with `frames`, the counts must add up to it. Returns fresh
 * copies of the runs (nothing of the input is kept) or why not. Pure.
 */
export function parseTiming(value: unknown, frames: number | undefined): TimingRun[] | { error: string } {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_TIMING_RUNS) {
    return { error: `"timing" must be a non-empty array of at most ${MAX_TIMING_RUNS} [count, durationMs] runs` };
  }
  const runs: TimingRun[] = [];
  let total = 0;
  for (let i = 0; i < value.length; i++) {
    const run: unknown = value[i];
    if (!Array.isArray(run) || run.length !== 2) return { error: `"timing"[${i}] must be [count, durationMs]` };
    const [count, duration] = run as unknown[];
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) return { error: `"timing"[${i}]: count must be a whole number ≥ 1` };
    if (typeof duration !== 'number' || !Number.isFinite(duration) || duration <= 0 || duration > MAX_FRAME_DURATION_MS) {
      return { error: `"timing"[${i}]: durationMs must be a number in (0, ${MAX_FRAME_DURATION_MS}]` };
    }
    total += count;
    if (!Number.isSafeInteger(total)) return { error: '"timing": the counts add up to too many frames' };
    runs.push([count, duration]);
  }
  if (frames !== undefined && total !== frames) return { error: `"timing": the counts add up to ${total} frames, but "frames" is ${frames}` };
  return runs;
}

/**
 * Validates one line (without its newline) as an event. Pure: no file system access — whether
 * `h264` names a real file is the receiver's business. Unknown fields are ignored, so a newer
 * pancake can add some; known fields with the wrong type make the whole line invalid.
 */
export function parseEventLine(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'not a JSON object' };
  }
  const o = value as Record<string, unknown>;
  let id: string | undefined;
  if ('id' in o) {
    if (typeof o.id !== 'string' || o.id === '' || o.id.length > MAX_EVENT_ID_LENGTH || hasControlCharacter(o.id)) {
      return { ok: false, error: `"id" must be a non-empty string of at most ${MAX_EVENT_ID_LENGTH} printable characters` };
    }
    id = o.id;
  }
  const fail = (error: string): ParsedLine => (id === undefined ? { ok: false, error } : { ok: false, error, id });

  const text = (name: string): string | undefined | Error => {
    if (!(name in o) || o[name] === undefined) return undefined;
    const v = o[name];
    if (typeof v !== 'string') return new Error(`"${name}" must be a string`);
    if (v.length > MAX_EVENT_TEXT_LENGTH) return new Error(`"${name}" is longer than ${MAX_EVENT_TEXT_LENGTH} characters`);
    return v;
  };
  const fields: Record<string, unknown> = {};
  for (const name of ['h264', 'time', 'reason', 'path', 'start', 'end', 'heartbeat']) {
    const v = text(name);
    if (v instanceof Error) return fail(v.message);
    if (v !== undefined) fields[name] = v;
  }
  if ('detection' in o) {
    if (typeof o.detection !== 'boolean') return fail('"detection" must be true or false');
    fields.detection = o.detection;
  }
  if ('fps' in o) {
    if (typeof o.fps !== 'number' || !Number.isFinite(o.fps) || o.fps <= 0 || o.fps > 1000) return fail('"fps" must be a number in (0, 1000]');
    fields.fps = o.fps;
  }
  for (const name of ['width', 'height']) {
    if (!(name in o)) continue;
    const v = o[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > 65535) return fail(`"${name}" must be a whole number in 1..65535`);
    fields[name] = v;
  }
  if ('rotation' in o) {
    if (typeof o.rotation !== 'number' || !ROTATIONS.includes(o.rotation)) return fail('"rotation" must be 0, 90, 180 or 270');
    fields.rotation = o.rotation;
  }
  if ('frames' in o) {
    if (typeof o.frames !== 'number' || !Number.isSafeInteger(o.frames) || o.frames < 1) return fail('"frames" must be a whole number ≥ 1');
    fields.frames = o.frames;
  }
  if ('timing' in o) {
    const timing = parseTiming(o.timing, fields.frames as number | undefined);
    if ('error' in timing) return fail(timing.error);
    fields.timing = timing;
  }
  if ('name' in o) {
    if (typeof o.name !== 'string') return fail('"name" must be a string');
    const error = cameraNameError(o.name);
    if (error !== undefined) return fail(`"name": ${error}`);
    fields.name = o.name;
  }

  // The camera's name goes first, after the id: it says whose event this is.
  const withId = <T extends object>(e: T): T & { id?: string; name?: string } => {
    const head: { id?: string; name?: string } = {};
    if (id !== undefined) head.id = id;
    if (fields.name !== undefined) head.name = fields.name as string;
    return { ...head, ...e };
  };
  if (typeof fields.h264 === 'string') {
    const { h264, detection, fps, width, height, rotation, start, end, frames, timing } = fields as Record<string, never>;
    const event: ReceivedEvent = withId({ kind: 'file' as const, h264 });
    for (const [k, v] of Object.entries({ detection, fps, width, height, rotation, start, end, frames, timing })) {
      if (v !== undefined) (event as Record<string, unknown>)[k] = v;
    }
    return { ok: true, event };
  }
  if ('heartbeat' in o) {
    // Before the other kinds: a line with "heartbeat" is never taken for an event that needs an ack.
    if (typeof fields.heartbeat !== 'string') return fail('"heartbeat" must be a string');
    if (id !== undefined) return fail('a heartbeat has no "id"');
    const heartbeat: ReceivedHeartbeat = { heartbeat: fields.heartbeat };
    if (fields.name !== undefined) heartbeat.name = fields.name as string;
    return { ok: true, heartbeat };
  }
  const time = fields.time as string | undefined;
  const reason = fields.reason as string | undefined;
  const optional = <T extends object>(e: T, extra: Record<string, string | undefined>): T => {
    for (const [k, v] of Object.entries(extra)) if (v !== undefined) (e as Record<string, unknown>)[k] = v;
    return e;
  };
  if ('camera' in o) {
    if (o.camera !== 'up' && o.camera !== 'down') return fail('"camera" must be "up" or "down"');
    return { ok: true, event: optional(withId({ kind: 'camera' as const, camera: o.camera }), { reason, time }) };
  }
  if ('storage' in o) {
    if (o.storage !== 'error' && o.storage !== 'ok') return fail('"storage" must be "error" or "ok"');
    return { ok: true, event: optional(withId({ kind: 'storage' as const, storage: o.storage }), { reason, path: fields.path as string | undefined, time }) };
  }
  if (typeof fields.detection === 'boolean') {
    return { ok: true, event: optional(withId({ kind: 'detection' as const, detection: fields.detection }), { time }) };
  }
  return fail('unknown event: none of "h264", "detection", "camera", "storage", "heartbeat"');
}

/** Reads an acknowledgement line; undefined when the line is not one. */
export function parseAckLine(line: string): string | undefined {
  try {
    const v = JSON.parse(line) as unknown;
    if (typeof v === 'object' && v !== null && typeof (v as Ack).ack === 'string') return (v as Ack).ack;
  } catch {
    // Not JSON: not an ack.
  }
  return undefined;
}

/**
 * Splits a byte stream into lines without ever holding more than `maxBytes` of one line: chunks
 * are kept in a list and joined only when a newline completes the line; a line that grows past
 * the limit is dropped as it arrives (reported once by `onOverlong`) up to its newline.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverlong: (bytesSoFar: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      const piece = chunk.subarray(start, end);
      if (!this.discarding) {
        if (this.size + piece.length > this.maxBytes) {
          this.onOverlong(this.size + piece.length);
          this.discarding = true;
          this.parts = [];
          this.size = 0;
        } else if (piece.length > 0) {
          this.parts.push(piece);
          this.size += piece.length;
        }
      }
      if (nl === -1) break;
      if (!this.discarding) {
        const line = (this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size)).toString('utf8');
        this.parts = [];
        this.size = 0;
        this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
      }
      this.discarding = false;
      start = nl + 1;
    }
  }

  /** Bytes of an unfinished line held right now. */
  get pendingBytes(): number {
    return this.size;
  }
}
