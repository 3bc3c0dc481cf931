// Test and benchmark helper: a process's children by command name, from /proc (e.g. the ffmpeg children pancake runs).
import fs from 'node:fs';

/** The pids of `pid`'s children whose command is `comm` (e.g. pancake's ffmpeg decoders). */
export function childrenNamed(pid: number, comm: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === comm) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
