// Whether continuous recording is paused (PUT /api/recording), kept in the state directory so that it survives a restart.
import fs from 'node:fs';

/** The saved switch: `{"continuous": false}` while continuous recording is paused. */
export class PauseState {
  constructor(private readonly file: string) {}

  /** Whether continuous recording was paused when pancake last ran (false when nothing was saved). */
  load(): boolean {
    try {
      const saved = JSON.parse(fs.readFileSync(this.file, 'utf8')) as { continuous?: unknown };
      return saved.continuous === false;
    } catch {
      return false;
    }
  }

  /** Saves the switch (a temporary file renamed over the old one: a crash leaves one or the other). */
  save(paused: boolean): void {
    fs.writeFileSync(`${this.file}.tmp`, `${JSON.stringify({ continuous: !paused })}\n`);
    fs.renameSync(`${this.file}.tmp`, this.file);
  }
}
