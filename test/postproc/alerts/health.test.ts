// The health conditions on a test clock: each raised once and cleared once, per camera, with the exact texts.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/common/clock.js';
import { expectedGapMs, formatBytes, formatDuration, HealthMonitor, type Alert, type HealthSettings } from '../../../src/postproc/alerts/health.js';

const MIN = 60_000;
const OFF: HealthSettings = { pancakeSilentMs: 0, diskFreeBytes: 0, uploadLateMs: 0 };

function setup(settings: Partial<HealthSettings>) {
  const clock = new ManualClock();
  const alerts: Alert[] = [];
  const monitor = new HealthMonitor({ settings: { ...OFF, ...settings }, clock, onAlert: (a) => alerts.push(a) });
  // Time passes as on postproc's timer: a check every 10 s.
  const pass = (ms: number): void => {
    for (let t = 0; t < ms; t += 10_000) {
      clock.advance(Math.min(10_000, ms - t));
      monitor.check();
    }
  };
  const said = (): string[] => alerts.map((a) => `${a.camera ?? '-'} ${a.kind} ${a.state}: ${a.text}`);
  return { clock, monitor, alerts, pass, said };
}

const file = (name: string | undefined, startMs: number, lengthMs: number, extra: object = {}) => ({
  ...(name === undefined ? {} : { name }), start: new Date(startMs).toISOString(), end: new Date(startMs + lengthMs).toISOString(), ...extra,
});

describe('HealthMonitor', () => {
  it('pancake silent: raised once after the limit without a heartbeat, cleared once when heard again', () => {
    const t = setup({ pancakeSilentMs: 5 * MIN });
    t.monitor.heard(undefined);
    for (let i = 0; i < 10; i++) {
      t.pass(MIN);
      t.monitor.heard(undefined); // a heartbeat a minute: never silent
    }
    expect(t.alerts).toEqual([]);
    t.pass(4 * MIN + 50_000);
    expect(t.alerts).toEqual([]);
    t.pass(20 * MIN);
    t.monitor.heard(undefined);
    t.monitor.heard(undefined);
    t.pass(MIN);
    expect(t.said()).toEqual([
      '- pancake-silent raised: pancake not connected: nothing heard for 5 min',
      '- pancake-silent cleared: pancake connected again',
    ]);
    expect(t.alerts[0]!.time).toBe(new Date(Date.UTC(2026, 0, 1, 12, 15)).toISOString());
  });

  it('pancake silent: a pancake never heard since postproc started is silent too; a named one clears it without a name', () => {
    const t = setup({ pancakeSilentMs: 5 * MIN });
    t.pass(6 * MIN);
    t.monitor.heard('front');
    t.pass(3 * MIN);
    t.pass(3 * MIN);
    expect(t.said()).toEqual([
      '- pancake-silent raised: pancake not connected since postproc started: nothing heard for 5 min',
      '- pancake-silent cleared: pancake connected again',
      'front pancake-silent raised: front: pancake not connected: nothing heard for 5 min',
    ]);
  });

  it('no recording: learns the segment length from continuous recordings; raised after it plus a margin, cleared by the next one', () => {
    const t = setup({});
    t.monitor.heard('front');
    // Detection clips teach nothing and arm nothing (a detection-only pancake records when something happens).
    t.monitor.recording(file('front', t.clock.now(), 30_000, { detection: true }));
    t.pass(3 * 3600_000);
    expect(t.alerts).toEqual([]);
    t.monitor.recording(file('front', t.clock.now() - 10 * MIN, 10 * MIN));
    expect(expectedGapMs(10 * MIN)).toBe(15 * MIN);
    t.pass(14 * MIN);
    t.monitor.recording(file('front', t.clock.now() - 10 * MIN, 10 * MIN));
    t.pass(14 * MIN + 50_000);
    expect(t.alerts).toEqual([]);
    t.pass(40 * MIN);
    t.monitor.recording(file('front', t.clock.now() - 10 * MIN, 10 * MIN));
    t.monitor.recording(file('front', t.clock.now() - 10 * MIN, 10 * MIN));
    expect(t.said()).toEqual([
      'front no-recording raised: front: recording stopped: no finished recording for 15 min (recordings are 10 min long)',
      'front no-recording cleared: front: recording resumed',
    ]);
  });

  it('no recording: --alert-no-recording counts every recording, from postproc\'s start', () => {
    const t = setup({ noRecordingMs: 20 * MIN });
    t.pass(19 * MIN);
    t.monitor.recording({ detection: true });
    t.pass(19 * MIN);
    expect(t.alerts).toEqual([]);
    t.pass(2 * MIN);
    t.monitor.recording({ detection: false });
    expect(t.said()).toEqual([
      '- no-recording raised: recording stopped: no finished recording for 20 min',
      '- no-recording cleared: recording resumed',
    ]);
  });

  it('flapping: the first 3 outages in 10 min pass one by one; the 4th becomes one "unstable" message, cleared after 10 quiet minutes', () => {
    const t = setup({});
    const passed: string[] = [];
    let n = 0;
    const flap = (state: 'down' | 'up'): void => {
      const r = t.monitor.cameraEvent({ id: `e${n++}`, name: 'front', camera: state, ...(state === 'down' ? { reason: 'no frames' } : {}) });
      if (r.pass) passed.push(`${state}${r.alert ? ` (${r.alert.kind} ${r.alert.state})` : ''}`);
    };
    for (let i = 0; i < 6; i++) {
      flap('down');
      t.pass(30_000);
      flap('up');
      t.pass(60_000);
    }
    expect(passed).toEqual(['down (camera raised)', 'up (camera cleared)', 'down (camera raised)', 'up (camera cleared)', 'down (camera raised)', 'up (camera cleared)']);
    expect(t.said()).toEqual(['front camera-unstable raised: front: camera unstable: 4 outages in 10 min']);
    // A resent event (same id) counts once.
    expect(t.monitor.cameraEvent({ id: 'e0', name: 'front', camera: 'down' }).pass).toBe(true);
    t.pass(8 * MIN); // 9 min since the last change (the loop's last up, then a minute)
    expect(t.alerts).toHaveLength(1);
    t.pass(MIN);
    expect(t.said()[1]).toBe('front camera-unstable cleared: front: camera stable again, up (6 outages in all)');
    // Back to one message per outage.
    flap('down');
    expect(passed.at(-1)).toBe('down (camera raised)');
    t.pass(11 * MIN);
    expect(t.alerts).toHaveLength(2);
  });

  it('flapping that ends with the camera down says so when it clears', () => {
    const t = setup({});
    for (let i = 0; i < 4; i++) {
      t.monitor.cameraEvent({ camera: 'down', reason: 'RTSP 401' });
      if (i < 3) t.monitor.cameraEvent({ camera: 'up' });
    }
    t.pass(10 * MIN);
    expect(t.said()).toEqual([
      '- camera-unstable raised: camera unstable: 4 outages in 10 min',
      '- camera-unstable cleared: camera stable again, but down: RTSP 401 (4 outages in all)',
    ]);
  });

  it('outages further apart than 10 min are never "unstable"', () => {
    const t = setup({});
    for (let i = 0; i < 8; i++) {
      expect(t.monitor.cameraEvent({ camera: 'down' }).pass).toBe(true);
      t.pass(MIN);
      expect(t.monitor.cameraEvent({ camera: 'up' }).pass).toBe(true);
      t.pass(3 * MIN);
    }
    expect(t.alerts).toEqual([]);
  });

  it('disk: raised below the threshold per file system, cleared at or above it', () => {
    const t = setup({ diskFreeBytes: 1024 ** 3 });
    const disk = (freeBytes: number) => [{ device: '2049', dirs: ['/home/pi/mp4', '/home/pi/h264'], freeBytes }, { device: '2050', dirs: ['/mnt/usb'], freeBytes: 5 * 1024 ** 3 }];
    t.monitor.disks(disk(2 * 1024 ** 3));
    t.monitor.disks(disk(900 * 1024 ** 2));
    t.monitor.disks(disk(800 * 1024 ** 2));
    t.monitor.disks(disk(1024 ** 3));
    t.monitor.disks(disk(3 * 1024 ** 3));
    expect(t.said()).toEqual([
      '- disk raised: disk almost full: 900 MB free for /home/pi/mp4, /home/pi/h264 (alert below 1 GB)',
      '- disk cleared: disk ok again: 1 GB free for /home/pi/mp4, /home/pi/h264',
    ]);
  });

  it('backup behind: raised when the oldest pending file waited longer than the limit, naming the destination and count; cleared when caught up', () => {
    const t = setup({ uploadLateMs: 2 * 3600_000 });
    const dest = 'sftp pi@nas:22/bak';
    const queuedAt = t.clock.now();
    t.pass(3600_000);
    t.monitor.uploads([{ destination: dest, count: 3, oldestQueuedAt: queuedAt }, { destination: 'ftp nas', count: 0 }]);
    t.pass(3600_000 + 1000);
    t.monitor.uploads([{ destination: dest, count: 9, oldestQueuedAt: queuedAt }, { destination: 'ftp nas', count: 0 }]);
    t.monitor.uploads([{ destination: dest, count: 10, oldestQueuedAt: queuedAt }, { destination: 'ftp nas', count: 0 }]);
    t.pass(MIN);
    t.monitor.uploads([{ destination: dest, count: 0 }, { destination: 'ftp nas', count: 0 }]);
    t.monitor.uploads([{ destination: dest, count: 0 }, { destination: 'ftp nas', count: 0 }]);
    expect(t.said()).toEqual([
      `- upload-late raised: backup behind: 9 file(s) pending for ${dest}, the oldest for 2 h`,
      `- upload-late cleared: backup caught up: ${dest}`,
    ]);
  });

  it('a threshold of 0 turns its condition off', () => {
    const t = setup({ noRecordingMs: 0 });
    t.monitor.recording(file(undefined, 0, 10 * MIN));
    t.monitor.disks([{ device: '1', dirs: ['/'], freeBytes: 0 }]);
    t.monitor.uploads([{ destination: 'x', count: 5, oldestQueuedAt: 0 }]);
    t.pass(5 * 3600_000);
    expect(t.alerts).toEqual([]);
  });

  it.each([
    [512, '512 bytes'], [1536, '1.5 kB'], [900 * 1024 ** 2, '900 MB'], [1024 ** 3, '1 GB'], [5.25 * 1024 ** 3, '5.3 GB'],
  ])('formatBytes(%d) is %j', (bytes, text) => expect(formatBytes(bytes)).toBe(text));

  it.each([
    [45_000, '45 s'], [5 * MIN, '5 min'], [119 * MIN, '119 min'], [150 * MIN, '2.5 h'],
  ])('formatDuration(%d) is %j', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
