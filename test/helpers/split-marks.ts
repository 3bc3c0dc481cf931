// Continuous recordings split at 00/15/30/45 minutes past the hour (the default 15-minute segments):
// a test that needs everything it records in one file waits until no mark falls in its span.

export const QUARTER_HOUR_MS = 15 * 60_000;

/**
 * Resolves at once when the next quarter-hour mark is more than `spanMs` away; otherwise waits until
 * just after that mark. Either way a recording of at most `spanMs` started then stays one file.
 * (Every real time zone's offset is a whole number of quarter hours, so local marks are UTC's.)
 */
export async function clearOfSplitMark(spanMs: number, now: () => number = Date.now): Promise<void> {
  const left = QUARTER_HOUR_MS - (now() % QUARTER_HOUR_MS);
  if (left <= spanMs) await new Promise((resolve) => setTimeout(resolve, left + 1000));
}
