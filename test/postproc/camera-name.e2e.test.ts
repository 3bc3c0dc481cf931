// postproc end to end with named cameras: same-named files of two cameras → two MP4 folders, two remote trees, named messages; real frame timing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../helpers/fake-telegram.js';
import { makeTmp, removeTmp } from '../helpers/env.js';
import { startSshd, type SshServer } from '../helpers/sshd.js';
import { EventClient } from './event-client.js';
import { PostprocProcess } from './postproc-process.js';
import { until } from '../helpers/until.js';

/** Presentation times (s) of the decoded frames, sorted, and the container's duration. */
function presentation(file: string): { pts: number[]; duration: number } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time:format=duration', '-of', 'json', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffprobe failed on ${file}: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { frames: { pts_time: string }[]; format: { duration: string } };
  return { pts: j.frames.map((f) => Number(f.pts_time)).sort((a, b) => a - b), duration: Number(j.format.duration) };
}

describe('postproc end to end with named cameras', () => {
  let tmp: string;
  let home: string;
  let sshd: SshServer | undefined;
  let fake: FakeTelegram;
  let postproc: PostprocProcess | undefined;
  let client: EventClient | undefined;
  const socket = `postproc-camera-e2e-${process.pid}`;

  beforeEach(async () => {
    tmp = fs.realpathSync(makeTmp('postproc-camera-e2e-'));
    fs.mkdirSync(path.join(tmp, 'mp4'));
    home = path.join(tmp, 'home');
    fs.mkdirSync(home);
    fake = await FakeTelegram.start();
  });

  afterEach(async () => {
    client?.close();
    await postproc?.stop('SIGKILL');
    await sshd?.stop();
    await fake.close();
    removeTmp(tmp);
    client = postproc = sshd = undefined;
  });

  /** 40 frames of x264 with B-frames (an IP camera's kind of stream), as camera `camera` recorded them. */
  function recording(camera: string, file: string): string {
    const dir = path.join(tmp, 'h264', camera);
    fs.mkdirSync(dir, { recursive: true });
    const out = path.join(dir, file);
    const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=15', '-frames:v', '40',
      '-c:v', 'libx264', '-bf', '2', '-g', '15', '-pix_fmt', 'yuv420p', '-f', 'h264', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return out;
  }

  it('two cameras\' files of the same name become two MP4s in their folders and two uploads in remote/<camera>/YYYY/MM/DD', async () => {
    sshd = await startSshd();
    fs.symlinkSync(sshd.sshDir, path.join(home, '.ssh'));
    postproc = PostprocProcess.start([
      socket, '--convert', path.join(tmp, 'mp4'), '--converter', 'builtin',
      '--upload-after-convert', '1', '--upload-scp', `${sshd.user}@127.0.0.1`, String(sshd.port), 'remote',
      '--notify-telegram', '1:T', '42', '--telegram-api-root', fake.apiRoot,
    ], { ...process.env, HOME: home, SSH_AUTH_SOCK: '' });
    client = await EventClient.connect(socket);
    const front = recording('front', '20260101-120000.h264');
    const back = recording('back', '20260101-120000.h264');
    // The front camera halved its rate after 20 frames: 15 fps, then 7.5 fps.
    const timing: [number, number][] = [[20, 66.667], [20, 133.333]];
    await client.send({ id: 'f', name: 'front', h264: front, detection: true, fps: 10, width: 160, height: 120, rotation: 0, frames: 40, timing });
    await client.send({ id: 'b', name: 'back', h264: back, detection: true, fps: 15, width: 160, height: 120, rotation: 0, frames: 40, timing: [[40, 66.667]] });
    await client.send({ id: 'bad', name: '../etc', camera: 'up' });
    await client.send({ id: 'c', name: 'back', camera: 'down', reason: 'rtsp: no frames for 10 s' });
    await client.waitForAck('c');

    const remote = (camera: string): string => path.join(sshd!.root, 'remote', camera, '2026', '01', '01', '20260101-120000.mp4');
    // A generous limit with postproc's log on failure: on a loaded machine an upload may fail once and be retried 10 s later.
    await until(() => fs.existsSync(remote('front')) && fs.existsSync(remote('back')), 'both uploads', 60_000, () => postproc!.output);
    const local = (camera: string): string => path.join(tmp, 'mp4', camera, '20260101-120000.mp4');
    expect(fs.readdirSync(path.join(tmp, 'mp4')).sort()).toEqual(['.postproc', 'back', 'front']);
    for (const camera of ['front', 'back']) {
      expect(fs.readFileSync(remote(camera)).equals(fs.readFileSync(local(camera)))).toBe(true);
      expect(fs.readdirSync(path.dirname(remote(camera)))).toEqual(['20260101-120000.mp4']);
    }
    expect(fs.readdirSync(path.join(sshd.root, 'remote')).sort()).toEqual(['back', 'front']);

    // The front clip is timed by its runs: 20 × 1/15 s, then 20 × 2/15 s.
    const f = presentation(local('front'));
    expect(f.duration).toBeCloseTo((20 * 66.667 + 20 * 133.333) / 1000, 2);
    expect(f.pts[10]! - f.pts[9]!).toBeCloseTo(1 / 15, 4);
    expect(f.pts[30]! - f.pts[29]!).toBeCloseTo(2 / 15, 4);
    expect(presentation(local('back')).duration).toBeCloseTo(40 / 15, 2);

    const calls = await fake.waitForDelivered(3);
    expect(calls.map((c) => [c.method, c.fields.caption ?? c.fields.text]).sort()).toEqual([
      ['sendMessage', 'back: Camera down: rtsp: no frames for 10 s'],
      ['sendVideo', 'back: Detection changed to True'],
      ['sendVideo', 'front: Detection changed to True'],
    ]);
    // The line with a bad name was refused whole, as every invalid line is: logged, not acknowledged.
    expect(postproc.output).toContain('skipped a bad line ("name": not a camera name: "../etc"');
    expect(client.acks).toEqual(['f', 'b', 'c']);
  }, 90_000);
});
