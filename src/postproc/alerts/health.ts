// Health alerts: what pancake cannot report itself (silence, no recordings, full disks, late backups, flapping), raised once and cleared once.
import type { Clock } from '../../common/clock.js';

/**
 * What an alert is about. `camera` and `storage` are pancake's own events passed on to webhooks
 * (Telegram hears those from the pipeline); the others are noticed by postproc.
 */
export type AlertKind = 'pancake-silent' | 'no-recording' | 'camera-unstable' | 'disk' | 'upload-late' | 'camera' | 'storage' | 'upload-error';

/** One alert as it is sent: the webhook's JSON body as it is. */
export interface Alert {
  /** The camera's name (pancake --name), or null when it has none or the alert is not about a camera. */
  camera: string | null;
  kind: AlertKind;
  /** `raised` once when the condition starts, `cleared` once when it is over. */
  state: 'raised' | 'cleared';
  /** The message a person reads (the Telegram text): with the camera's name in front when it has one. */
  text: string;
  /** ISO 8601 wall-clock time it was noticed. */
  time: string;
}

/** Thresholds; 0 or undefined turns a condition off. */
export interface HealthSettings {
  /** `--alert-pancake-silent`: nothing heard from pancake (no heartbeat, no event) for this long. */
  pancakeSilentMs: number;
  /** `--alert-no-recording`: no finished recording for this long. Undefined: the segment length seen plus a margin. */
  noRecordingMs?: number;
  /** `--alert-disk-free`: fewer free bytes than this on a recording or MP4 folder's file system. */
  diskFreeBytes: number;
  /** `--alert-upload-late`: a destination's oldest pending file has waited longer than this. */
  uploadLateMs: number;
}

/** Outages in {@link FLAP_WINDOW_MS} beyond which a camera is "unstable" (one message instead of one per outage). */
export const FLAP_OUTAGES = 3;
export const FLAP_WINDOW_MS = 10 * 60_000;
/** The least slack given to a segment length before "no recording" (pancake closes a file, then sends it). */
export const MIN_SEGMENT_MARGIN_MS = 60_000;

/** Free space on one file system, as measured: the folders on it and the bytes free to unprivileged users. */
export interface DiskReading {
  /** A key for the file system (its device number). */
  device: string;
  dirs: string[];
  freeBytes: number;
}

/** One destination's backlog: how many files wait and since when the oldest (wall ms). */
export interface UploadBacklog {
  destination: string;
  count: number;
  oldestQueuedAt?: number;
}

/** "1.5 GB", "512 MB", "12 kB": binary units, as --alert-disk-free takes them. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value >= 10 ? Math.round(value) : Math.round(value * 10) / 10} ${units[unit]}`;
}

/** "45 s", "12 min", "2.5 h": how long something lasted, for a person. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))} s`;
  if (ms < 2 * 3600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 360_000) / 10} h`;
}

/** How long without a continuous recording is too long: the segment plus half of it, at least a minute more. */
export function expectedGapMs(segmentMs: number): number {
  return segmentMs + Math.max(MIN_SEGMENT_MARGIN_MS, segmentMs / 2);
}

/** The thresholds as the start-up log line says them. Pure. */
export function describeAlerts(s: HealthSettings): string {
  const parts = [
    s.pancakeSilentMs > 0 ? `pancake silent ${formatDuration(s.pancakeSilentMs)}` : undefined,
    s.noRecordingMs === undefined ? 'no recording for a segment plus a margin' : s.noRecordingMs > 0 ? `no recording ${formatDuration(s.noRecordingMs)}` : undefined,
    s.diskFreeBytes > 0 ? `disk free below ${formatBytes(s.diskFreeBytes)}` : undefined,
    s.uploadLateMs > 0 ? `uploads late ${formatDuration(s.uploadLateMs)}` : undefined,
    `camera unstable after ${FLAP_OUTAGES} outages in ${Math.round(FLAP_WINDOW_MS / 60_000)} min`,
  ].filter((p) => p !== undefined);
  return `alerts: ${parts.join(', ')}`;
}

/** What postproc knows about one camera (one pancake); `''` is the camera without a name. */
interface CameraState {
  /** Monotonic ms of the last heartbeat or event; at start, postproc's start. */
  heardAt: number;
  /** Whether anything was ever heard under this name (false: a placeholder made at start). */
  heard: boolean;
  /** Monotonic ms of the last finished recording (or when watching began). */
  fileAt: number;
  /** Length of the last continuous recording (its end minus start), when one was seen. */
  segmentMs?: number;
  silent: boolean;
  noRecording: boolean;
  /** "no recording" was raised for the start placeholder, before the name was known: cleared without a name too. */
  noRecordingUnnamed?: boolean;
  /** Monotonic ms of the camera's recent outages (down events), oldest first. */
  outages: number[];
  /** Raised "unstable": then the camera's down/up messages are held back. */
  unstable: boolean;
  /** Outages since "unstable" was raised, and the last down/up change (monotonic ms). */
  outagesWhileUnstable: number;
  lastChangeAt: number;
  down?: { reason?: string };
}

export interface HealthMonitorOptions {
  settings: HealthSettings;
  clock: Clock;
  /** Every alert, raised or cleared, exactly once each. */
  onAlert: (alert: Alert) => void;
}

// Event ids remembered to ignore resent camera events (pancake resends what was not acknowledged).
const REMEMBERED_IDS = 256;

/**
 * The conditions, as pure logic on a Clock: fed with what postproc hears (heartbeats, events) and
 * measures (free space, upload backlogs), and asked to {@link check} the time-based ones. Each
 * condition is raised once when it starts and cleared once when it ends; per camera where events
 * carry a name.
 */
export class HealthMonitor {
  private readonly cameras = new Map<string, CameraState>();
  private readonly lowDisks = new Set<string>();
  private readonly lateUploads = new Set<string>();
  private readonly seenIds: string[] = [];

  constructor(private readonly options: HealthMonitorOptions) {
    // Until pancake is heard, the unnamed placeholder stands for it: a pancake that never connects is silent too.
    this.cameras.set('', this.newCamera(false));
  }

  /** A heartbeat or any valid event from pancake. */
  heard(name: string | undefined): void {
    const state = this.camera(name);
    state.heardAt = this.options.clock.monotonic();
    state.heard = true;
    if (state.silent) {
      state.silent = false;
      this.emit(name, 'pancake-silent', 'cleared', 'pancake connected again');
    }
  }

  /**
   * A finished recording. Continuous recordings (no `detection`) teach the segment length; with an
   * explicit --alert-no-recording every recording counts, without it only continuous ones (a
   * detection-only pancake has no regular recordings to miss).
   */
  recording(file: { name?: string; start?: string; end?: string; detection?: boolean }): void {
    const state = this.camera(file.name);
    const continuous = file.detection === undefined;
    if (continuous && file.start !== undefined && file.end !== undefined) {
      const length = Date.parse(file.end) - Date.parse(file.start);
      if (Number.isFinite(length) && length > 0) state.segmentMs = length;
    }
    if (!continuous && this.options.settings.noRecordingMs === undefined) return;
    state.fileAt = this.options.clock.monotonic();
    if (state.noRecording) {
      state.noRecording = false;
      this.emit(state.noRecordingUnnamed ? undefined : file.name, 'no-recording', 'cleared', 'recording resumed');
      delete state.noRecordingUnnamed;
    }
  }

  /**
   * A camera down/up event. Returns the alert to pass on (webhooks), and whether its usual message
   * ("Camera down", "Camera up again") should still go out: not while the camera is "unstable",
   * when one message stands for all its outages. A resent event (same id) changes nothing.
   */
  cameraEvent(event: { id?: string; name?: string; camera: 'up' | 'down'; reason?: string }): { pass: boolean; alert?: Alert } {
    if (event.id !== undefined) {
      if (this.seenIds.includes(event.id)) return { pass: true };
      this.seenIds.push(event.id);
      if (this.seenIds.length > REMEMBERED_IDS) this.seenIds.shift();
    }
    const now = this.options.clock.monotonic();
    const state = this.camera(event.name);
    const text = event.camera === 'down' ? `Camera down${event.reason ? `: ${event.reason}` : ''}` : 'Camera up again';
    const alert = this.make(event.name, 'camera', event.camera === 'down' ? 'raised' : 'cleared', text);
    state.lastChangeAt = now;
    if (event.camera === 'up') {
      delete state.down;
      return { pass: !state.unstable, ...(state.unstable ? {} : { alert }) };
    }
    state.down = event.reason === undefined ? {} : { reason: event.reason };
    state.outages = state.outages.filter((at) => now - at < FLAP_WINDOW_MS);
    state.outages.push(now);
    if (state.unstable) {
      state.outagesWhileUnstable++;
      return { pass: false };
    }
    if (state.outages.length > FLAP_OUTAGES) {
      state.unstable = true;
      state.outagesWhileUnstable = state.outages.length;
      this.emit(event.name, 'camera-unstable', 'raised', `camera unstable: ${state.outages.length} outages in ${Math.round(FLAP_WINDOW_MS / 60_000)} min`);
      return { pass: false };
    }
    return { pass: true, alert };
  }

  /** A storage error/ok event, passed on to webhooks (a resent one is not). */
  storageEvent(event: { id?: string; name?: string; storage: 'error' | 'ok'; reason?: string; path?: string }): Alert | undefined {
    if (event.id !== undefined) {
      if (this.seenIds.includes(event.id)) return undefined;
      this.seenIds.push(event.id);
      if (this.seenIds.length > REMEMBERED_IDS) this.seenIds.shift();
    }
    const text = event.storage === 'error'
      ? `Storage error${event.reason ? `: ${event.reason}` : ''}${event.path ? ` (${event.path})` : ''}`
      : 'Storage OK again';
    return this.make(event.name, 'storage', event.storage === 'error' ? 'raised' : 'cleared', text);
  }

  /** The time-based conditions: silence, no recording, and the end of a camera's instability. */
  check(): void {
    const { settings, clock } = this.options;
    const now = clock.monotonic();
    for (const [key, state] of this.cameras) {
      const name = key === '' ? undefined : key;
      if (settings.pancakeSilentMs > 0 && !state.silent && now - state.heardAt >= settings.pancakeSilentMs) {
        state.silent = true;
        // The limit, not the time measured: said when it is crossed (to within a check), the same text every time.
        const since = state.heard ? 'not connected' : 'not connected since postproc started';
        this.emit(name, 'pancake-silent', 'raised', `pancake ${since}: nothing heard for ${formatDuration(settings.pancakeSilentMs)}`);
      }
      const limit = settings.noRecordingMs ?? (state.segmentMs === undefined ? undefined : expectedGapMs(state.segmentMs));
      if (limit !== undefined && limit > 0 && !state.noRecording && now - state.fileAt >= limit) {
        state.noRecording = true;
        const expected = settings.noRecordingMs === undefined ? ` (recordings are ${formatDuration(state.segmentMs!)} long)` : '';
        this.emit(name, 'no-recording', 'raised', `recording stopped: no finished recording for ${formatDuration(limit)}${expected}`);
      }
      if (state.unstable && now - state.lastChangeAt >= FLAP_WINDOW_MS) {
        state.unstable = false;
        state.outages = [];
        const how = state.down ? `, but down${state.down.reason ? `: ${state.down.reason}` : ''}` : ', up';
        this.emit(name, 'camera-unstable', 'cleared', `camera stable again${how} (${state.outagesWhileUnstable} outages in all)`);
      }
    }
  }

  /** Free space now on each file system postproc watches; raised below the threshold, cleared at or above it. */
  disks(readings: readonly DiskReading[]): void {
    const limit = this.options.settings.diskFreeBytes;
    if (limit <= 0) return;
    for (const r of readings) {
      const where = r.dirs.join(', ');
      if (r.freeBytes < limit && !this.lowDisks.has(r.device)) {
        this.lowDisks.add(r.device);
        this.emit(undefined, 'disk', 'raised', `disk almost full: ${formatBytes(r.freeBytes)} free for ${where} (alert below ${formatBytes(limit)})`);
      } else if (r.freeBytes >= limit && this.lowDisks.has(r.device)) {
        this.lowDisks.delete(r.device);
        this.emit(undefined, 'disk', 'cleared', `disk ok again: ${formatBytes(r.freeBytes)} free for ${where}`);
      }
    }
  }

  /** Each destination's backlog now; raised when its oldest file waited too long, cleared when it caught up. */
  uploads(backlogs: readonly UploadBacklog[]): void {
    const limit = this.options.settings.uploadLateMs;
    if (limit <= 0) return;
    const now = this.options.clock.now();
    for (const b of backlogs) {
      const age = b.count > 0 && b.oldestQueuedAt !== undefined ? now - b.oldestQueuedAt : 0;
      if (age > limit && !this.lateUploads.has(b.destination)) {
        this.lateUploads.add(b.destination);
        this.emit(undefined, 'upload-late', 'raised', `backup behind: ${b.count} file(s) pending for ${b.destination}, the oldest for ${formatDuration(age)}`);
      } else if (age <= limit && this.lateUploads.has(b.destination)) {
        this.lateUploads.delete(b.destination);
        this.emit(undefined, 'upload-late', 'cleared', `backup caught up: ${b.destination}${b.count > 0 ? ` (${b.count} file(s) pending, none late)` : ''}`);
      }
    }
  }

  /** The shortest time a condition can take to arise: how often {@link check} is worth calling. */
  shortestThresholdMs(): number | undefined {
    const { pancakeSilentMs, noRecordingMs, uploadLateMs } = this.options.settings;
    const all = [pancakeSilentMs, noRecordingMs ?? 0, uploadLateMs].filter((ms) => ms > 0);
    return all.length === 0 ? undefined : Math.min(...all);
  }

  private camera(name: string | undefined): CameraState {
    const key = name ?? '';
    let state = this.cameras.get(key);
    if (!state) {
      state = this.newCamera(true);
      this.cameras.set(key, state);
      // A named pancake was heard: the placeholder for "pancake" at start stood for it; forget it (clearing what it raised).
      const placeholder = this.cameras.get('');
      if (key !== '' && placeholder && !placeholder.heard) {
        this.cameras.delete('');
        // Cleared as raised, without a name.
        if (placeholder.silent) this.emit(undefined, 'pancake-silent', 'cleared', 'pancake connected again');
        if (placeholder.noRecording) {
          state.noRecording = true;
          state.noRecordingUnnamed = true;
        }
      }
    }
    return state;
  }

  private newCamera(heard: boolean): CameraState {
    const now = this.options.clock.monotonic();
    return { heardAt: now, heard, fileAt: now, silent: false, noRecording: false, outages: [], unstable: false, outagesWhileUnstable: 0, lastChangeAt: now };
  }

  private make(name: string | undefined, kind: AlertKind, state: Alert['state'], text: string): Alert {
    return { camera: name ?? null, kind, state, text: name === undefined ? text : `${name}: ${text}`, time: new Date(this.options.clock.now()).toISOString() };
  }

  private emit(name: string | undefined, kind: AlertKind, state: Alert['state'], text: string): void {
    this.options.onAlert(this.make(name, kind, state, text));
  }
}
