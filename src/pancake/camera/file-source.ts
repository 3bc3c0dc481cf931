// An H.264 Annex B file looped at a fixed frame rate, in-process: the built-in test card and --camera file:PATH.
import fs from 'node:fs';
import { AnnexBParser } from '../../common/h264/annexb.js';
import type { Clock, Timer } from '../../common/clock.js';
import type { CameraSource, SourceEnd } from './source.js';

/** Loops a whole file's access units at `fps`, like a camera that never stops. */
export class FileLoopSource implements CameraSource {
  readonly description: string;
  private timer: Timer | undefined;
  private stopped = false;

  constructor(
    private readonly file: string,
    private readonly fps: number,
    private readonly clock: Clock,
    description?: string,
  ) {
    this.description = description ?? `file ${file}`;
  }

  /** The file's access units; throws a readable error when the file is unusable. */
  static readUnits(file: string): Buffer[] {
    const parser = new AnnexBParser();
    const data = fs.readFileSync(file);
    const units = [...parser.push(data, 0, 0), ...parser.end()];
    // Start at the first keyframe so every loop begins decodable (SPS+PPS+IDR).
    const first = units.findIndex((u) => u.keyframe);
    if (first < 0) throw new Error(`${file}: no H.264 keyframe found (is it an Annex B .h264 file?)`);
    return units.slice(first).map((u) => u.data);
  }

  start(onData: (chunk: Buffer) => void, onEnd: (end: SourceEnd) => void): void {
    let units: Buffer[];
    try {
      units = FileLoopSource.readUnits(this.file);
    } catch (err) {
      onEnd({ reason: (err as Error).message });
      return;
    }
    const started = this.clock.monotonic();
    let index = 0;
    const tick = (): void => {
      if (this.stopped) return;
      const elapsed = this.clock.monotonic() - started;
      // Every frame that is due now, then sleep until the next one: no drift over months.
      while ((index * 1000) / this.fps <= elapsed) {
        onData(units[index % units.length]!);
        index++;
      }
      this.timer = this.clock.setTimeout(tick, Math.max(1, (index * 1000) / this.fps - (this.clock.monotonic() - started)));
    };
    tick();
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
  }
}
