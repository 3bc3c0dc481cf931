// MJPEG camera URLs: http(s) with user and password, env:/file: forms, --camera-password, masking, and one-line errors naming the flag.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../../src/common/cli.js';
import { parseHttpCameraUrl, type HttpCameraUrl, type HttpCameraUrlOptions } from '../../../src/pancake/camera/mjpeg/url.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';

let tmp: string | undefined;
afterEach(() => {
  vi.unstubAllEnvs();
  removeTmp(tmp);
  tmp = undefined;
});

function writeTmp(name: string, text: string): string {
  tmp ??= makeTmp('pancake-mjpeg-url-');
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error('no UsageError thrown');
}

describe('parseHttpCameraUrl', () => {
  it.each<[string, HttpCameraUrl]>([
    ['http://127.0.0.1:8080/?action=stream',
      { masked: 'http://127.0.0.1:8080/?action=stream', scheme: 'http', host: '127.0.0.1', port: 8080, path: '/?action=stream', user: undefined, password: '' }],
    ['http://admin:hunter2@cam.local/mjpg/video.mjpg',
      { masked: 'http://admin:***@cam.local/mjpg/video.mjpg', scheme: 'http', host: 'cam.local', port: 80, path: '/mjpg/video.mjpg', user: 'admin', password: 'hunter2' }],
    ['HTTPS://Viewer@[::1]/stream',
      { masked: 'https://Viewer@[::1]/stream', scheme: 'https', host: '[::1]', port: 443, path: '/stream', user: 'Viewer', password: '' }],
    ['http://us%40er:p%40ss%3Aw%20rd@[2001:db8::7]:81/x',
      { masked: 'http://us%40er:***@[2001:db8::7]:81/x', scheme: 'http', host: '[2001:db8::7]', port: 81, path: '/x', user: 'us@er', password: 'p@ss:w rd' }],
    // An unencoded '@' in the password: the last '@' ends the credentials, as for browsers.
    ['http://admin:p@ss@10.0.0.2:81/stream',
      { masked: 'http://admin:***@10.0.0.2:81/stream', scheme: 'http', host: '10.0.0.2', port: 81, path: '/stream', user: 'admin', password: 'p@ss' }],
    ['http://esp32cam', { masked: 'http://esp32cam/', scheme: 'http', host: 'esp32cam', port: 80, path: '/', user: undefined, password: '' }],
    ['http://cam:8080?action=snapshot', { masked: 'http://cam:8080/?action=snapshot', scheme: 'http', host: 'cam', port: 8080, path: '/?action=snapshot', user: undefined, password: '' }],
  ])('%s', (text, expected) => {
    expect(parseHttpCameraUrl(text)).toEqual(expected);
  });

  it('reads the URL from an environment variable or the first line of a file, and says where it came from in errors', () => {
    vi.stubEnv('MJPEG_CAMERA_URL', 'http://admin:hunter2@cam/?action=stream');
    expect(parseHttpCameraUrl('env:MJPEG_CAMERA_URL')).toMatchObject({ masked: 'http://admin:***@cam/?action=stream', password: 'hunter2' });
    const file = writeTmp('camera.url', 'https://viewer:s3cret@cam:8443/video\nsecond line ignored\n');
    expect(parseHttpCameraUrl(`file:${file}`)).toMatchObject({ masked: 'https://viewer:***@cam:8443/video', port: 8443, password: 's3cret' });

    vi.stubEnv('MJPEG_CAMERA_URL', 'rtsp://admin:hunter2@cam/live');
    expect(usageError(() => parseHttpCameraUrl('env:MJPEG_CAMERA_URL')).message).toBe(
      '--camera: unsupported scheme rtsp:// for an MJPEG camera (http:// or https://): rtsp://admin:***@cam/live (from env:MJPEG_CAMERA_URL)',
    );
    expect(usageError(() => parseHttpCameraUrl('env:NO_SUCH_MJPEG_VARIABLE')).message).toBe('--camera: environment variable NO_SUCH_MJPEG_VARIABLE is not set');
    expect(usageError(() => parseHttpCameraUrl(`file:${file}.missing`)).message).toBe(`--camera: cannot read secret file ${file}.missing: ENOENT`);
  });

  it('takes the password from --camera-password (env:NAME or file:PATH), never from the command line', () => {
    vi.stubEnv('MJPEG_CAMERA_PASSWORD', 'p@ss w/rd');
    expect(parseHttpCameraUrl('http://admin@cam/x', { password: 'env:MJPEG_CAMERA_PASSWORD' })).toMatchObject({
      masked: 'http://admin:***@cam/x', user: 'admin', password: 'p@ss w/rd',
    });
    const file = writeTmp('password', 'from-a-file\n');
    expect(parseHttpCameraUrl('http://admin@cam/x', { password: `file:${file}` }).password).toBe('from-a-file');
  });

  it.each<[string, HttpCameraUrlOptions, string]>([
    ['rtsp://cam/x', {}, '--camera: unsupported scheme rtsp:// for an MJPEG camera (http:// or https://): rtsp://cam/x'],
    ['ftp://u:hunter2@cam/x', {}, '--camera: unsupported scheme ftp:// for an MJPEG camera (http:// or https://): ftp://u:***@cam/x'],
    ['cam:8080/stream', {}, '--camera: not a URL; expected http://[user[:password]@]host[:port]/path: cam:8080/stream'],
    ['http:///x', {}, '--camera: no host: http:///x'],
    ['http://admin:hunter2@/x', {}, '--camera: no host: http://admin:***@/x'],
    ['http://cam:99999/x', {}, '--camera: bad port "99999" (1 to 65535): http://cam:99999/x'],
    ['http://cam:/x', {}, '--camera: bad port "" (1 to 65535): http://cam:/x'],
    ['http://my cam/x', {}, '--camera: spaces or control characters in the URL (write a space as %20): http://my cam/x'],
    ['http://cam_1!/x', {}, '--camera: bad host name cam_1!: http://cam_1!/x'],
    ['http://[::1/x', {}, '--camera: unclosed [ in the host: http://[::1/x'],
    ['http://[zz::1]/x', {}, '--camera: not an IPv6 address: [zz::1]: http://[zz::1]/x'],
    ['http://[::1]x/y', {}, '--camera: unexpected text after [::1]: http://[::1]x/y'],
    ['http://admin:a/b@cam/x', {}, '--camera: bad port "a" (1 to 65535) (percent-encode / ? # @ in the user or password, or use --camera-password): http://admin:***@cam/x'],
    ['http://admin:50%off@cam/x', {}, "--camera: bad percent-encoding in the user or password (write '%' as %25): http://admin:***@cam/x"],
    ['http://:hunter2@cam/x', {}, '--camera: empty user name before the @: http://:***@cam/x'],
    ['http://a%3Ab:hunter2@cam/x', {}, "--camera: a ':' in the user name cannot be sent (Basic authentication): http://a%3Ab:***@cam/x"],
    ['http://cam/x#top', {}, "--camera: a '#' is never sent to the camera (write it as %23): http://cam/x#top"],
    ['http://cam/x', { password: 'env:MJPEG_CAMERA_PASSWORD' }, '--camera-password: --camera names no user (http://USER@host/path): http://cam/x'],
    ['http://admin:old@cam/x', { password: 'env:MJPEG_CAMERA_PASSWORD' }, '--camera-password: --camera already holds a password; give it in one place only: http://admin:***@cam/x'],
    ['http://admin@cam/x', { password: 'hunter2' }, '--camera-password: give env:NAME or file:PATH, so the password is not on the command line'],
  ])('rejects %s', (text, options, message) => {
    vi.stubEnv('MJPEG_CAMERA_PASSWORD', 'hunter2');
    const error = usageError(() => parseHttpCameraUrl(text, options));
    expect(error.message).toBe(message);
    expect(error.exitCode).toBe(3);
    expect(error.message).not.toMatch(/hunter2|old@|50%off|a\/b@/);
  });

  it('names another flag when asked to', () => {
    expect(usageError(() => parseHttpCameraUrl('ftp://x/y', { flag: '--camera-2' })).message).toMatch(/^--camera-2: unsupported scheme ftp:\/\//);
  });
});
