// GET /api/status: what pancake is doing, gathered from its parts when asked.
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../../common/clock.js';
import type { AccessUnit } from '../../common/h264/annexb.js';
import type { SpsInfo } from '../../common/h264/sps.js';
import { VERSION } from '../../common/paths.js';
import type { PancakeStatus } from '../status.js';
import type { StreamConsumer } from '../stream/consumer.js';
import type { ContinuousState } from './api.js';
import { formatLocal, timeZoneName, utcOffset } from './times.js';

/** Remembers the newest picture size of the camera stream (a consumer of it, doing nothing else). */
export class StreamFacts implements StreamConsumer {
  width: number | null = null;
  height: number | null = null;

  push(_unit: AccessUnit, sps: SpsInfo | undefined): void {
    if (sps) {
      this.width = sps.width;
      this.height = sps.height;
    }
  }
}

export interface StatusSources {
  name?: string;
  status: PancakeStatus;
  facts: StreamFacts;
  fps: number;
  /** Wall-clock ms pancake started at. */
  startedAt: number;
  continuous?: () => ContinuousState;
  detection?: { enabled: boolean; writing: () => boolean };
  dirs: { dir: string; kind: 'continuous' | 'detection' }[];
  clock: Clock;
}

/** The body of GET /api/status (see the README's API section). */
export async function statusReport(s: StatusSources): Promise<object> {
  const now = s.clock.now();
  const disks = [];
  for (const { dir, kind } of s.dirs) {
    const fs = await fsp.statfs(dir).catch(() => undefined);
    disks.push({ dir: path.resolve(dir), kind, freeBytes: fs ? fs.bavail * fs.bsize : null, totalBytes: fs ? fs.blocks * fs.bsize : null });
  }
  const st = s.status;
  return {
    name: s.name ?? null, version: VERSION, uptimeSeconds: Math.round((now - s.startedAt) / 1000),
    timeZone: timeZoneName(), utcOffset: utcOffset(now),
    camera: { state: st.camera, since: st.cameraSince === undefined ? null : formatLocal(st.cameraSince), reason: st.camera === 'down' ? (st.cameraReason ?? null) : null },
    recording: {
      continuous: s.continuous?.() ?? { enabled: false, paused: false, writing: false },
      detection: { enabled: s.detection?.enabled ?? false, writing: s.detection?.writing() ?? false },
    },
    detection: st.detection ?? null,
    width: s.facts.width, height: s.facts.height, fps: s.fps,
    disks,
  };
}
