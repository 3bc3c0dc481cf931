// Debian's Chromium, headless, driven by playwright-core (no browser download).
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Launches headless Chromium with the flags this sandbox needs (no network beyond loopback, no GPU), and `extraArgs`. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required', ...extraArgs],
  });
}

/** A name that resolves to 127.0.0.1 but is no secure context (not localhost): pages there get no WebCodecs. */
export const NON_SECURE_HOST = 'pancake.test';

/** Chromium flag mapping {@link NON_SECURE_HOST} to 127.0.0.1, for this browser only. */
export const NON_SECURE_HOST_RULE = `--host-resolver-rules=MAP ${NON_SECURE_HOST} 127.0.0.1`;
