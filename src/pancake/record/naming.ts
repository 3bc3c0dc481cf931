// Recording file names and split marks, from wall-clock time in the local time zone (pure).
import { FIRST_RESTART, formatRecordingBase, withRestart } from '../../common/recording-name.js';

/** `YYYYMMDD-hhmm` of a continuous recording starting at `wallMs` (local time, as the original). */
export function continuousBaseName(wallMs: number): string {
  return formatRecordingBase('continuous', wallMs);
}

/** `YYYYMMDD-hhmmss` of a detection recording starting at `wallMs`. */
export function detectionBaseName(wallMs: number): string {
  return formatRecordingBase('detection', wallMs);
}

/**
 * The first segment mark strictly after `wallMs`: the next local hh:00, hh:15, … for 15-minute
 * segments. `segmentMinutes` divides 60, so marks are the same every hour.
 */
export function nextSegmentMark(wallMs: number, segmentMinutes: number): number {
  const d = new Date(wallMs);
  const minute = Math.floor(d.getMinutes() / segmentMinutes) * segmentMinutes + segmentMinutes;
  d.setMinutes(minute, 0, 0); // minute 60 rolls over into the next hour (and day)
  return d.getTime();
}

/** Segment lengths that split every hour at the same marks. */
export const VALID_SEGMENT_MINUTES = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60];

/**
 * A file name in `dir` that does not exist yet: `base.h264`, else `base-2.h264`, `base-3.h264` …
 * (a restart within the same minute must never overwrite a recording).
 */
export function uniqueName(base: string, exists: (name: string) => boolean): string {
  if (!exists(`${base}.h264`)) return `${base}.h264`;
  for (let n = FIRST_RESTART; ; n++) {
    const name = `${withRestart(base, n)}.h264`;
    if (!exists(name)) return name;
  }
}
