// Destination naming: remote day folders from file names, descriptions without secrets, state keys.
import { describe, expect, it } from 'vitest';
import { cameraNameError } from '../../../src/common/camera-name.js';
import {
  assertUploadName,
  describeDestination,
  destinationKey,
  remoteDayDir,
  remoteTempName,
  UploadNameError,
  type DestinationSpec,
} from '../../../src/postproc/upload/destination.js';

describe('remoteDayDir', () => {
  it.each([
    ['bak/cam1', '20200624-0900.mp4', 'bak/cam1/2020/06/24'],
    ['bak/cam1/', '20200624-0900.mp4', 'bak/cam1/2020/06/24'],
    ['/srv/backup', '20200623-180511.mp4', '/srv/backup/2020/06/23'],
    ['', '20201231-2345.mp4', '2020/12/31'],
    ['.', '20240229-0000.h264', '2024/02/29'],
    ['bakery/cam2', '19991231-235959.mp4', 'bakery/cam2/1999/12/31'],
    // Restarted within the minute: named -2, -3 … by pancake, and uploaded like the others.
    ['bak/cam1', '20200624-0900-2.mp4', 'bak/cam1/2020/06/24'],
    ['bak/cam1', '20200623-180511-3.mp4', 'bak/cam1/2020/06/23'],
    ['bak/cam1', '20200624-0900-10.mp4', 'bak/cam1/2020/06/24'],
  ])('%s + %s → %s', (dir, name, expected) => {
    expect(remoteDayDir(dir, name)).toBe(expected);
    expect(() => assertUploadName(name)).not.toThrow();
  });

  it.each([
    ['bak', '20200624-0900.mp4', 'oven', 'bak/oven/2020/06/24'],
    ['bak/', '20200624-0900-2.mp4', 'oven', 'bak/oven/2020/06/24'],
    ['', '20200623-180511.mp4', 'Back_Door', 'Back_Door/2020/06/23'],
    ['/srv/backup', '20201231-2345.mp4', 'garage-2', '/srv/backup/garage-2/2020/12/31'],
    ['bak', '20200624-0900.mp4', undefined, 'bak/2020/06/24'],
  ])('%s + %s for camera %j → %s', (dir, name, camera, expected) => {
    expect(remoteDayDir(dir, name, camera)).toBe(expected);
  });

  it.each(['', '.', '..', 'a/b', '../etc', 'a\\b', 'cam\n1', '.hidden', 'cam 2'])(
    'refuses camera %j, which might not be one folder, with the camera-name rule',
    (camera) => {
      expect(() => remoteDayDir('bak', '20200624-0900.mp4', camera)).toThrow(`cannot upload "20200624-0900.mp4": ${cameraNameError(camera)!}`);
      expect(cameraNameError(camera)).toMatch(/^not a camera name: /);
    },
  );

  it('checks the name before the camera', () => {
    expect(() => remoteDayDir('bak', 'clip.mp4', '..')).toThrow(UploadNameError);
  });

  it.each([
    'clip.mp4',
    '20200624-0900',
    '20200624-09.mp4',
    '2020062-0900.mp4',
    '20200624_0900.mp4',
    '20200624-0900.mp4.part',
    '20201324-0900.mp4',
    '20200230-0900.mp4',
    '20230229-0900.mp4',
    '20200624-2400.mp4',
    '20200624-0960.mp4',
    '20200624-090060.mp4',
    '../20200624-0900.mp4',
    '.20200624-0900.mp4.part',
    '20200624-0900-1.mp4',
    '20200624-0900-0.mp4',
    '20200624-0900-02.mp4',
    '20200624-0900-2',
    '20200624-0900-2.mp4.part',
  ])('refuses %s', (name) => {
    expect(() => remoteDayDir('bak', name)).toThrow(UploadNameError);
    expect(() => remoteDayDir('bak', name, 'oven')).toThrow(UploadNameError);
    expect(() => assertUploadName(name)).toThrow(
      `cannot upload ${JSON.stringify(name)}: the name is not YYYYMMDD-hhmm[ss].ext or YYYYMMDD-hhmm[ss]-N.ext with a real date and time`,
    );
    expect(() => assertUploadName(name)).toThrow(expect.objectContaining({ code: 'UPLOAD_BAD_NAME' }));
  });

  it('tells what the name says', () => {
    expect(assertUploadName('20200624-0900-2.mp4')).toMatchObject({ kind: 'continuous', year: 2020, month: 6, day: 24, restart: 2, ext: '.mp4' });
  });
});

describe('remoteTempName', () => {
  it('is hidden, fixed per file and never a recording name', () => {
    expect(remoteTempName('20200624-0900.mp4')).toBe('.20200624-0900.mp4.part');
    expect(() => assertUploadName(remoteTempName('20200624-0900.mp4'))).toThrow(UploadNameError);
  });
});

describe('describeDestination', () => {
  const ftp: DestinationSpec = { kind: 'ftp', host: '192.168.1.24', port: 21, user: 'nick', password: 'nickpass', remoteDir: 'bakery/cam2', secure: false };
  it.each([
    [{ kind: 'scp', user: 'pi', host: '192.168.1.23', port: 22, remoteDir: 'bak/cam1' } as DestinationSpec, 'scp pi@192.168.1.23:22 bak/cam1'],
    [ftp, 'ftp nick@192.168.1.24:21 bakery/cam2'],
    [{ ...ftp, secure: true }, 'ftps nick@192.168.1.24:21 bakery/cam2'],
    [{ kind: 'scp', user: 'pi', host: 'fe80::1', port: 2222, remoteDir: 'b' } as DestinationSpec, 'scp pi@[fe80::1]:2222 b'],
  ])('%j → %s', (spec, text) => {
    expect(describeDestination(spec)).toBe(text);
    expect(describeDestination(spec)).not.toContain('nickpass');
  });
});

describe('destinationKey', () => {
  const base: DestinationSpec = { kind: 'ftp', host: 'NAS', port: 21, user: 'nick', password: 'a', remoteDir: 'cam', secure: false };
  it('ignores the password and TLS settings, so pending files survive changing them', () => {
    expect(destinationKey({ ...base, password: 'b', secure: true, tlsInsecure: true })).toBe(destinationKey(base));
    expect(destinationKey({ ...base, host: 'nas' })).toBe(destinationKey(base));
  });
  it('differs for another server, port, user, folder or kind, and is a safe folder name', () => {
    const keys = [
      destinationKey(base),
      destinationKey({ ...base, host: 'nas2' }),
      destinationKey({ ...base, port: 2121 }),
      destinationKey({ ...base, user: 'other' }),
      destinationKey({ ...base, remoteDir: 'cam/' }),
      destinationKey({ kind: 'scp', host: 'NAS', port: 21, user: 'nick', remoteDir: 'cam' }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of keys) expect(k).toMatch(/^[A-Za-z0-9@._-]+$/);
    expect(destinationKey({ ...base, user: '../../etc' })).not.toContain('/');
  });
});
