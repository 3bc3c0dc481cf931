// EdgeTracker: edges reported at once, changes within 3 s of an edge held back, alternating states.
import { describe, expect, it } from 'vitest';
import { EdgeTracker } from '../../../src/pancake/detect/edges.js';

describe('EdgeTracker', () => {
  it('starts false and reports the first true at once', () => {
    const t = new EdgeTracker(3000);
    expect(t.update(false, 0)).toBeUndefined();
    expect(t.update(true, 100)).toEqual({ state: true, at: 100 });
    expect(t.update(true, 200)).toBeUndefined();
    expect(t.state).toBe(true);
  });

  it('holds a change back for 3 s and reports it at the release, dated from when it began', () => {
    const t = new EdgeTracker(3000);
    t.update(true, 1000);
    expect(t.update(false, 2000)).toBeUndefined();
    expect(t.holdUntil(2000)).toBe(4000);
    expect(t.release(3999)).toBeUndefined();
    expect(t.release(4000)).toEqual({ state: false, at: 2000 });
    // The next hold runs from the reported edge.
    expect(t.holdUntil(4000)).toBe(5000);
    expect(t.update(true, 4500)).toBeUndefined();
    expect(t.release(5000)).toEqual({ state: true, at: 4500 });
  });

  it('forgets a flicker undone within the hold', () => {
    const t = new EdgeTracker(3000);
    t.update(true, 1000);
    t.update(false, 1500);
    t.update(true, 2500);
    expect(t.release(4000)).toBeUndefined();
    expect(t.holdUntil(4000)).toBeUndefined();
    expect(t.update(false, 9000)).toEqual({ state: false, at: 9000 });
  });

  it('dates a held-back change from its last flip', () => {
    const t = new EdgeTracker(3000);
    t.update(true, 0);
    t.update(false, 1000);
    t.update(true, 1500);
    t.update(false, 2500);
    expect(t.release(3000)).toEqual({ state: false, at: 2500 });
  });
});
