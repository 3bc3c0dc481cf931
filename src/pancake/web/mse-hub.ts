// Live fragmented MP4 for browsers with MSE: the camera's access units wrapped (never decoded), one fragment per unit, ack-paced.
import type { AccessUnit } from '../../common/h264/annexb.js';
import { Fragmenter } from '../../common/mp4/fragmenter.js';
import { FRAME_MP4 } from './protocol.js';
import { liveFrame, Viewer, type LiveFrame, type ViewerSocket } from './viewers.js';

/** Bounds the cache for a stream whose keyframes stop coming (a broken camera must not eat the memory). */
const MAX_CACHED_UNITS = 600;
/** A sample's duration before two units have shown the real interval. */
const FIRST_FRAME_MS = 1000 / 30;
/** Intervals outside this are outages or bursts, not the frame rate. */
const MAX_FRAME_MS = 1000;

interface CachedUnit {
  unit: AccessUnit;
  seq: number;
  /** The sample's duration: the stream's smoothed unit interval when it arrived. */
  ms: number;
}

/**
 * Holds the current GOP (newest keyframe and everything after it) as the camera sent it, and,
 * while someone watches, the same units as MP4 fragments. Each keyframe starts a new
 * {@link Fragmenter}, so its fragment carries an init segment made from that keyframe's own SPS
 * and PPS: a viewer can start, or skip ahead, at any keyframe, and a camera that restarts with
 * another size needs nothing special. The page appends in MSE's "sequence" mode, so the
 * fragments' own times (restarting at each keyframe) never matter, only their durations.
 *
 * A fragment is made once for every viewer; nobody watching costs nothing but the references of
 * the current GOP. The Pi never decodes in this mode.
 */
export class MseHub {
  private gop: CachedUnit[] = [];
  private frames: LiveFrame[] = [];
  private fragmenter: Fragmenter | undefined;
  /** The new fragmenter's init segment still has to go out, with its first fragment. */
  private initPending = false;
  /** `frames` holds the fragments of `gop` (false while nobody watches: nothing is made). */
  private fragmenting = false;
  private readonly viewers = new Set<Viewer>();
  private seq = 0;
  private lastWall: number | undefined;
  private frameMs = FIRST_FRAME_MS;
  private intervals = 0;
  /** Access units that could not be wrapped (the viewers then wait for the next keyframe). */
  unwrappable = 0;

  /**
   * @param window fragments a viewer may have in flight (sent, not yet acknowledged)
   * @param warn told once per GOP that could not be wrapped, with the reason
   */
  constructor(
    private readonly window = 3,
    private readonly warn: (message: string) => void = () => {},
  ) {}

  /** A complete access unit from the camera. */
  push(unit: AccessUnit): void {
    this.noteInterval(unit.wallTime);
    if (!unit.keyframe && this.gop.length === 0) return; // nothing decodable before the first keyframe
    const cached: CachedUnit = { unit, seq: this.seq++ >>> 0, ms: this.frameMs };
    if (unit.keyframe) {
      this.gop = [cached];
      this.frames = [];
    } else {
      this.gop.push(cached);
      if (this.gop.length > MAX_CACHED_UNITS) {
        this.gop = [];
        this.frames = [];
        this.fragmenter = undefined;
        return;
      }
    }
    if (!this.fragmenting) return;
    const frame = this.wrap(cached);
    if (!frame) return;
    this.frames.push(frame);
    for (const v of this.viewers) v.offer(this.frames, frame);
  }

  addViewer(socket: ViewerSocket): Viewer {
    const viewer = new Viewer(socket, this.window);
    this.viewers.add(viewer);
    if (!this.fragmenting) {
      // The first viewer: wrap the GOP so far, so that it starts at the newest keyframe at once.
      this.fragmenting = true;
      this.fragmenter = undefined;
      this.frames = [];
      for (const cached of this.gop) {
        const frame = this.wrap(cached);
        if (frame) this.frames.push(frame);
      }
    }
    viewer.pump(this.frames);
    return viewer;
  }

  ack(viewer: Viewer, seq: number): void {
    viewer.ack(seq, this.frames);
  }

  removeViewer(viewer: Viewer): void {
    this.viewers.delete(viewer);
    if (this.viewers.size === 0) {
      this.fragmenting = false;
      this.fragmenter = undefined;
      this.frames = [];
    }
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Keeps a smoothed interval between units: the duration of the next sample (its own is not known yet). */
  private noteInterval(wall: number): void {
    const last = this.lastWall;
    this.lastWall = wall;
    if (last === undefined) return;
    const d = wall - last;
    if (!(d > 0 && d <= MAX_FRAME_MS)) return;
    // The first interval is the best guess there is; later ones smooth out arrival jitter.
    this.frameMs = this.intervals++ === 0 ? d : this.frameMs + (d - this.frameMs) / 8;
  }

  /** The unit as an MP4 fragment message, with the init segment in front after a keyframe; undefined when it makes none. */
  private wrap(cached: CachedUnit): LiveFrame | undefined {
    const { unit } = cached;
    if (unit.keyframe) {
      this.fragmenter = new Fragmenter({ rotation: 0 }); // the page rotates (as for H.264 and JPEG), not the track matrix
      this.initPending = true;
    }
    const fragmenter = this.fragmenter;
    if (!fragmenter) return undefined;
    let media: Buffer | undefined;
    try {
      fragmenter.add(unit, cached.ms);
      media = fragmenter.fragment();
    } catch (err) {
      // A unit the MP4 code cannot read must not take the server down: this GOP is lost to MSE viewers.
      this.unwrappable++;
      this.fragmenter = undefined;
      this.warn(`live: an access unit could not be wrapped into MP4 (${(err as Error).message}); MSE viewers wait for the next keyframe`);
      return undefined;
    }
    if (!media) return undefined;
    if (!this.initPending) return liveFrame(FRAME_MP4, cached.seq, media, false, unit.wallTime);
    this.initPending = false;
    return liveFrame(FRAME_MP4, cached.seq, Buffer.concat([fragmenter.initSegment!, media]), true, unit.wallTime);
  }
}
