// The recording pipeline on emulated ARM: pancake (test card, detection, live view) and postproc run by an ARM node, checked from the host with ffprobe.
//
//   tsx test/arm/pipeline.ts --label arm64 --project DIR [--seconds 30] -- qemu-aarch64-static -L /usr/aarch64-linux-gnu …/bin/node
//
// DIR is a copy of the project with dist/ and node_modules/ installed for the target (scripts/test-arm.sh
// makes it); everything after `--` is the command that runs the target's node. One run checks:
//   - pancake's detect worker loads DIR/customize.ts and detect(frame) answers (the test card moves: detection turns true),
//     and postproc accepts that detection event;
//   - GET /snapshot.jpg: a JPEG encoded by sharp's ARM prebuilt (ffprobe: mjpeg at --resolution);
//   - a continuous recording of --seconds, stopped by SIGTERM: every finished file's event reaches postproc, which
//     converts it with the built-in muxer; ffprobe decodes exactly the frames pancake wrote, at 12 fps, and the MP4s
//     together last as long as the recording.
// Exit code 0 when all hold; otherwise 1, with what failed and the tail of both programs' logs.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probe } from '../helpers/env.js';

/** Emulation is slow and the machine may be busy: every wait is generous, and each one is for an outcome. */
const START_MS = 180_000;
const DETECT_MS = 180_000;
const STOP_MS = 90_000;
const CONVERT_MS = 240_000;
const TESTCARD_FPS = 12;

interface Options {
  label: string;
  project: string;
  seconds: number;
  node: string[];
}

function parseArgs(argv: string[]): Options {
  const split = argv.indexOf('--');
  if (split < 0 || split === argv.length - 1) throw new Error('usage: pipeline.ts --label NAME --project DIR [--seconds N] -- NODE-COMMAND…');
  const flags = argv.slice(0, split);
  const value = (name: string): string | undefined => {
    const i = flags.indexOf(name);
    return i >= 0 ? flags[i + 1] : undefined;
  };
  const project = value('--project');
  if (!project) throw new Error('--project DIR is required');
  return { label: value('--label') ?? 'arm', project: path.resolve(project), seconds: Number(value('--seconds') ?? 30), node: argv.slice(split + 1) };
}

/** A program run by the target's node, with its output kept for waiting and for the failure message. */
class TargetProcess {
  private text = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout!.on('data', (d: Buffer) => (this.text += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.text += d.toString()));
    this.exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  }

  static start(name: string, node: string[], script: string, args: string[]): TargetProcess {
    const [cmd, ...pre] = node;
    return new TargetProcess(name, spawn(cmd!, [...pre, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  get output(): string {
    return this.text;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first match of `pattern` in the output; rejects when it exits first or after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.text);
      if (m) return m;
      if (!this.running) throw new Error(`${this.name} exited before printing ${String(pattern)}`);
      if (performance.now() > deadline) throw new Error(`${this.name} did not print ${String(pattern)} within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `timeoutMs`, which then counts as a failure. */
  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }

  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  tail(lines = 25): string {
    return this.text.trimEnd().split('\n').slice(-lines).map((l) => `  ${this.name}| ${l}`).join('\n');
  }
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const secondsSince = (t: number): string => `${((performance.now() - t) / 1000).toFixed(1)} s`;

/** GET /snapshot.jpg until the decoder has a picture (503 until then), and check what sharp encoded. */
async function snapshot(port: number, file: string, timeoutMs: number): Promise<{ width: number; height: number; bytes: number }> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let res: Response | undefined;
    try {
      res = await fetch(`http://127.0.0.1:${port}/snapshot.jpg`, { signal: AbortSignal.timeout(60_000) });
    } catch {
      // Not listening yet, or the request timed out on a busy machine: ask again.
    }
    if (res?.status === 200) {
      const type = res.headers.get('content-type');
      const body = Buffer.from(await res.arrayBuffer());
      if (type !== 'image/jpeg') throw new Error(`/snapshot.jpg: Content-Type ${type}, not image/jpeg`);
      if (body[0] !== 0xff || body[1] !== 0xd8) throw new Error(`/snapshot.jpg: starts with ${body.subarray(0, 4).toString('hex')}, not a JPEG`);
      fs.writeFileSync(file, body);
      const facts = probe(file);
      if (facts.codec !== 'mjpeg') throw new Error(`/snapshot.jpg: ffprobe says ${facts.codec}, not mjpeg`);
      return { width: facts.width, height: facts.height, bytes: body.length };
    }
    // 503 until the decoder has a picture.
    await res?.arrayBuffer();
    if (performance.now() > deadline) throw new Error(`/snapshot.jpg: no picture within ${timeoutMs / 1000} s (last status ${res?.status ?? 'no answer'})`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const began = performance.now();
  const say = (line: string): void => console.log(`${o.label}: ${line}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `pancake-${o.label}-`));
  const h264Dir = path.join(tmp, 'h264');
  const mp4Dir = path.join(tmp, 'mp4');
  fs.mkdirSync(h264Dir);
  fs.mkdirSync(mp4Dir);
  const socket = `pancake-${o.label}-${process.pid}`;
  const customize = path.join(o.project, 'customize.ts');
  const procs: TargetProcess[] = [];
  // A timeout of the caller (scripts/test-arm.sh) or Ctrl-C: take the children along.
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      for (const p of procs) p.kill();
      process.exit(1);
    });
  }

  try {
    let t = performance.now();
    const postproc = TargetProcess.start('postproc', o.node, path.join(o.project, 'dist', 'postproc', 'main.js'), [socket, '--convert', mp4Dir, '--converter', 'builtin']);
    procs.push(postproc);
    await postproc.waitFor(/listening for events/, START_MS);
    say(`postproc listening after ${secondsSince(t)}`);

    t = performance.now();
    const pancake = TargetProcess.start('pancake', o.node, path.join(o.project, 'dist', 'pancake', 'main.js'), [
      '--camera', 'test', '--host', '127.0.0.1', '--port', '0',
      '--record-continuous', h264Dir,
      '--detect', 'image', '--detect-interval', '1', '--customize', customize,
      '--emit', socket,
    ]);
    procs.push(pancake);
    await pancake.waitFor(/record: writing \S+\.h264/, START_MS);
    const recordingSince = performance.now();
    say(`pancake recording after ${secondsSince(t)}`);
    // Logged once the worker has loaded the file and said it is ready.
    await pancake.waitFor(new RegExp(`detect: detect\\(frame\\) from ${escape(customize)} every`), DETECT_MS);
    await pancake.waitFor(/detect: detection started/, DETECT_MS);
    await postproc.waitFor(/accepted \S+: Detection changed to True/, DETECT_MS);
    say(`detect worker loaded customize.ts; detect(frame) turned detection true; postproc accepted the event (${secondsSince(t)} after start)`);

    t = performance.now();
    const port = Number((await pancake.waitFor(/live view on http:\/\/127\.0\.0\.1:(\d+)\//, START_MS))[1]);
    const jpeg = await snapshot(port, path.join(tmp, 'snapshot.jpg'), START_MS);
    if (jpeg.width !== 320 || jpeg.height !== 240) throw new Error(`/snapshot.jpg is ${jpeg.width}x${jpeg.height}, not --resolution's 320x240`);
    say(`/snapshot.jpg: a ${jpeg.width}x${jpeg.height} JPEG from sharp (${jpeg.bytes} bytes) in ${secondsSince(t)}`);

    // The recording's length (not an assertion): what is checked below is what pancake and postproc made of it.
    const rest = o.seconds * 1000 - (performance.now() - recordingSince);
    if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    t = performance.now();
    const stopped = await pancake.stop('SIGTERM', STOP_MS);
    if (stopped.code !== 0) throw new Error(`pancake exited with ${stopped.signal ?? `code ${stopped.code}`} after SIGTERM, not 0`);
    const finished = [...pancake.output.matchAll(/record: finished (\S+\.h264) \((\d+) frames/g)].map((m) => ({ h264: m[1]!, frames: Number(m[2]) }));
    if (finished.length === 0) throw new Error('pancake finished no recording');
    const span = [...pancake.output.matchAll(/"h264":"[^"]+".*?"start":"([^"]+)","end":"([^"]+)"/g)]
      .reduce((sum, m) => sum + (Date.parse(m[2]!) - Date.parse(m[1]!)) / 1000, 0);
    say(`pancake stopped in ${secondsSince(t)}: ${finished.length} file(s), ${finished.reduce((n, f) => n + f.frames, 0)} frames`);

    t = performance.now();
    const converted: { mp4: string; h264: string; frames: number }[] = [];
    for (const f of finished) {
      const m = await postproc.waitFor(new RegExp(`converted ${escape(f.h264)} → (\\S+\\.mp4) \\((\\d+) frames`), CONVERT_MS);
      if (Number(m[2]) !== f.frames) throw new Error(`postproc converted ${m[2]} frames of ${f.h264}; pancake wrote ${f.frames}`);
      converted.push({ mp4: m[1]!, h264: f.h264, frames: f.frames });
    }
    say(`postproc converted ${converted.length} file(s) ${secondsSince(t)} after pancake stopped`);
    const pstop = await postproc.stop('SIGTERM', STOP_MS);
    if (pstop.code !== 0) throw new Error(`postproc exited with ${pstop.signal ?? `code ${pstop.code}`} after SIGTERM, not 0`);

    let seconds = 0;
    let frames = 0;
    for (const c of converted) {
      const mp4 = probe(c.mp4);
      const h264 = probe(c.h264);
      if (mp4.codec !== 'h264' || mp4.width !== 640 || mp4.height !== 480) throw new Error(`${c.mp4}: ${mp4.codec} ${mp4.width}x${mp4.height}, not the test card's h264 640x480`);
      if (mp4.frames !== c.frames || h264.frames !== c.frames) throw new Error(`${c.mp4}: ffprobe decodes ${mp4.frames} frames (the .h264: ${h264.frames}); pancake wrote ${c.frames}`);
      // Frame-exact timing: N frames at 12 fps last N/12 s (ffprobe rounds to the millisecond).
      if (Math.abs(mp4.duration - c.frames / TESTCARD_FPS) > 0.01) throw new Error(`${c.mp4}: lasts ${mp4.duration} s, not ${c.frames}/${TESTCARD_FPS} s`);
      seconds += mp4.duration;
      frames += mp4.frames;
    }
    if (seconds < o.seconds - 1) throw new Error(`the MP4s last ${seconds.toFixed(2)} s together, less than the ${o.seconds} s recorded`);
    // The test card is paced by pancake's clock: a slow emulated process must not record slow motion or gaps.
    if (Math.abs(seconds - span) > 1.5) throw new Error(`the MP4s last ${seconds.toFixed(2)} s together, but the recordings spanned ${span.toFixed(2)} s of wall-clock time`);
    say(`ffprobe: ${converted.length} MP4(s), ${frames} frames = ${seconds.toFixed(2)} s (recorded ${span.toFixed(2)} s of wall-clock time), each frame-exact`);
    say(`pipeline OK in ${secondsSince(began)}`);
    fs.rmSync(tmp, { recursive: true, force: true });
  } catch (err) {
    for (const p of procs) p.kill();
    await Promise.all(procs.map((p) => p.exited));
    console.error(`${o.label}: FAILED: ${err instanceof Error ? err.message : String(err)}`);
    for (const p of procs) console.error(p.tail());
    console.error(`${o.label}: files kept in ${tmp}`);
    process.exit(1);
  }
}

await main();
