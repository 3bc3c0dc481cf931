// Monitor mode: one {"detection": …} per edge, at once, with changes within 3 s held back (test clock).
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/common/clock.js';
import { createLogger } from '../../../src/common/log.js';
import { DetectionMonitor } from '../../../src/pancake/detect/monitor.js';

describe('DetectionMonitor', () => {
  it('reports edges at once, and a change made during the hold when it ends, dated when it happened', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
    const start = clock.now();
    const edges: [boolean, number][] = [];
    const monitor = new DetectionMonitor({ clock, logger: createLogger({ program: 'test', level: 'error' }), onEdge: (s, wall) => edges.push([s, wall - start]) });
    const at = (ms: number, state: boolean): void => {
      clock.advance(ms - clock.monotonic());
      monitor.setDetection(state);
    };
    at(1000, false);
    at(2000, true);
    expect(edges).toEqual([[true, 2000]]);
    at(3000, false);
    at(4500, false);
    expect(edges).toEqual([[true, 2000]]);
    clock.advance(5000 - clock.monotonic()); // the hold ends 3 s after the edge
    expect(edges).toEqual([[true, 2000], [false, 3000]]);
    at(6500, true); // the second hold ran from 3 s to 6 s: reported at once
    expect(edges).toEqual([[true, 2000], [false, 3000], [true, 6500]]);
    monitor.close();
    at(20_000, false);
    expect(edges).toHaveLength(3);
  });
});
