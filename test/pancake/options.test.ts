// Every bad command line gets one line naming the flag and the original's exit code, before anything starts.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePancakeArgs } from '../../src/pancake/options.js';
import { makeTmp, removeTmp, runDist } from '../helpers/env.js';

let tmp: string;
beforeAll(() => {
  tmp = makeTmp();
  fs.mkdirSync(path.join(tmp, 'h264'));
  fs.writeFileSync(path.join(tmp, 'afile'), '');
});
afterAll(() => removeTmp(tmp));

describe('pancake command line', () => {
  it.each<[string[], string]>([
    [['--record-resize', '640', '480'], 'pancake: --record-resize is set. Please also set --record-continuous or --record-detection.'],
    [['--detect-resize', '224', '224'], 'pancake: --detect-resize is set. Please also set --detect.'],
    [['--detect-interval', '2'], 'pancake: --detect-interval is set. Please also set --detect.'],
    [['--record-detection', 'edge', 'h264'], 'pancake: --record-detection is set. Please also set --detect to generate detections.'],
    [['--record-continuous', 'nowhere'], 'pancake: --record-continuous: no such directory: nowhere'],
    [['--record-continuous', 'afile'], 'pancake: --record-continuous: not a directory: afile'],
    [['--fps', 'twelve'], 'pancake: --fps: not a whole number: twelve'],
    [['--fps', '0'], 'pancake: --fps: must be at least 1: 0'],
    [['--resolution', '640'], 'pancake: --resolution: expected two numbers width height, got: 640'],
    [['--resolution', '640', 'x480'], 'pancake: --resolution height: not a whole number: x480'],
    [['--annotate-text-size', '500'], 'pancake: --annotate-text-size: must be at most 160: 500'],
    [['--segment-minutes', '7'], 'pancake: --segment-minutes: must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60): 7'],
    [['--camera', 'usb'], 'pancake: --camera: unknown source: usb (auto, test, file:PATH, rtsp://…, rtsps://…, http://… or https://…)'],
    [['--camera', 'ftp://u:hunter2@cam/x'], 'pancake: --camera: unknown source: ftp://u:***@cam/x (auto, test, file:PATH, rtsp://…, rtsps://…, http://… or https://…)'],
    [['--camera', 'http://cam:99999/x'], 'pancake: --camera: bad port "99999" (1 to 65535): http://cam:99999/x'],
    [['--camera', 'http://admin:hunter2@cam/x', '--camera-password', 'env:PW'], 'pancake: --camera-password: --camera already holds a password; give it in one place only: http://admin:***@cam/x'],
    [['--camera', 'http://cam/x', '--rtsp-transport', 'udp'], 'pancake: --rtsp-transport is set, but --camera is an http(s):// camera (MJPEG over HTTP); leave it out'],
    [['--camera-poll'], 'pancake: --camera-poll is set. Please also set --camera http://…'],
    [['--camera', 'rtsp://cam/live', '--camera-poll'], 'pancake: --camera-poll is set. Please also set --camera http://…'],
    [['--camera', 'rtsp://'], 'pancake: --camera: no host: rtsp://'],
    [['--camera', 'rtsp://cam:99999/live'], 'pancake: --camera: bad port "99999" (1 to 65535): rtsp://cam:99999/live'],
    [['--camera', 'rtsp://admin:hunter2@cam/live', '--camera-password', 'env:PW'], 'pancake: --camera-password: environment variable PW is not set'],
    [['--camera', 'rtsp://admin@cam/live', '--camera-password', 'hunter2'], 'pancake: --camera-password: give env:NAME or file:PATH, so the password is not on the command line'],
    [['--camera', 'env:NO_SUCH_CAMERA_URL'], 'pancake: --camera: environment variable NO_SUCH_CAMERA_URL is not set'],
    [['--rtsp-transport', 'udp'], 'pancake: --rtsp-transport is set. Please also set --camera rtsp://…'],
    [['--camera-password', 'env:PW'], 'pancake: --camera-password is set. Please also set --camera rtsp://… or http://…'],
    [['--camera-timeout', '0'], 'pancake: --camera-timeout: must be greater than 0: 0'],
    [['--name', 'front door'], 'pancake: --name: not a camera name: "front door": use 1 to 32 letters, digits, "-" or "_", starting with a letter or digit'],
    [['--name', '../x'], 'pancake: --name: not a camera name: "../x": use 1 to 32 letters, digits, "-" or "_", starting with a letter or digit'],
    [['--camera', 'file:missing.h264'], 'pancake: --camera: no such file: missing.h264'],
    [['--emit', ''], 'pancake: --emit: not a usable socket name: ""'],
  ])('%j', async (args, message) => {
    const r = await runDist('pancake/main.js', ['--camera', 'test', ...args], { cwd: tmp });
    expect(r.stderr.trim()).toBe(message);
    expect(r.status).toBe(3);
    // A password given in the URL is never repeated in a message.
    expect(r.stderr).not.toContain('hunter2');
  });

  it('reads the camera URL from env:NAME or a file, the password from env:/file:, and defaults the timeout to 10 s for it', () => {
    const urlFile = path.join(tmp, 'camera-url');
    fs.writeFileSync(urlFile, 'rtsp://viewer@192.168.1.31:554/stream1\n');
    const pw = path.join(tmp, 'camera-pw');
    fs.writeFileSync(pw, 's3cret/@:\n');
    const fromFile = parsePancakeArgs(['--camera', `file:${urlFile}`, '--camera-password', `file:${pw}`, '--rtsp-transport', 'udp']);
    expect(fromFile.camera).toMatchObject({ kind: 'rtsp', transport: 'udp', url: { host: '192.168.1.31', port: 554, user: 'viewer', password: 's3cret/@:' } });
    expect(fromFile.camera.kind === 'rtsp' && fromFile.camera.url.masked).toBe('rtsp://viewer:***@192.168.1.31:554/stream1');
    expect(fromFile.cameraTimeoutMs).toBe(10_000);
    const fromEnv = parsePancakeArgs(['--camera', 'env:CAM', '--camera-timeout', '2.5', '--name', 'front'], { CAM: 'rtsps://cam.lan/live' });
    expect(fromEnv).toMatchObject({ camera: { kind: 'rtsp', transport: 'tcp', url: { port: 322 } }, cameraTimeoutMs: 2500, name: 'front' });
    expect(parsePancakeArgs(['--camera', 'test']).cameraTimeoutMs).toBe(5000);
  });

  it('takes an MJPEG camera (http/https, env:/file:, --camera-poll), at --fps or 10 fps, with a 10 s timeout', () => {
    const urlFile = path.join(tmp, 'mjpeg-url');
    fs.writeFileSync(urlFile, 'http://viewer@192.168.1.40:8080/?action=stream\n');
    const pw = path.join(tmp, 'mjpeg-pw');
    fs.writeFileSync(pw, 's3cret/@:\n');
    const fromFile = parsePancakeArgs(['--camera', `file:${urlFile}`, '--camera-password', `file:${pw}`]);
    expect(fromFile.camera).toMatchObject({ kind: 'mjpeg', poll: false, url: { host: '192.168.1.40', port: 8080, path: '/?action=stream', user: 'viewer', password: 's3cret/@:' } });
    expect(fromFile.camera.kind === 'mjpeg' && fromFile.camera.url.masked).toBe('http://viewer:***@192.168.1.40:8080/?action=stream');
    expect(fromFile).toMatchObject({ fps: 10, cameraTimeoutMs: 10_000 });
    const fromEnv = parsePancakeArgs(['--camera', 'env:CAM', '--camera-poll', '--fps', '2'], { CAM: 'https://cam.lan/snapshot.jpg' });
    expect(fromEnv).toMatchObject({ camera: { kind: 'mjpeg', poll: true, url: { scheme: 'https', port: 443 } }, fps: 2 });
    // An explicit --fps 12 is kept, though it is the Pi camera's default.
    expect(parsePancakeArgs(['--camera', 'http://cam/x', '--fps', '12']).fps).toBe(12);
    expect(parsePancakeArgs(['--camera', 'test']).fps).toBe(12);
  });

  it('rejects an unknown rotation through commander (exit 2, naming the flag)', async () => {
    const r = await runDist('pancake/main.js', ['--rotation', '45'], { cwd: tmp });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("option '--rotation <degrees>' argument '45' is invalid");
  });

  it('exits 2 with a hint when no camera tool is on PATH', async () => {
    const r = await runDist('pancake/main.js', [], { cwd: tmp, env: { ...process.env, PATH: '/nonexistent' } });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('pancake: no camera tool found (rpicam-vid, libcamera-vid); without a Pi camera try --camera test');
  });

  it('exits 2 at once when the live view port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runDist('pancake/main.js', ['--camera', 'test', '--host', '127.0.0.1', '--port', String(port)], { cwd: tmp });
      expect(r.stderr.trim()).toBe(`pancake: --port: cannot listen on 127.0.0.1:${port} (EADDRINUSE)`);
      expect(r.status).toBe(2);
    } finally {
      blocker.close();
    }
  });

  it('keeps the original defaults', () => {
    const c = parsePancakeArgs([], { XDG_STATE_HOME: tmp });
    expect([c.width, c.height, c.fps, c.annotateTextSize, c.segmentMinutes, c.rotation]).toEqual([320, 240, 12, 24, 15, 0]);
    expect([c.streamWidth, c.streamHeight]).toEqual([320, 240]);
    expect(c.camera).toEqual({ kind: 'auto' });
    expect(c.stateDir).toBe(path.join(tmp, 'pancake'));
  });

  it('encodes one stream at --record-resize and keeps state beside the recordings', () => {
    const dir = path.join(tmp, 'h264');
    const c = parsePancakeArgs(['--resolution', '640', '480', '--record-resize', '1280', '720', '--record-continuous', dir]);
    expect([c.width, c.height, c.streamWidth, c.streamHeight]).toEqual([640, 480, 1280, 720]);
    expect(c.stateDir).toBe(path.join(dir, '.pancake'));
  });

  it('lists the original flags in --help', async () => {
    const r = await runDist('pancake/main.js', ['--help']);
    for (const flag of ['--port', '--resolution', '--fps', '--vflip', '--hflip', '--rotation', '--annotate-text-size', '--max-stream-fps',
      '--record-continuous', '--record-detection', '--record-resize', '--detect ', '--detect-resize', '--detect-interval', '--emit', '--login',
      '--camera', '--segment-minutes', '--state-dir', '--log']) {
      expect(r.stdout).toContain(flag);
    }
  });
});
