// Upload triggers: the minute schedule (drift-free, on the wall clock) and every-N-conversions.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/common/clock.js';
import { nextTriggerAt, UploadTrigger } from '../../../src/postproc/upload/trigger.js';
import { captureLogger } from './capture-logger.js';

const utcMinute = (ms: number): number => new Date(ms).getUTCMinutes();
const at = (h: number, m: number, s = 0, ms = 0): number => Date.UTC(2026, 0, 1, h, m, s, ms);
const iso = (ms: number): string => new Date(ms).toISOString().slice(11, 23);

describe('nextTriggerAt', () => {
  it.each([
    [at(12, 0), [0, 20, 40], at(12, 20)],
    [at(12, 19, 59, 999), [0, 20, 40], at(12, 20)],
    [at(12, 20), [0, 20, 40], at(12, 40)],
    [at(12, 50), [0, 20, 40], at(13, 0)],
    [at(12, 5, 0, 1), [5], at(13, 5)],
    [at(23, 59, 30), [0], Date.UTC(2026, 0, 2, 0, 0)],
    [at(12, 0), [59, 1], at(12, 1)],
  ])('after %s with minutes %j → %s', (now, minutes, expected) => {
    expect(iso(nextTriggerAt(now, minutes, utcMinute))).toBe(iso(expected));
    expect(nextTriggerAt(now, minutes, utcMinute)).toBe(expected);
  });

  it('counts minutes in the local zone, half-hour offsets included', () => {
    // India is UTC+05:30: 12:00 UTC is 17:30 there, so the next local :00 is 12:30 UTC.
    const india = (ms: number): number => new Date(ms + 5.5 * 3_600_000).getUTCMinutes();
    expect(nextTriggerAt(at(12, 0), [0], india)).toBe(at(12, 30));
  });
});

describe('UploadTrigger', () => {
  it('fires at minutes 0, 20 and 40 exactly, hour after hour, without drift', () => {
    const clock = new ManualClock(at(12, 5, 30));
    const fired: number[] = [];
    const trigger = new UploadTrigger({ minutes: [0, 20, 40], clock, logger: captureLogger().logger, fire: () => fired.push(clock.now()), minuteOf: utcMinute });
    trigger.start();
    clock.advance(3 * 3_600_000);
    expect(fired.map(iso)).toEqual(
      ['12:20', '12:40', '13:00', '13:20', '13:40', '14:00', '14:20', '14:40', '15:00'].map((t) => `${t}:00.000`),
    );
    trigger.close();
    clock.advance(3_600_000);
    expect(fired).toHaveLength(9);
  });

  it('waits for the real mark when the wall clock is set back, and fires once for marks it jumps over', () => {
    const clock = new ManualClock(at(12, 10));
    const fired: number[] = [];
    const trigger = new UploadTrigger({ minutes: [20], clock, logger: captureLogger().logger, fire: () => fired.push(clock.now()), minuteOf: utcMinute });
    trigger.start();
    clock.setWall(at(12, 0)); // NTP moves the clock back 10 minutes
    clock.advance(10 * 60_000);
    expect(fired).toEqual([]); // the wall clock says 12:10: not yet
    clock.advance(10 * 60_000);
    expect(fired).toEqual([at(12, 20)]);
    clock.setWall(at(15, 0)); // and forward over three marks (13:20, 14:20, 15:20 is still ahead)
    clock.advance(60 * 60_000);
    expect(fired.map(iso)).toEqual(['12:20:00.000', '15:01:00.000', '15:20:00.000']); // noticed within a minute
    trigger.close();
  });

  it('fires after every 3 conversions', () => {
    const clock = new ManualClock();
    let fired = 0;
    const trigger = new UploadTrigger({ afterConvert: 3, clock, logger: captureLogger().logger, fire: () => fired++ });
    trigger.start(); // no minutes: no timer
    const counts: number[] = [];
    for (let i = 0; i < 7; i++) {
      trigger.converted();
      counts.push(fired);
    }
    expect(counts).toEqual([0, 0, 1, 1, 1, 2, 2]);
    clock.advance(24 * 3_600_000);
    expect(fired).toBe(2);
    trigger.close();
  });

  it('combines both triggers, as the original allowed', () => {
    const clock = new ManualClock(at(12, 0));
    const fired: string[] = [];
    const trigger = new UploadTrigger({ afterConvert: 1, minutes: [30], clock, logger: captureLogger().logger, fire: () => fired.push(iso(clock.now())), minuteOf: utcMinute });
    trigger.start();
    clock.advance(10 * 60_000);
    trigger.converted();
    clock.advance(30 * 60_000);
    expect(fired).toEqual(['12:10:00.000', '12:30:00.000']);
    trigger.close();
  });

  it.each([
    [{ afterConvert: 0 }, /afterConvert/],
    [{ afterConvert: 1.5 }, /afterConvert/],
    [{ minutes: [60] }, /0\.\.59/],
    [{ minutes: [-1] }, /0\.\.59/],
  ])('rejects %j', (bad, message) => {
    expect(() => new UploadTrigger({ ...bad, clock: new ManualClock(), logger: captureLogger().logger, fire: () => {} })).toThrow(message);
  });
});
