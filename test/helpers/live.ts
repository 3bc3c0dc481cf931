// Helpers for live-view tests: start pancake with its web server on a free port and find that port.
import { startPancake, type PancakeProcess } from './pancake-process.js';

export interface LivePancake extends PancakeProcess {
  url: string;
}

/** pancake with the fake camera, the web server on 127.0.0.1 and a free port (read back from its log). */
export async function startLivePancake(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<LivePancake> {
  const p = startPancake(['--host', '127.0.0.1', '--port', '0', ...args], env, cwd);
  try {
    await p.waitForLog(/web: live view on https?:\/\/127\.0\.0\.1:\d+\//);
  } catch (err) {
    await p.stop('SIGKILL'); // never leave a pancake behind when a test gives up on it
    throw err;
  }
  const m = /web: live view on (https?):\/\/127\.0\.0\.1:(\d+)\//.exec(p.log())!;
  return Object.assign(p, { url: `${m[1]}://127.0.0.1:${m[2]}` });
}
