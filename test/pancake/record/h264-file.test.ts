// What a recording keeps of a batch that a full disk cut short (the access units that reached it whole), and that finishing it then still ends.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { wholeUnits } from '../../../src/pancake/record/h264-file.js';
import { DIST } from '../../helpers/env.js';

describe('wholeUnits', () => {
  const batch = [Buffer.alloc(100), Buffer.alloc(50), Buffer.alloc(200)];
  it.each([
    [0, 0], [99, 0], [100, 100], [149, 100], [150, 150], [349, 150], [350, 350], [1000, 350],
  ])('%i bytes written: keep %i', (written, kept) => {
    expect(wholeUnits(batch, written)).toBe(kept);
  });
});

describe('H264File on a full disk', () => {
  // Run in a child with a time limit: the bug this guards against spun the event loop forever on
  // promises (no timer, not even vitest's, could fire), which a loaded CI machine hit as a pancake
  // that stopped logging, recording and retrying after its first ENOSPC.
  it('finishes when units were queued while the write that failed was under way', () => {
    const script = `
      import fs from 'node:fs';
      const { H264File } = await import(${JSON.stringify(pathToFileURL(path.join(DIST, 'pancake', 'record', 'h264-file.js')).href)});
      const { systemClock } = await import(${JSON.stringify(pathToFileURL(path.join(DIST, 'common', 'clock.js')).href)});
      const file = new H264File('/dev/full', fs.openSync('/dev/full', 'w'), systemClock);
      file.append(Buffer.alloc(300 * 1024)); // a full batch: its write starts at once, and /dev/full refuses it (ENOSPC)
      file.append(Buffer.alloc(100));        // queued while that write is under way
      await file.flush();                    // the failed write has ended; the second unit is still queued
      await file.finish();
      console.log(JSON.stringify({ code: file.error?.code, bytes: file.bytes }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
    expect(r.signal, `the child did not finish within 20 s: ${r.stderr}`).toBeNull();
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ code: 'ENOSPC', bytes: 0 });
  });
});
