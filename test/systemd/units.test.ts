// The systemd units: systemd-analyze verify finds no error or warning, and each has the directives the operator relies on.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/common/paths.js';
import { DIST, makeTmp, removeTmp, run } from '../helpers/env.js';

const UNITS_DIR = path.join(PROJECT_ROOT, 'systemd');
const UNIT_NAMES = ['pancake-cleanup.service', 'pancake-cleanup.timer', 'pancake.service', 'postproc.service'];
const HOME = '/home/pi/raspberry-pancake';

/**
 * Runs `systemd-analyze verify` on unit files and returns everything it said. It exits 0 even for
 * an unknown directive or a bad value ("…, ignoring."), so any output at all counts as a problem.
 */
function verify(files: string[]): { status: number | null; said: string } {
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8' });
  if (r.error) throw new Error(`systemd-analyze not runnable (npm test installs it with scripts/deps.sh --test): ${r.error.message}`);
  return { status: r.status, said: (r.stdout + r.stderr).trim() };
}

/** A unit file's directives by section, values in order; continuation lines joined, comments dropped. */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const sections: Record<string, Record<string, string[]>> = {};
  let current: Record<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = sections[section[1]!] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) throw new Error(`not a directive: ${line}`);
    (current[line.slice(0, eq).trim()] ??= []).push(line.slice(eq + 1).trim().replace(/\s+/g, ' '));
  }
  return sections;
}

const units = Object.fromEntries(UNIT_NAMES.map((n) => [n, parseUnit(fs.readFileSync(path.join(UNITS_DIR, n), 'utf8'))]));
const service = (name: string): Record<string, string[]> => units[name]!.Service!;
const one = (name: string, key: string): string => {
  const values = service(name)[key] ?? [];
  expect(values, `${name}: ${key}=`).toHaveLength(1);
  return values[0]!;
};

describe('systemd units', () => {
  it('are the four the README names', () => {
    expect(fs.readdirSync(UNITS_DIR).sort()).toEqual(UNIT_NAMES);
  });

  it('pass systemd-analyze verify without a single complaint', () => {
    const r = verify(UNIT_NAMES.map((n) => path.join(UNITS_DIR, n)));
    expect(r.said).toBe('');
    expect(r.status).toBe(0);
  });

  it('open with a comment saying how to install them', () => {
    for (const n of UNIT_NAMES) {
      const text = fs.readFileSync(path.join(UNITS_DIR, n), 'utf8');
      expect(text.startsWith('# '), n).toBe(true);
      expect(text, n).toMatch(/sudo systemctl (daemon-reload|enable --now)/);
    }
  });

  describe('the check itself fails on a broken unit', () => {
    let tmp: string;
    beforeEach(() => {
      tmp = makeTmp('pancake-units-');
    });
    afterEach(() => removeTmp(tmp));

    it.each([
      // Anchored at line starts: the comments mention some of these directives too.
      ['a misspelt directive', (t: string) => t.replace(/^Restart=always$/m, 'Restrat=always'), /Unknown key/],
      ['a bad value', (t: string) => t.replace(/^KillMode=control-group$/m, 'KillMode=control_group'), /Failed to parse/],
      ['a missing program', (t: string) => t.replace(/^ExecStart=\/usr\/bin\/env /m, 'ExecStart=/usr/bin/no-such-env '), /not executable/],
      ['a relative WorkingDirectory', (t: string) => t.replace(/^WorkingDirectory=.*$/m, 'WorkingDirectory=raspberry-pancake'), /WorkingDirectory/],
    ])('%s', (_name, breakIt, complaint) => {
      const copy = path.join(tmp, 'pancake.service');
      const text = fs.readFileSync(path.join(UNITS_DIR, 'pancake.service'), 'utf8');
      const broken = breakIt(text);
      expect(broken).not.toBe(text);
      fs.writeFileSync(copy, broken);
      expect(verify([copy]).said).toMatch(complaint);
    });
  });
});

describe('pancake.service and postproc.service', () => {
  it.each(['pancake.service', 'postproc.service'])('%s: runs as pi in the project, restarts, stops its children, is hardened', (n) => {
    const u = units[n]!;
    expect(u.Unit!.After).toContain('network-online.target');
    expect(u.Unit!.Wants).toContain('network-online.target');
    expect(one(n, 'User')).toBe('pi');
    expect(one(n, 'WorkingDirectory')).toBe(HOME);
    expect(one(n, 'Restart')).toBe('always');
    expect(Number.parseInt(one(n, 'RestartSec'), 10)).toBeGreaterThan(0);
    expect(one(n, 'KillMode')).toBe('control-group');
    expect(one(n, 'NoNewPrivileges')).toBe('yes');
    expect(one(n, 'ProtectSystem')).toBe('strict');
    expect(one(n, 'ProtectHome')).toBe('read-only'); // not "yes": the project, password.txt and ~/.ssh are in /home/pi
    expect(one(n, 'PrivateTmp')).toBe('yes');
    // Settings that would break the camera, the abstract socket between the two, or Node's JIT.
    for (const key of ['PrivateDevices', 'PrivateNetwork', 'MemoryDenyWriteExecute', 'DynamicUser']) expect(service(n)[key], key).toBeUndefined();
    expect(u.Install!.WantedBy).toEqual(['multi-user.target']);
  });

  it('pancake can use the camera and write recordings (its outbox is under h264/) and logs', () => {
    expect(one('pancake.service', 'SupplementaryGroups').split(' ')).toContain('video');
    expect(one('pancake.service', 'ReadWritePaths').split(' ')).toEqual([`-${HOME}/h264`, `-${HOME}/log`]);
  });

  it('postproc can write mp4/ (its queue is under mp4/) and log/', () => {
    expect(one('postproc.service', 'ReadWritePaths').split(' ')).toEqual([`-${HOME}/mp4`, `-${HOME}/log`]);
  });

  /** True once a program's --help lists options of its own, beyond the skeleton's --version and --help. */
  const hasOwnOptions = (script: string): boolean =>
    (spawnSync(process.execPath, [path.join(PROJECT_ROOT, script), '--help'], { encoding: 'utf8' }).stdout.match(/^ {2}-/gm) ?? []).length > 2;

  it.for([
    ['pancake.service', 'dist/pancake/main.js --vflip --hflip --resolution 640 480 --fps 12 --record-continuous h264 --login password.txt --emit ppp'],
    ['postproc.service', 'dist/postproc/main.js ppp --convert mp4 --upload-after-convert 1 --upload-scp pi@somewhere.on.planet 1234 bakery/oven --log log/postproc.log'],
  ])('%s runs the original example with an absolute ExecStart, and the program knows every flag', async ([n, command], ctx) => {
    expect(one(n!, 'ExecStart')).toBe(`/usr/bin/env node ${command}`);
    const [script, ...args] = command!.split(' ');
    // While a program is still the foundation's skeleton there is nothing to compare with yet.
    if (!hasOwnOptions(script!)) return ctx.skip(`${script} has no options of its own yet`);
    const help = await run(process.execPath, [path.join(PROJECT_ROOT, script!), '--help']);
    expect(help.status).toBe(0);
    for (const flag of args.filter((a) => a.startsWith('--'))) expect(help.stdout, `${script} --help`).toContain(flag);
  });
});

describe('pancake-cleanup.service and .timer', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = makeTmp('pancake-cleanup-unit-');
  });
  afterEach(() => removeTmp(tmp));

  it('is a oneshot limited to h264/ and mp4/, started hourly by the timer, catching up after downtime', () => {
    expect(one('pancake-cleanup.service', 'Type')).toBe('oneshot');
    expect(one('pancake-cleanup.service', 'User')).toBe('pi');
    expect(one('pancake-cleanup.service', 'WorkingDirectory')).toBe(HOME);
    expect(one('pancake-cleanup.service', 'ReadWritePaths').split(' ')).toEqual([`${HOME}/h264`, `${HOME}/mp4`]);
    expect(units['pancake-cleanup.service']!.Install).toBeUndefined();
    const timer = units['pancake-cleanup.timer']!;
    expect(timer.Timer!.OnCalendar).toEqual(['hourly']);
    expect(timer.Timer!.Persistent).toEqual(['true']);
    expect(timer.Install!.WantedBy).toEqual(['timers.target']);
  });

  it('runs a command that works, here with --dry-run on a copy of the layout', async () => {
    const exec = one('pancake-cleanup.service', 'ExecStart').split(' ');
    expect(exec.slice(0, 3)).toEqual(['/usr/bin/env', 'node', 'dist/util/limit-files-by-size.js']);
    fs.mkdirSync(path.join(tmp, 'h264'));
    fs.mkdirSync(path.join(tmp, 'mp4'));
    const r = await run(process.execPath, [path.join(DIST, 'util/limit-files-by-size.js'), '--dry-run', ...exec.slice(3)], { cwd: tmp });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('h264: would remove 0 files');
    expect(r.stdout).toContain('mp4: would remove 0 files');
  });
});
