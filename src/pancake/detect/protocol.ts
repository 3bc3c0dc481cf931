// Messages between pancake's main thread and the detect worker.
import type { DetectFrame } from './hook.js';

/** The worker's workerData. */
export interface WorkerSetup {
  /** Absolute path of customize.ts (or --customize). */
  file: string;
}

/** Main → worker: call detect() once (with a frame for --detect image). */
export interface CallMessage {
  type: 'call';
  seq: number;
  frame?: DetectFrame;
}

/** Worker → main. */
export type WorkerMessage =
  /** The file loaded and exports a detect function. */
  | { type: 'ready' }
  /** The file cannot be used: a one-line problem. */
  | { type: 'load-error'; message: string }
  /** detect() returned (or resolved to) `value`, coerced to a boolean as the original's `if detect()`. */
  | { type: 'answer'; seq: number; value: boolean }
  /** detect() threw (or rejected): its stack. */
  | { type: 'threw'; seq: number; error: string };
