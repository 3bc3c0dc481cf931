// Times as the API writes and reads them: ISO 8601 with the Pi's UTC offset, local days across daylight-saving changes (pure, process TZ).

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `+01:00` for the local zone's offset at `ms`. */
export function utcOffset(ms: number): string {
  const minutes = -new Date(ms).getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** `2026-12-01T18:05:10.250+01:00`: local time with its offset, to the millisecond. */
export function formatLocal(ms: number): string {
  const d = new Date(Math.round(ms));
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}${utcOffset(d.getTime())}`;
}

/** The IANA name of the local time zone (`Europe/London`). */
export function timeZoneName(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** Local midnight at or before `ms`. */
export function localMidnight(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** The next local midnight (a day is 23 or 25 hours long across a daylight-saving change). */
export function nextLocalMidnight(midnight: number): number {
  const d = new Date(midnight);
  d.setDate(d.getDate() + 1);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** `YYYY-MM-DD` of the local day holding `ms`. */
export function localDayOf(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** [from, to) in ms of a local calendar day (month and day from 1). */
export function localDayRange(year: number, month: number, day: number): { from: number; to: number } {
  const from = new Date(year, month - 1, day, 0, 0, 0, 0);
  from.setFullYear(year); // years below 100 are not 19xx
  return { from: from.getTime(), to: nextLocalMidnight(from.getTime()) };
}

// Date, time to the minute or second (fractions allowed), then Z, an offset, or nothing (local time).
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Wall-clock ms of an ISO 8601 time: `2026-12-01T18:05:10.250+01:00`, `…Z`, or without an offset in
 * local time. A `+` that a query string turned into a space is taken as `+`. Undefined for anything else.
 */
export function parseTime(text: string): number | undefined {
  const fixed = text.trim().replace(/ (\d{2}:?\d{2})$/, '+$1');
  const m = ISO.exec(fixed);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s = '0', frac = '', zone] = m;
  const nums = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  if (nums[1] < 1 || nums[1] > 12 || nums[2] < 1 || nums[2] > 31 || nums[3] > 23 || nums[4] > 59 || nums[5] > 59) return undefined;
  const ms = frac ? Math.round(Number(`0${frac}`) * 1000) : 0;
  if (zone === undefined) {
    const local = new Date(nums[0], nums[1] - 1, nums[2], nums[3], nums[4], nums[5], ms);
    return local.getDate() === nums[2] ? local.getTime() : undefined;
  }
  const utc = Date.UTC(nums[0], nums[1] - 1, nums[2], nums[3], nums[4], nums[5], ms);
  if (new Date(utc).getUTCDate() !== nums[2]) return undefined;
  if (zone === 'Z') return utc;
  const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
  const offset = (Number(z[2]) * 60 + Number(z[3])) * (z[1] === '-' ? -1 : 1);
  return utc - offset * 60_000;
}
