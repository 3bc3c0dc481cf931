// The external converters, MP4Box and ffmpeg: argv built by pure functions, run as children with a bounded stderr tail.
import { spawn } from 'node:child_process';
import { ConvertError } from './error.js';

/** Numbers as a tool reads them: 30, 7.5, 29.97 (never exponent notation). */
export function formatFps(fps: number): string {
  return Number.isInteger(fps) ? String(fps) : String(Number(fps.toFixed(6)));
}

/**
 * MP4Box's argv, as the original ran it: `-add input:fps=F -new output`. `-tmp` puts MP4Box's
 * own temporary file (it interleaves through one) in `tmpDir` next to the output, instead of the
 * system temp directory, which is a small RAM disk on many Raspberry Pi images.
 * MP4Box splits `-add` on ':' and '#', so the input path must contain neither (pancake's names never do).
 */
export function mp4boxArgv(input: string, output: string, fps: number, tmpDir: string): string[] {
  return ['-tmp', tmpDir, '-add', `${input}:fps=${formatFps(fps)}`, '-new', output];
}

/**
 * ffmpeg's argv: raw H.264 at the given frame rate, copied into MP4 with the moov moved to the
 * front. `-r` as an input option is what makes ffmpeg time the frames at that rate: with
 * `-framerate` alone, ffmpeg 5.1 keeps the rate of the SPS's VUI timing when the stream has one
 * (the test card, x264, most IP cameras) and the fps given makes no difference. Rotation is not passed as `-metadata:s:v:0 rotate=`: ffmpeg 5.x writes that tag as a
 * counter-clockwise matrix while older versions meant clockwise, so the caller writes the matrix
 * itself afterwards, identically for every converter.
 */
export function ffmpegArgv(input: string, output: string, fps: number): string[] {
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-framerate', formatFps(fps), '-r', formatFps(fps), '-f', 'h264', '-i', input,
    '-map', '0:v:0', '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', output,
  ];
}

/** A command line for messages: arguments quoted only when they need it. */
export function commandLine(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

const STDERR_TAIL_BYTES = 8192;
// eslint-disable-next-line no-control-regex -- ESC is exactly what is matched
const ANSI_ESCAPE = /\x1b\[[0-9;]*[A-Za-z]/g;

/**
 * Runs a converter to completion in its own process group. Failure (not found, non-zero exit,
 * signal) throws ConvertError with the command line, how it ended and the last stderr lines.
 * When `signal` aborts, the whole group is terminated and the abort reason is thrown.
 */
export function runTool(cmd: string, args: string[], options: { signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {}): Promise<void> {
  const { signal } = options;
  signal?.throwIfAborted();
  const line = commandLine(cmd, args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: options.env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let tail = '';
    let killTimer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (d: Buffer) => {
      tail = (tail + d.toString()).slice(-STDERR_TAIL_BYTES);
    });
    // MP4Box colours its messages even into a pipe; the escape codes have no place in an error message.
    const plain = () => tail.replace(ANSI_ESCAPE, '');
    const kill = (sig: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // Already gone.
      }
    };
    const onAbort = () => {
      kill('SIGTERM');
      killTimer = setTimeout(() => kill('SIGKILL'), 2000);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      if (err) reject(err);
      else resolve();
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      const what = err.code === 'ENOENT' ? `${cmd} not found on PATH` : `${cmd} could not start: ${err.message}`;
      finish(new ConvertError(what, `${line}\n${what}`));
    });
    child.once('close', (code, sig) => {
      if (signal?.aborted) return finish(signal.reason);
      if (code === 0) return finish();
      const ended = sig ? `killed by signal ${sig}` : `exit code ${code}`;
      const lines = plain().split(/\r?\n/).map((l) => l.trimEnd()).filter(Boolean).slice(-10).join('\n');
      finish(new ConvertError(`${cmd} failed (${ended})${lines ? `: ${lines.split('\n').at(-1)}` : ''}`, `${line}\n${ended}\n${lines}`));
    });
  });
}
