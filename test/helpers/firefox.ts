// Debian's firefox-esr, headless, driven by puppeteer-core over WebDriver BiDi (no browser download); installed with apt when missing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';
import { NON_SECURE_HOST } from './browser.js';

export const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/**
 * The path of firefox-esr, installing Debian's package first when it is missing (as
 * `scripts/deps.sh --test` does), or why it cannot be had: the tests that need it then say so
 * and skip.
 */
export function ensureFirefox(): { path: string } | { missing: string } {
  if (fs.existsSync(FIREFOX)) return { path: FIREFOX };
  const apt = spawnSync('bash', ['-c', 'command -v apt-get'], { encoding: 'utf8' });
  if (apt.status !== 0) return { missing: `${FIREFOX} is not installed and this system has no apt-get to install firefox-esr` };
  const root = process.getuid?.() === 0;
  const install = root ? ['apt-get'] : ['sudo', '-n', 'apt-get'];
  const r = spawnSync(install[0]!, [...install.slice(1), 'install', '-y', '-q', '--no-install-recommends', 'firefox-esr'], {
    encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000,
  });
  if (r.status === 0 && fs.existsSync(FIREFOX)) return { path: FIREFOX };
  const why = (r.stderr || r.stdout || String(r.error ?? '')).trim().split('\n').slice(-2).join(' ');
  return { missing: `${FIREFOX} is not installed and apt-get could not install firefox-esr (${why || `exit ${r.status}`}); run scripts/deps.sh --test` };
}

/**
 * Launches headless Firefox. {@link NON_SECURE_HOST} resolves to 127.0.0.1 in this profile only
 * (network.dns.localDomains), so a page there is a non-secure origin on loopback, without
 * touching /etc/hosts.
 */
export function launchFirefox(executablePath: string): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath,
    headless: true,
    extraPrefsFirefox: {
      'network.dns.localDomains': NON_SECURE_HOST,
      'media.autoplay.default': 0,
      'media.autoplay.blocking_policy': 0,
      // Nothing beyond loopback: no captive-portal, connectivity or update checks.
      'network.captive-portal-service.enabled': false,
      'network.connectivity-service.enabled': false,
      'app.update.enabled': false,
    },
  });
}
