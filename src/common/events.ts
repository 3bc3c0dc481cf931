// The events pancake sends to postproc: one JSON object per line over an abstract unix stream socket.
//
// Field meanings follow the Python original ("h264", "detection"); the rest is new:
//   id        unique per event, the same when the event is resent (postproc acts on an id once)
//   fps, width, height, rotation   of the recording, so postproc needs no --convert fps
//   start, end                     ISO 8601 wall-clock times of a file's first and last frame
// postproc answers every line with {"ack": "<id>"} once the event is durably recorded.

/** Display rotation in degrees, clockwise. 180 is done by the camera; 90/270 are carried as metadata. */
export type Rotation = 0 | 90 | 180 | 270;

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
}

/** A detection edge without a file (monitor mode, or `{"detection": false}` ending an "all" recording). */
export interface DetectionEvent {
  id: string;
  detection: boolean;
  time: string;
}

/** Camera health: "down" once per outage with the reason, "up" when frames flow again. */
export interface CameraEvent {
  id: string;
  camera: 'up' | 'down';
  reason?: string;
  time: string;
}

/** A recording could not be written (disk full, I/O error); recording is retried. */
export interface StorageEvent {
  id: string;
  storage: 'error' | 'ok';
  reason?: string;
  path?: string;
  time: string;
}

export type PancakeEvent = FileEvent | DetectionEvent | CameraEvent | StorageEvent;

/** postproc's acknowledgement of one event. */
export interface Ack {
  ack: string;
}

/** The abstract-namespace address for a socket name, as in the original ("\0" + name). */
export function abstractSocketPath(name: string): string {
  return `\0${name}`;
}

/** Longest line either side accepts; longer lines are rejected without reading them whole. */
export const MAX_EVENT_LINE_BYTES = 64 * 1024;

/** Encodes one event or ack as a line. */
export function encodeLine(message: PancakeEvent | Ack): string {
  return JSON.stringify(message) + '\n';
}

// ---- Reading events (postproc) -------------------------------------------------------------

/**
 * An event as received, after validation. Fields the original's format lacked (`id`, `fps`, …)
 * are optional here: postproc also accepts `{"h264": "/abs/x.h264"}` from scripts written for
 * the Python original, and decides itself what to do without them.
 */
export type ReceivedEvent =
  | ({ kind: 'file'; id?: string; h264: string; detection?: boolean } & Partial<VideoFacts>)
  | { kind: 'detection'; id?: string; detection: boolean; time?: string }
  | { kind: 'camera'; id?: string; camera: 'up' | 'down'; reason?: string; time?: string }
  | { kind: 'storage'; id?: string; storage: 'error' | 'ok'; reason?: string; path?: string; time?: string };

/** The result of {@link parseEventLine}: an event, or why the line was refused (plus its id when one could be read). */
export type ParsedLine = { ok: true; event: ReceivedEvent } | { ok: false; error: string; id?: string };

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
  for (const name of ['h264', 'time', 'reason', 'path', 'start', 'end']) {
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

  const withId = <T extends object>(e: T): T & { id?: string } => (id === undefined ? e : { id, ...e });
  if (typeof fields.h264 === 'string') {
    const { h264, detection, fps, width, height, rotation, start, end } = fields as Record<string, never>;
    const event: ReceivedEvent = withId({ kind: 'file' as const, h264 });
    for (const [k, v] of Object.entries({ detection, fps, width, height, rotation, start, end })) {
      if (v !== undefined) (event as Record<string, unknown>)[k] = v;
    }
    return { ok: true, event };
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
  return fail('unknown event: none of "h264", "detection", "camera", "storage"');
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
