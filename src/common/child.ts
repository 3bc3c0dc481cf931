// A child process owned by handle: own process group, bounded stderr tail, one way to stop it.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/** How a child ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The spawn error (ENOENT: not installed), if it never ran. */
  error?: NodeJS.ErrnoException;
}

export interface ChildOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Bytes of stderr kept for error messages (the newest ones). */
  stderrTailBytes?: number;
  /** Called with each stderr chunk as it arrives (for logging). */
  onStderr?: (text: string) => void;
  /** Whether stdin is a pipe (for feeding a decoder) or ignored. */
  stdin?: boolean;
}

/**
 * A running child. It is started in its own process group, so {@link ChildProcessHandle.kill} also
 * reaches whatever it spawned; nothing is ever killed by name.
 */
export class ChildProcessHandle {
  readonly command: string;
  readonly args: readonly string[];
  readonly stdout: Readable;
  readonly stdin: Writable | null;
  /** Resolves once, when the child has exited (or failed to start). */
  readonly exited: Promise<ChildExit>;
  private readonly child: ChildProcessByStdio<Writable | null, Readable, Readable>;
  private tail = '';
  private done = false;

  constructor(command: string, args: readonly string[], options: ChildOptions = {}) {
    this.command = command;
    this.args = args;
    const limit = options.stderrTailBytes ?? 4096;
    this.child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      detached: true, // its own process group: kill(-pid) stops the whole tree
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
    this.stdout = this.child.stdout;
    this.stdin = this.child.stdin;
    this.stdin?.on('error', () => {}); // EPIPE when it dies is reported through `exited`
    this.child.stderr.on('data', (d: Buffer) => {
      const text = d.toString();
      this.tail = (this.tail + text).slice(-limit);
      options.onStderr?.(text);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error: NodeJS.ErrnoException) => {
        if (this.done) return;
        this.done = true;
        resolve({ code: null, signal: null, error });
      });
      this.child.once('close', (code, signal) => {
        if (this.done) return;
        this.done = true;
        resolve({ code, signal });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last bytes the child wrote to stderr. */
  stderrTail(): string {
    return this.tail;
  }

  /** The command line, for messages. */
  commandLine(): string {
    return [this.command, ...this.args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  }

  /** Signals the child's whole process group; harmless once it has exited. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.done || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  async stop(graceMs = 2000): Promise<ChildExit> {
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** "exit code 1", "signal SIGKILL" or "not found", for failure messages. */
export function describeExit(exit: ChildExit): string {
  if (exit.error) return exit.error.code === 'ENOENT' ? 'not found' : exit.error.message;
  if (exit.signal) return `signal ${exit.signal}`;
  return `exit code ${exit.code}`;
}

/** The last `n` non-empty lines of a text (a child's stderr tail), joined with " | ". */
export function lastLines(text: string, n = 5): string {
  return text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).slice(-n).join(' | ');
}
