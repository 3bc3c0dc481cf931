// Detection edges from detect()'s answers: a change is reported at once, then changes are held off for 3 s (pure).

/** A change of detection that is reported: the new state and the monotonic ms it began. */
export interface Edge {
  state: boolean;
  at: number;
}

/**
 * Turns the stream of detect() answers into edges, the way the original did: detection starts
 * false; the first answer that differs from the last reported state is an edge, reported at once;
 * for `holdMs` after an edge nothing more is reported; when the hold ends, the state is compared
 * again, and if it differs from the reported one that is the next edge, dated from when the
 * current state began.
 *
 * So reported edges always alternate (true, false, true …) and are at least `holdMs` apart. A
 * flicker that returns to the reported state within the hold is not reported at all: detection
 * recording makes one 6–7 s clip per edge, and a detector that flaps every frame would otherwise
 * produce a file (and a notification) per frame.
 */
export class EdgeTracker {
  private reported = false;
  private current = false;
  private changedAt = 0;
  private holdEnd = -Infinity;

  constructor(private readonly holdMs: number) {}

  /** The last reported state. */
  get state(): boolean {
    return this.reported;
  }

  /** When the current hold ends (monotonic ms), or undefined when none is running. */
  holdUntil(now: number): number | undefined {
    return now < this.holdEnd ? this.holdEnd : undefined;
  }

  /** Takes one answer of detect() at monotonic `now`; returns the edge to report now, if any. */
  update(state: boolean, now: number): Edge | undefined {
    if (state !== this.current) {
      this.current = state;
      this.changedAt = now;
    }
    return now < this.holdEnd ? undefined : this.check();
  }

  /** Call when the hold has ended: returns the edge that happened during it, if the state still differs. */
  release(now: number): Edge | undefined {
    return now < this.holdEnd ? undefined : this.check();
  }

  private check(): Edge | undefined {
    if (this.current === this.reported) return undefined;
    this.reported = this.current;
    this.holdEnd = this.changedAt + this.holdMs;
    return { state: this.current, at: this.changedAt };
  }
}
