// Test helper: wait for a condition (an event has happened), polling, with a limit generous enough for a loaded 2-core CI machine.

/**
 * Resolves once `cond()` is true; throws after `timeoutMs` naming what was awaited, plus `details()`
 * (e.g. the captured log) so that a failure on CI explains itself. The limit is a safety net, never
 * a measurement: a test must not depend on how quickly the condition comes true.
 */
export async function until(cond: () => boolean, what = 'the condition', timeoutMs = 20_000, details?: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) {
      const more = details?.();
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${more ? `\n${more}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
