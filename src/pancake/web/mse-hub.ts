// Live fragmented MP4 for browsers with MSE: the camera's access units wrapped (never decoded), one fragment per unit (per anchor with B-frames), ack-paced.
import type { AccessUnit } from '../../common/h264/annexb.js';
import type { SpsInfo } from '../../common/h264/sps.js';
import { Fragmenter } from '../../common/mp4/fragmenter.js';
import { FRAME_MP4 } from './protocol.js';
import { liveFrame, Viewer, type LiveFrame, type ViewerSocket } from './viewers.js';

/** Bounds the cache for a stream whose keyframes stop coming (a broken camera must not eat the memory). */
const MAX_CACHED_UNITS = 600;
/** A sample's duration before two units have shown the real interval. */
const FIRST_FRAME_MS = 1000 / 30;
/** Intervals outside this are outages or bursts, not the frame rate. */
const MAX_FRAME_MS = 1000;

/**
 * What an SPS says about B-frame reordering: false when the stream cannot reorder (Baseline, an
 * intra-only profile, or VUI max_num_reorder_frames 0), true when it says it may (more than 0),
 * undefined when it does not say (no bitstream_restriction, as the Pi's encoder writes it).
 */
export function spsReordering(sps: SpsInfo): boolean | undefined {
  if (sps.profileIdc === 66 || sps.profileIdc === 44) return false; // Baseline has no B slices; CAVLC 4:4:4 Intra no inter prediction
  if ((sps.constraintFlags & 0x10) !== 0 && [110, 122, 244].includes(sps.profileIdc)) return false; // the High … Intra profiles (constraint_set3)
  if (sps.maxNumReorderFrames === undefined) return undefined;
  return sps.maxNumReorderFrames > 0;
}

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
 * Without B-frames each access unit is a fragment of its own, sent at once. A fragment's pictures
 * are put in presentation order within it only, so a stream with B-frames is cut before each
 * anchor instead (the newest picture raising its period's largest POC; see
 * {@link Fragmenter.addedAnchor}): I0 | P3 B1 B2 | P6 B4 B5 …, each fragment sent when the
 * next anchor arrives, and what is held at a keyframe closes the old GOP. That costs up to
 * the distance between anchors (B-frames + 1 frames) of delay. It is done from a GOP's first
 * picture when the SPS says the stream may reorder (x264 does), and from the first picture out
 * of order on for good otherwise (an SPS without bitstream_restriction: the Pi's encoder, many
 * IP cameras), so a camera without B-frames pays nothing. In that case the GOP where B-frames
 * first show (when a viewer was already watching) shows its first P picture once too early (I0
 * P3 B1 B2 P6 …: one step back, then in order); a viewer joining later, or whose first GOP
 * reveals them, gets it in order.
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
  /** Units added to the fragmenter and not yet sent in a fragment, oldest first. */
  private unsent: CachedUnit[] = [];
  /** The current GOP is cut before anchors (B-frames declared or seen). */
  private holding = false;
  /** B-frames were seen: every later GOP is cut before anchors, whatever its SPS says. */
  private reorderingSeen = false;
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
      // Pictures still held belong to the old GOP: viewers in it get them before the new keyframe.
      if (this.fragmenting) this.send(this.flush());
      this.gop = [cached];
      this.frames = [];
    } else {
      this.gop.push(cached);
      if (this.gop.length > MAX_CACHED_UNITS) {
        this.gop = [];
        this.frames = [];
        this.fragmenter = undefined;
        this.unsent = [];
        return;
      }
    }
    if (!this.fragmenting) return;
    this.send(this.wrap(cached));
  }

  addViewer(socket: ViewerSocket): Viewer {
    const viewer = new Viewer(socket, this.window);
    this.viewers.add(viewer);
    if (!this.fragmenting) {
      // The first viewer: wrap the GOP so far, so that it starts at the newest keyframe at once.
      this.fragmenting = true;
      const seen = this.reorderingSeen;
      this.wrapGop();
      // B-frames found in this very GOP: wrap it again, cut before anchors from its first picture.
      if (!seen && this.reorderingSeen) this.wrapGop();
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
      this.unsent = [];
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

  /** Offers a new fragment to every viewer. */
  private send(frame: LiveFrame | undefined): void {
    if (!frame) return;
    this.frames.push(frame);
    for (const v of this.viewers) v.offer(this.frames, frame);
  }

  /** Wraps the cached GOP afresh into `frames` (nothing is sent). */
  private wrapGop(): void {
    this.fragmenter = undefined;
    this.unsent = [];
    this.frames = [];
    for (const cached of this.gop) {
      const frame = this.wrap(cached);
      if (frame) this.frames.push(frame);
    }
  }

  /** Adds the unit to the GOP's fragmenter: the fragment that completes, as a message (init segment in front after a keyframe); undefined when none does. */
  private wrap(cached: CachedUnit): LiveFrame | undefined {
    const { unit } = cached;
    if (unit.keyframe) {
      this.fragmenter = new Fragmenter({ rotation: 0 }); // the page rotates (as for H.264 and JPEG), not the track matrix
      this.initPending = true;
      this.unsent = [];
    }
    const fragmenter = this.fragmenter;
    if (!fragmenter) return undefined;
    let media: Buffer | undefined;
    try {
      fragmenter.add(unit, cached.ms);
      this.unsent.push(cached);
      if (unit.keyframe) {
        const sps = fragmenter.sps;
        this.holding = this.reorderingSeen || (sps !== undefined && spsReordering(sps) === true);
      }
      if (fragmenter.reorders) this.holding = this.reorderingSeen = true;
      // Held: a fragment ends right before each anchor, whose own fragment then begins.
      if (!this.holding) media = fragmenter.fragment();
      else if (fragmenter.addedAnchor) media = fragmenter.fragment({ holdNewest: true });
    } catch (err) {
      // A unit the MP4 code cannot read must not take the server down: this GOP is lost to MSE viewers.
      this.unwrappable++;
      this.fragmenter = undefined;
      this.unsent = [];
      this.warn(`live: an access unit could not be wrapped into MP4 (${(err as Error).message}); MSE viewers wait for the next keyframe`);
      return undefined;
    }
    return this.message(fragmenter, media);
  }

  /** Everything the GOP's fragmenter still holds, as a last fragment of its GOP (before the next keyframe). */
  private flush(): LiveFrame | undefined {
    const fragmenter = this.fragmenter;
    if (!fragmenter || fragmenter.samplesPending === 0) return undefined;
    return this.message(fragmenter, fragmenter.fragment());
  }

  /**
   * The message of a fragment just made of the oldest unsent units: all of them, or all but the
   * newest when the fragmenter still holds a sample (an anchor, a first field). It takes the
   * newest unit's sequence number, so a viewer that sent it goes on with the next fragment's
   * range without counting a skip, and the oldest unit's wall time, which its delay counts from.
   */
  private message(fragmenter: Fragmenter, media: Buffer | undefined): LiveFrame | undefined {
    if (!media) return undefined;
    const units = fragmenter.samplesPending > 0 ? this.unsent.splice(0, this.unsent.length - 1) : this.unsent.splice(0);
    const first = units[0];
    if (!first) return undefined; // a fragment has a sample, so a unit: never taken
    const seq = units.at(-1)!.seq;
    const wall = first.unit.wallTime;
    if (!this.initPending) return liveFrame(FRAME_MP4, seq, media, false, wall);
    this.initPending = false;
    return liveFrame(FRAME_MP4, seq, Buffer.concat([fragmenter.initSegment!, media]), true, wall);
  }
}
