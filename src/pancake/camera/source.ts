// Camera sources: whatever produces an H.264 Annex B byte stream (a camera child, a file, a network camera).

/** Why a source stopped producing. */
export interface SourceEnd {
  /** One line for logs and the `camera: down` event: command, exit code or signal, last stderr lines. */
  reason: string;
}

/**
 * A running H.264 byte stream. Sources are single-use: the supervisor makes a new one for every
 * (re)start through a {@link SourceFactory}, so a source needs no restart logic of its own.
 */
export interface CameraSource {
  /** A short description for logs ("rpicam-vid 640x480@12", "test card"). */
  readonly description: string;
  /** Starts producing; `onData` gets byte chunks, `onEnd` is called once if the source ends by itself. */
  start(onData: (chunk: Buffer) => void, onEnd: (end: SourceEnd) => void): void;
  /** Stops producing (kills the child); resolves when it is gone. Idempotent. */
  close(): Promise<void>;
  /** Why it sent nothing for `seconds` (its command line, last stderr lines), when it can say more than that. */
  describeStall?(seconds: number): string;
  /**
   * Extra time (ms), beyond the stall limit, that the first access unit of a run may take: an RTSP
   * ingest probes the stream before it writes anything and starts at a keyframe.
   */
  readonly firstFrameGraceMs?: number;
}

export type SourceFactory = () => CameraSource;
