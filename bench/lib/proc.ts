// Benchmark helpers reading a live process's own CPU time and peak RSS from /proc (children excluded).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export { childrenNamed } from '../../test/helpers/proc.js';

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** User + system CPU seconds the process itself has used so far. */
export function processCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime
}

/** Peak resident set size (VmHWM) of the process in MB. */
export function processPeakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU seconds of the children `pid` has waited for (cutime + cstime): a child that ended and was restarted. */
export function reapedChildrenCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

/** Bytes of the .h264 files in `dir` (not pancake's state directory). */
export function recordedBytes(dir: string): number {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.h264')).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
}
