// The compiled postproc as a child process for end-to-end tests: its output, waiting for log lines, stopping it.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { DIST } from '../helpers/env.js';

/** One run of dist/postproc/main.js. */
export class PostprocProcess {
  private text = '';
  private readonly exitPromise: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => (this.text += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.text += d.toString()));
    this.exitPromise = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  }

  static start(args: string[], env: NodeJS.ProcessEnv = process.env): PostprocProcess {
    return new PostprocProcess(spawn(process.execPath, [path.join(DIST, 'postproc', 'main.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** Everything it printed (the log goes to stdout without --log). */
  get output(): string {
    return this.text;
  }

  /** How many log lines contain `text`. */
  count(text: string): number {
    return this.text.split('\n').filter((l) => l.includes(text)).length;
  }

  get exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exitPromise;
  }

  /** Resolves when the output matches (rejects after `timeoutMs` or when it exits first). */
  async waitFor(pattern: string | RegExp, timeoutMs = 15_000): Promise<void> {
    const matches = (): boolean => (typeof pattern === 'string' ? this.text.includes(pattern) : pattern.test(this.text));
    const deadline = performance.now() + timeoutMs;
    let exited = false;
    void this.exitPromise.then(() => (exited = true));
    while (!matches()) {
      if (exited) throw new Error(`postproc exited before printing ${String(pattern)}:\n${this.text}`);
      if (performance.now() > deadline) throw new Error(`postproc did not print ${String(pattern)} within ${timeoutMs} ms:\n${this.text}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Sends a signal and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exitPromise;
  }
}
