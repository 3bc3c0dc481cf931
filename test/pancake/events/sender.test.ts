// Crash leftovers at start-up: a file with frames is announced as finished, an empty one (a kill right after a split) is removed.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/common/clock.js';
import type { FileEvent } from '../../../src/common/events.js';
import { createLogger } from '../../../src/common/log.js';
import { EventSender } from '../../../src/pancake/events/sender.js';
import { RecordingJournal } from '../../../src/pancake/record/journal.js';
import { TESTCARD_PATH } from '../../../src/common/paths.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';

const logger = createLogger({ program: 'test', level: 'error' });

describe('EventSender.announceLeftovers', () => {
  let tmp: string | undefined;
  afterEach(() => removeTmp(tmp));

  it('announces the file with frames, removes the empty one, forgets both', () => {
    tmp = makeTmp();
    const state = path.join(tmp, 'state');
    const journal = new RecordingJournal(path.join(state, 'recording'));
    const full = path.join(tmp, '20260101-1200.h264');
    const empty = path.join(tmp, '20260101-1215.h264');
    fs.copyFileSync(TESTCARD_PATH, full);
    fs.writeFileSync(empty, '');
    for (const [file, start] of [[full, 1], [empty, 2]] as const) journal.opened({ path: file, fps: 12, width: 640, height: 480, rotation: 0, start });
    // A sender with an outbox and no listener: events stay in the outbox, where the test reads them.
    const sender = new EventSender({ socketName: `pancake-sender-test-${process.pid}`, stateDir: state, clock: systemClock, logger });
    sender.announceLeftovers(journal);
    const outbox = fs.readdirSync(path.join(state, 'outbox')).map((f) => JSON.parse(fs.readFileSync(path.join(state, 'outbox', f), 'utf8')) as FileEvent);
    expect(outbox.map((e) => e.h264)).toEqual([full]);
    expect(fs.existsSync(empty)).toBe(false);
    expect(fs.existsSync(full)).toBe(true);
    expect(journal.leftovers()).toEqual([]);
  });
});
