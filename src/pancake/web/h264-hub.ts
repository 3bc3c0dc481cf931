// Live H.264 for browsers: the access units since the newest keyframe, and the viewers drawing them.
import type { AccessUnit } from '../../common/h264/annexb.js';
import { FRAME_H264 } from './protocol.js';
import { liveFrame, Viewer, type LiveFrame, type ViewerSocket } from './viewers.js';

/** Bounds the cache for a stream whose keyframes stop coming (a broken camera must not eat the memory). */
const MAX_CACHED_UNITS = 600;

/**
 * Holds the current GOP (newest IDR and everything after it), so a new viewer's first picture is
 * that IDR, sent at once. The browser decodes; pancake never does in this mode.
 */
export class H264Hub {
  private frames: LiveFrame[] = [];
  private seq = 0;
  private readonly viewers = new Set<Viewer>();
  /** The unit sent early (before the next start code proved it complete), if the newest one was. */
  private early: LiveFrame | undefined;

  constructor(private readonly window = 3) {}

  /** A complete access unit from the camera. */
  push(unit: AccessUnit): void {
    const early = this.early;
    this.early = undefined;
    if (early) {
      if (sameUnit(early.data, unit.data)) return; // already offered; nothing new
      // The early copy was cut short: keep the whole one for new viewers, and let viewers that got
      // the short one wait for the next keyframe rather than decode on from a broken picture.
      const fixed = liveFrame(FRAME_H264, early.seq, unit.data, unit.keyframe, early.wall);
      this.frames[this.frames.length - 1] = fixed;
      for (const v of this.viewers) v.corrupted(early.seq);
      return;
    }
    this.add(unit.data, unit.keyframe, unit.wallTime);
  }

  /**
   * The unit being received looks complete (no bytes for a moment after a slice): offer it now
   * instead of one frame interval later, when the next unit's start code would prove it.
   */
  pushEarly(data: Buffer, keyframe: boolean, wall: number): void {
    if (this.early) return;
    this.early = this.add(data, keyframe, wall);
  }

  private add(data: Buffer, keyframe: boolean, wall: number): LiveFrame | undefined {
    if (!keyframe && this.frames.length === 0) return undefined; // nothing decodable before the first IDR
    const frame = liveFrame(FRAME_H264, this.seq++ >>> 0, data, keyframe, wall);
    if (keyframe) this.frames = [frame];
    else {
      this.frames.push(frame);
      if (this.frames.length > MAX_CACHED_UNITS) this.frames = [];
    }
    for (const v of this.viewers) v.offer(this.frames, frame);
    return frame;
  }

  addViewer(socket: ViewerSocket): Viewer {
    const viewer = new Viewer(socket, this.window);
    this.viewers.add(viewer);
    viewer.pump(this.frames);
    return viewer;
  }

  ack(viewer: Viewer, seq: number): void {
    viewer.ack(seq, this.frames);
  }

  removeViewer(viewer: Viewer): void {
    this.viewers.delete(viewer);
  }

  get viewerCount(): number {
    return this.viewers.size;
  }
}

/** The early copy equals the complete unit, but for trailing zero bytes the early one could not know about. */
function sameUnit(early: Buffer, full: Buffer): boolean {
  if (full.length < early.length || !full.subarray(0, early.length).equals(early)) return false;
  for (let i = early.length; i < full.length; i++) if (full[i] !== 0) return false;
  return true;
}
