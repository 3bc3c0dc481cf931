// The issue's whole setup end to end: an MJPEG camera at 15 fps → the compiled pancake recording at the camera's measured rate → the real postproc converting to MP4 and uploading it over SFTP into YYYY/MM/DD.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FileEvent, PancakeEvent } from '../../src/common/events.js';
import { decodeErrors, makeTmp, probe, removeTmp } from '../helpers/env.js';
import { ffmpegAvailable, mjpgStreamerAvailable, startFfmpegMjpegServer, startMjpgStreamer, type MjpegTestServer } from '../helpers/mjpeg-server.js';
import { startPancake, type PancakeProcess } from '../helpers/pancake-process.js';
import { startSshd, type SshServer } from '../helpers/sshd.js';
import { until } from '../helpers/until.js';
import { PostprocProcess } from '../postproc/postproc-process.js';

const streamer = mjpgStreamerAvailable();
const ffmpeg = ffmpegAvailable();
if (!streamer.ok) console.warn(`MJPEG → postproc test: ${streamer.reason}; ${ffmpeg.ok ? "using ffmpeg's mpjpeg server instead" : `skipped: ${ffmpeg.reason}`}`);

/** The camera's rate: mjpg-streamer with 65 ms between JPEGs sends about 15 a second, as does ffmpeg's server at 15. */
const CAMERA_FPS = 15;
const WAIT_MS = 40_000;

/** The events pancake logged (`event: {…}`), in order. */
function loggedEvents(log: string): PancakeEvent[] {
  return log.split('\n').flatMap((line) => {
    const m = / event: (\{.*\})\s*$/.exec(line);
    return m ? [JSON.parse(m[1]!) as PancakeEvent] : [];
  });
}

/** Seconds the event says its file covers: the sum of its frames' durations. */
function eventSeconds(event: FileEvent): number {
  const runs = event.timing ?? [[event.frames!, 1000 / event.fps!]];
  return runs.reduce((sum, [count, ms]) => sum + count * ms, 0) / 1000;
}

describe.skipIf(!ffmpeg.ok)('an MJPEG camera → pancake → postproc → SFTP', () => {
  let tmp: string | undefined;
  let camera: MjpegTestServer | undefined;
  let sshd: SshServer | undefined;
  let pancake: PancakeProcess | undefined;
  let postproc: PostprocProcess | undefined;

  afterEach(async () => {
    await pancake?.stop('SIGKILL');
    await postproc?.stop('SIGKILL');
    await camera?.stop();
    await sshd?.stop();
    removeTmp(tmp);
    tmp = camera = sshd = pancake = postproc = undefined;
  });

  it('records the camera at its measured rate (about 15 fps); postproc converts the file to MP4 and uploads it into YYYY/MM/DD', async () => {
    camera = streamer.ok ? await startMjpgStreamer({ delaySeconds: 0.065 }) : await startFfmpegMjpegServer({ fps: CAMERA_FPS });
    sshd = await startSshd();
    tmp = fs.realpathSync(makeTmp('pancake-mjpeg-postproc-'));
    const h264 = path.join(tmp, 'h264');
    const mp4 = path.join(tmp, 'mp4');
    const home = path.join(tmp, 'home');
    for (const d of [h264, mp4, home]) fs.mkdirSync(d);
    // postproc finds the SSH key and known_hosts in ~/.ssh, as on a Pi.
    fs.symlinkSync(sshd.sshDir, path.join(home, '.ssh'));
    const socket = `pancake-mjpeg-postproc-${path.basename(tmp)}`;

    postproc = PostprocProcess.start([
      socket, '--convert', mp4, '--converter', 'builtin', '--accept-dir', h264,
      '--upload-after-convert', '1', '--upload-scp', `${sshd.user}@127.0.0.1`, String(sshd.port), 'bak/cam',
    ], { ...process.env, HOME: home, SSH_AUTH_SOCK: '' });
    await postproc.waitFor('listening for events', WAIT_MS);

    // No --fps: pancake records at the camera's own rate, measured from its first JPEGs.
    pancake = startPancake(['--camera', camera.url('/?action=stream'), '--record-continuous', h264, '--emit', socket]);
    await pancake.waitForLog('record: writing', WAIT_MS);
    // The measured rate: about 15 (a loaded machine may deliver a little less), never the default of 10.
    const measured = /camera: .* measured [\d.]+ fps; recording at (\d+) fps \(set --fps to choose\)/.exec(pancake.log());
    expect(measured, pancake.log()).not.toBeNull();
    const rate = Number(measured![1]);
    expect(rate).toBeGreaterThanOrEqual(12);
    expect(rate).toBeLessThanOrEqual(CAMERA_FPS + 1);
    // A few seconds of recording; SIGTERM finishes the file (the split) and hands its event to postproc.
    await new Promise((r) => setTimeout(r, 4000));
    const stopped = await pancake.stop('SIGTERM');
    expect(stopped.code).toBe(0);

    const files = loggedEvents(pancake.log()).filter((e): e is FileEvent => 'h264' in e);
    expect(files).toHaveLength(1);
    const event = files[0]!;
    expect(event).toMatchObject({ fps: rate, width: 320, height: 240 });
    // Several seconds' worth (that the frames match wall time is mjpeg.e2e.test.ts's subject).
    expect(event.frames).toBeGreaterThan(rate);

    // postproc: MP4 in mp4/, then the same bytes at the SFTP destination under the recording's day.
    const name = path.basename(event.h264, '.h264');
    const m = /^(\d{4})(\d{2})(\d{2})-/.exec(name)!;
    const remote = path.join(sshd.root, 'bak/cam', m[1]!, m[2]!, m[3]!, `${name}.mp4`);
    await until(() => fs.existsSync(remote) || /cannot upload|failed/.test(postproc!.output), 'the uploaded MP4 (or a failure in the log)', WAIT_MS);
    await until(() => postproc!.output.includes(`uploaded ${name}.mp4`), 'postproc logging the finished upload', WAIT_MS);
    expect(postproc.output).not.toMatch(/cannot upload|failed/);
    expect(fs.readFileSync(remote).equals(fs.readFileSync(path.join(mp4, `${name}.mp4`)))).toBe(true);
    expect(fs.readdirSync(path.dirname(remote))).toEqual([`${name}.mp4`]);

    // ffprobe on the uploaded file: every announced frame, at the recorded rate, lasting what the event says.
    const facts = probe(remote);
    expect(facts).toMatchObject({ codec: 'h264', width: 320, height: 240, frames: event.frames, frameRate: `${rate}/1` });
    expect(facts.duration).toBeCloseTo(eventSeconds(event), 2);
    expect(facts.duration).toBeCloseTo(event.frames! / rate, 2);
    expect(decodeErrors(remote)).toBe('');
  }, 120_000);
});
