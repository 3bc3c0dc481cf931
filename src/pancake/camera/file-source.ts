// An H.264 Annex B file looped at a fixed frame rate, read as it plays: the built-in test card and --camera file:PATH.
import fs from 'node:fs';
import { AnnexBParser } from '../../common/h264/annexb.js';
import type { Clock, Timer } from '../../common/clock.js';
import type { CameraSource, SourceEnd } from './source.js';

/** Bytes read at a time. */
const READ_BYTES = 256 * 1024;
/** Access units read ahead of playback: enough to ride out a slow read, little memory. */
const AHEAD_UNITS = 64;

/**
 * Plays a file's access units at `fps`, from its first keyframe, again from the start when it ends,
 * like a camera that never stops. The file is read a chunk at a time just ahead of playback, so a
 * recording of any size costs a few hundred KB of memory.
 */
export class FileLoopSource implements CameraSource {
  readonly description: string;
  private timer: Timer | undefined;
  private stopped = false;
  private handle: fs.promises.FileHandle | undefined;

  constructor(
    private readonly file: string,
    private readonly fps: number,
    private readonly clock: Clock,
    description?: string,
  ) {
    this.description = description ?? `file ${file}`;
  }

  /** All access units of a small file from its first keyframe, read at once (for tests and tools). */
  static readUnits(file: string): Buffer[] {
    const parser = new AnnexBParser();
    const units = [...parser.push(fs.readFileSync(file), 0, 0), ...parser.end()];
    const first = units.findIndex((u) => u.keyframe);
    if (first < 0) throw new Error(`${file}: no H.264 keyframe found (is it an Annex B .h264 file?)`);
    return units.slice(first).map((u) => u.data);
  }

  start(onData: (chunk: Buffer) => void, onEnd: (end: SourceEnd) => void): void {
    const queue: Buffer[] = [];
    let parser = new AnnexBParser();
    let seenKeyframe = false;
    let everKeyframe = false;
    let reading: Promise<void> | undefined;
    let position = 0;
    const fail = (reason: string): void => {
      if (this.stopped) return;
      this.stopped = true;
      this.timer?.cancel();
      void this.handle?.close().catch(() => {});
      this.handle = undefined;
      onEnd({ reason });
    };
    const take = (units: { data: Buffer; keyframe: boolean }[]): void => {
      for (const u of units) {
        // Every pass starts at the first keyframe, so each loop begins decodable.
        if (!seenKeyframe && !u.keyframe) continue;
        seenKeyframe = everKeyframe = true;
        queue.push(u.data);
      }
    };
    const readMore = async (): Promise<void> => {
      this.handle ??= await fs.promises.open(this.file, 'r');
      while (!this.stopped && queue.length < AHEAD_UNITS) {
        const buf = Buffer.allocUnsafe(READ_BYTES);
        const { bytesRead } = await this.handle.read(buf, 0, READ_BYTES, position);
        if (this.stopped) return;
        if (bytesRead > 0) {
          position += bytesRead;
          take(parser.push(buf.subarray(0, bytesRead), 0, 0));
          continue;
        }
        // The end: its last unit, then the next pass from the start.
        take(parser.end());
        if (!everKeyframe) throw new Error(`${this.file}: no H.264 keyframe found (is it an Annex B .h264 file?)`);
        if (position === 0) throw new Error(`${this.file}: the file is empty`);
        parser = new AnnexBParser();
        seenKeyframe = false;
        position = 0;
      }
    };
    const fill = (): void => {
      if (reading || this.stopped || queue.length >= AHEAD_UNITS / 2) return;
      reading = readMore().then(
        () => {
          reading = undefined;
        },
        (err: NodeJS.ErrnoException) => fail(err.code === undefined ? err.message : `cannot read ${this.file}: ${err.code}`),
      );
    };

    let started = -1;
    let index = 0;
    const tick = (): void => {
      if (this.stopped) return;
      const now = this.clock.monotonic();
      if (started < 0 && queue.length > 0) started = now;
      if (started >= 0) {
        // Every frame that is due now, then sleep until the next one: no drift over months. A frame
        // not read yet (a slow disk) is sent late rather than skipped.
        while (queue.length > 0 && (index * 1000) / this.fps <= now - started) {
          onData(queue.shift()!);
          index++;
        }
      }
      fill();
      const wait = started < 0 ? 5 : (index * 1000) / this.fps - (this.clock.monotonic() - started);
      this.timer = this.clock.setTimeout(tick, Math.max(1, wait));
    };
    fill();
    tick();
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => {});
  }
}
