// FTP and FTPS uploads against a real pyftpdlib server: layout, bytes, mtime (MFMT), certificate policy.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DestinationSpec, remoteTempName } from '../../../src/postproc/upload/destination.js';
import { CertificateError, FtpConnector, mfmtTime, normalizeFingerprint } from '../../../src/postproc/upload/ftp.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';
import { startFtpd, type FtpServer } from '../../helpers/ftpd.js';
import { captureLogger } from './capture-logger.js';
import { remoteTree, sameBytes, writeRecording } from './files.js';

let server: FtpServer | undefined;
let local: string;

beforeEach(() => {
  local = makeTmp('pancake-ftp-local-');
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
  removeTmp(local);
});

type Extra = Partial<Extract<DestinationSpec, { kind: 'ftp' }>>;

function connector(s: FtpServer, extra: Extra = {}) {
  const log = captureLogger();
  const spec: DestinationSpec = { kind: 'ftp', host: s.host, port: s.port, user: s.user, password: s.password, remoteDir: 'bakery/cam2', secure: false, ...extra };
  return { c: new FtpConnector(spec, { logger: log.logger }), log };
}

async function uploadOne(c: FtpConnector, file: string): Promise<void> {
  const name = path.basename(file);
  const session = await c.connect();
  try {
    await session.upload(file, `bakery/cam2/${name.slice(0, 4)}/${name.slice(4, 6)}/${name.slice(6, 8)}`, name, fs.statSync(file).mtimeMs);
  } finally {
    await session.close();
  }
}

describe('mfmtTime and normalizeFingerprint', () => {
  it.each([
    [Date.UTC(2020, 5, 24, 9, 0, 5, 999), '20200624090005'],
    [Date.UTC(1999, 11, 31, 23, 59, 59), '19991231235959'],
  ])('MFMT time of %d is %s (UTC)', (ms, text) => {
    expect(mfmtTime(ms)).toBe(text);
  });
  it('compares fingerprints however they are written', () => {
    const a = normalizeFingerprint('sha256 Fingerprint=AB:CD:EF:01');
    expect(normalizeFingerprint('ab:cd:ef:01')).toBe(a);
    expect(normalizeFingerprint('SHA256:abcdef01')).toBe(a);
    expect(normalizeFingerprint('ABCDEF02')).not.toBe(a);
  });
});

describe('FtpConnector', () => {
  it('uploads into the day folder with the same bytes and mtime, replacing leftovers', async () => {
    server = await startFtpd();
    const dayDir = path.join(server.root, 'bakery/cam2/2020/06/24');
    fs.mkdirSync(dayDir, { recursive: true });
    fs.writeFileSync(path.join(dayDir, remoteTempName('20200624-0900.mp4')), 'half of an earlier attempt');
    const a = writeRecording(local, '20200624-0900.mp4', 200_000, 1_593_000_001);
    const b = writeRecording(local, '20200625-000000.mp4', 5000, 1_593_043_200);
    const { c } = connector(server);
    await uploadOne(c, a);
    await uploadOne(c, a); // again, as after a crash between rename and state write
    await uploadOne(c, b);
    expect(remoteTree(server.root)).toEqual(['bakery/cam2/2020/06/24/20200624-0900.mp4', 'bakery/cam2/2020/06/25/20200625-000000.mp4']);
    const remoteA = path.join(dayDir, '20200624-0900.mp4');
    expect(sameBytes(a, remoteA)).toBe(true);
    expect(fs.statSync(remoteA).mtimeMs).toBe(1_593_000_001_000);
    expect(fs.statSync(path.join(server.root, 'bakery/cam2/2020/06/25/20200625-000000.mp4')).mtimeMs).toBe(1_593_043_200_000);
  });

  it('fails with the server message on a wrong password, which is never logged', async () => {
    server = await startFtpd();
    const { c, log } = connector(server, { password: 'wrong-password' });
    await expect(uploadOne(c, writeRecording(local, '20200624-0900.mp4', 10))).rejects.toThrow(/530/);
    expect(log.text()).not.toContain('wrong-password');
  });

  describe('explicit FTPS with a self-signed certificate', () => {
    it('refuses it by default, before sending the password, naming its fingerprint', async () => {
      server = await startFtpd({ tls: true });
      const err = await uploadOne(connector(server, { secure: true }).c, writeRecording(local, '20200624-0900.mp4', 10)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CertificateError);
      expect((err as Error).message).toContain(server.fingerprint);
      expect((err as Error).message).toMatch(/SELF_SIGNED/);
      expect(server.log()).toContain('<- AUTH TLS');
      expect(server.log()).not.toMatch(/<- (USER|PASS)/);
      expect(remoteTree(server.root)).toEqual([]);
    });

    it('accepts it when pinned by fingerprint, control and data connections alike', async () => {
      server = await startFtpd({ tls: true });
      const file = writeRecording(local, '20200624-0900.mp4', 100_000);
      const { c } = connector(server, { secure: true, tlsFingerprint: server.fingerprint.toLowerCase() });
      await uploadOne(c, file);
      await uploadOne(c, file); // a second session reuses the pinned certificate
      expect(server.log()).toMatch(/<- USER camera/); // (what the refusing tests check is absent)
      expect(sameBytes(file, path.join(server.root, 'bakery/cam2/2020/06/24/20200624-0900.mp4'))).toBe(true);
    });

    it('refuses another certificate than the pinned one', async () => {
      server = await startFtpd({ tls: true });
      const other = server.fingerprint.replace(/^../, server.fingerprint.startsWith('00') ? '11' : '00');
      const err = await uploadOne(connector(server, { secure: true, tlsFingerprint: other }).c, writeRecording(local, '20200624-0900.mp4', 10)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CertificateError);
      expect((err as Error).message).toContain(`is not the pinned ${other}`);
      expect(server.log()).not.toMatch(/<- (USER|PASS)/);
    });

    it('accepts any certificate when asked to, with a warning', async () => {
      server = await startFtpd({ tls: true });
      const file = writeRecording(local, '20200624-0900.mp4', 1000);
      const { c, log } = connector(server, { secure: true, tlsInsecure: true });
      await uploadOne(c, file);
      expect(remoteTree(server.root)).toEqual(['bakery/cam2/2020/06/24/20200624-0900.mp4']);
      expect(log.text()).toContain(`warn: ftps ${server.user}@127.0.0.1:${server.port} bakery/cam2: accepting the server's TLS certificate unchecked (SHA-256 ${server.fingerprint})`);
    });
  });
});
