// Runs the compiled pancake as a child for end-to-end tests, with its log captured.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import path from 'node:path';
import { DIST, envWithFakeCamera, removeTmp } from './env.js';
import type { EventSink } from './event-sink.js';

export interface PancakeProcess {
  child: ChildProcess;
  log(): string;
  /** Resolves with the exit code (or signal) once it has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when the log contains `text`. */
  waitForLog(text: string | RegExp, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/** Starts dist/pancake/main.js; `wrap` is a command line to run it under (e.g. unshare … sh -c '…'). */
export function startPancake(args: string[], env: Record<string, string> = {}, cwd?: string, wrap: string[] = []): PancakeProcess {
  // The live view always listens; on a free port of 127.0.0.1 unless a test chooses, so tests never collide on 8000.
  const web = args.includes('--port') ? [] : ['--host', '127.0.0.1', '--port', '0'];
  const argv = [...wrap, process.execPath, path.join(DIST, 'pancake', 'main.js'), ...web, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { env: envWithFakeCamera(env), cwd });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    log: () => output,
    exited,
    async waitForLog(text, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      const has = (): boolean => (typeof text === 'string' ? output.includes(text) : text.test(output));
      while (!has()) {
        if (Date.now() > until) throw new Error(`log never showed ${String(text)}:\n${output}`);
        if (child.exitCode !== null) throw new Error(`pancake exited (${child.exitCode}) before ${String(text)}:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(signal = 'SIGTERM') {
      const t = Date.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const r = await exited;
      return { ...r, ms: Date.now() - t };
    },
  };
}

/** What an end-to-end test starts: set these, and they are stopped and removed after each test. */
export interface PancakeTest<P extends PancakeProcess = PancakeProcess> {
  tmp?: string;
  pancake?: P;
  sink?: EventSink;
}

/** Registers the clean-up of a {@link PancakeTest} after each test of the enclosing suite. */
export function usePancakeTest<P extends PancakeProcess = PancakeProcess>(): PancakeTest<P> {
  const t: PancakeTest<P> = {};
  afterEach(async () => {
    await t.pancake?.stop('SIGKILL');
    await t.sink?.close();
    removeTmp(t.tmp);
    t.pancake = t.sink = t.tmp = undefined;
  });
  return t;
}
