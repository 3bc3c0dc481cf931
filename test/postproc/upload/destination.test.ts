// Destination naming: remote day folders from file names, descriptions without secrets, state keys.
import { describe, expect, it } from 'vitest';
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
  ])('%s + %s → %s', (dir, name, expected) => {
    expect(remoteDayDir(dir, name)).toBe(expected);
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
  ])('refuses %s', (name) => {
    expect(() => remoteDayDir('bak', name)).toThrow(UploadNameError);
    expect(() => assertUploadName(name)).toThrow(/is not YYYYMMDD-hhmm\[ss\]\.ext/);
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
