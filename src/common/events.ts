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
