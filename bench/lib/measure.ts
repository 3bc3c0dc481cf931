// Benchmark helpers: run a command and measure its wall time, CPU time and peak RSS; print tables.
import { spawn, type SpawnOptions } from 'node:child_process';

export interface Measurement {
  /** Wall-clock seconds from start to exit. */
  wall: number;
  /** User + system CPU seconds of the command and all its descendants that were waited for. */
  cpu: number;
  /** Peak resident set size in MB of the largest process in the tree. */
  maxRssMb: number;
  status: number;
  stderr: string;
}

// getrusage(RUSAGE_CHILDREN) in a tiny Python parent: Node cannot report a child's rusage itself.
// /usr/bin/python3 is on every Debian and Raspberry Pi OS machine.
const RUSAGE = `
import json, resource, subprocess, sys, time
t = time.monotonic()
p = subprocess.run(sys.argv[1:])
w = time.monotonic() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stdout.flush()
sys.stderr.write("\\nRUSAGE " + json.dumps({"wall": w, "cpu": r.ru_utime + r.ru_stime, "maxrss_kb": r.ru_maxrss, "status": p.returncode}) + "\\n")
`;

/** Runs `cmd args` to completion under a rusage wrapper. */
export function measure(cmd: string, args: string[], options: SpawnOptions = {}): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', ['-c', RUSAGE, cmd, ...args], { ...options, stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.length > 1_000_000) stderr = stderr.slice(-100_000);
    });
    child.on('error', reject);
    child.on('close', () => {
      const m = /\nRUSAGE (\{.*\})\n?$/.exec(stderr);
      if (!m) return reject(new Error(`no rusage from ${cmd}: ${stderr.slice(-2000)}`));
      const r = JSON.parse(m[1]!) as { wall: number; cpu: number; maxrss_kb: number; status: number };
      resolve({ wall: r.wall, cpu: r.cpu, maxRssMb: r.maxrss_kb / 1024, status: r.status, stderr: stderr.slice(0, m.index) });
    });
  });
}

/** Prints rows as an aligned text table (first row is the header). */
export function printTable(rows: (string | number)[][]): void {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  for (const [n, r] of cells.entries()) {
    console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toFixed(4);
}
