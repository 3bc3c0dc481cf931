// known_hosts parsing and host key checking, against entries written by OpenSSH's own tools.
import { describe, expect, it } from 'vitest';
import {
  checkHostKey,
  entryMatchesHost,
  hostKeyAlgorithms,
  keyFingerprint,
  knownHostName,
  parseKnownHosts,
} from '../../../src/postproc/upload/known-hosts.js';

// Host keys made with `ssh-keygen -q -t ed25519 -N '' -C '' -f hk1` (hk2 likewise) and
// `ssh-keygen -q -t ecdsa -N '' -C '' -f hk3`; fingerprints from `ssh-keygen -lf hkN.pub`.
const HK1 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpFEqJMY5wbAc3yMaLZLMsLXXk2cO/xDlLlkgGV01Bm';
const HK1_FP = 'SHA256:hIye+2VIypDDqiPgT0QrGxfvkFMSC7pOYf9GNj9bMBc';
const HK2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF8q4H8VIlyhiuIM1c/ikGX8G5mcX9FX1ktzl8K3YWcc';
const HK2_FP = 'SHA256:xse1lLuaFnTCQfdahcB8cP0VmthzOnRRF9kazpl2BjI';
const HK3 =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDi5kweEvN3dqIsXhKdCgccVibujsBO/Pg/gKcHnVts2eqMbeMlRc1WmiBxRGPNLNP7oKBxXfQWAjQiHumSXYW0=';
const HK3_FP = 'SHA256:PW+At15bV1rtEteais4fx7evyzKmB6F9Inc3vJTnRxw';

// `printf '[127.0.0.1]:2222 <HK1>\nnas.local <HK3>\n' > kh && ssh-keygen -H -f kh`
const HASHED = `|1|kaU5vQ2EnVH82XJJ8LR8zCS62zU=|UbvkjqDXHONKDhDNgoAyb7aTMWk= ${HK1}
|1|Hg0yZAr9OMkstrOCc+I0qTAMzUk=|0x/t7Pl6CJ7EMWNCDWKv6OIsU7I= ${HK3}
`;

const blob = (line: string): Buffer => Buffer.from(line.split(' ')[1]!, 'base64');

describe('parseKnownHosts', () => {
  it('reads plain, hashed and marked lines and skips comments, blanks, unknown markers and corrupt keys', () => {
    const text = [
      '# a comment',
      '',
      `cam.example,192.168.1.23 ${HK1} pi@cam`,
      `@revoked * ${HK2}`,
      `@cert-authority *.example ${HK3}`,
      `@weird host ${HK1}`,
      'host ssh-ed25519 not!base64',
      // Type field disagreeing with the blob: corrupt.
      `host ssh-rsa ${HK1.split(' ')[1]}`,
      HASHED.split('\n')[0]!,
    ].join('\n');
    const entries = parseKnownHosts(text);
    expect(entries.map((e) => [e.line, e.marker ?? '', e.hosts, e.keyType])).toEqual([
      [3, '', 'cam.example,192.168.1.23', 'ssh-ed25519'],
      [4, 'revoked', '*', 'ssh-ed25519'],
      [5, 'cert-authority', '*.example', 'ecdsa-sha2-nistp256'],
      [9, '', '|1|kaU5vQ2EnVH82XJJ8LR8zCS62zU=|UbvkjqDXHONKDhDNgoAyb7aTMWk=', 'ssh-ed25519'],
    ]);
    expect(entries[0]!.key.equals(blob(HK1))).toBe(true);
  });
});

describe('knownHostName', () => {
  it.each([
    ['192.168.1.23', 22, '192.168.1.23'],
    ['NAS.Local', 22, 'nas.local'],
    ['127.0.0.1', 2222, '[127.0.0.1]:2222'],
  ])('%s port %d → %s', (host, port, name) => {
    expect(knownHostName(host, port)).toBe(name);
  });
});

describe('entryMatchesHost', () => {
  it.each([
    ['cam.example,192.168.1.23', '192.168.1.23', true],
    ['cam.example,192.168.1.23', '192.168.1.24', false],
    ['CAM.example', 'cam.example', true],
    ['*.example', 'cam.example', true],
    ['192.168.1.?', '192.168.1.7', true],
    ['192.168.1.?', '192.168.1.77', false],
    ['*.example,!bad.example', 'bad.example', false],
    ['*.example,!bad.example', 'good.example', true],
    ['[127.0.0.1]:2222', '[127.0.0.1]:2222', true],
    ['[127.0.0.1]:2222', '127.0.0.1', false],
    ['127.0.0.1', '[127.0.0.1]:2222', false],
    ['[127.0.0.1]:*', '[127.0.0.1]:2222', true],
    ['a.b', 'axb', false], // '.' is literal
    ['|1|kaU5vQ2EnVH82XJJ8LR8zCS62zU=|UbvkjqDXHONKDhDNgoAyb7aTMWk=', '[127.0.0.1]:2222', true],
    ['|1|kaU5vQ2EnVH82XJJ8LR8zCS62zU=|UbvkjqDXHONKDhDNgoAyb7aTMWk=', '[127.0.0.1]:2223', false],
    ['|1|Hg0yZAr9OMkstrOCc+I0qTAMzUk=|0x/t7Pl6CJ7EMWNCDWKv6OIsU7I=', 'nas.local', true],
    ['|1|broken', 'nas.local', false],
  ])('%s ~ %s → %s', (hosts, name, expected) => {
    expect(entryMatchesHost(hosts, name)).toBe(expected);
  });
});

describe('checkHostKey', () => {
  const plain = parseKnownHosts(`[127.0.0.1]:2222 ${HK1}\nnas.local ${HK3}\n`);
  const hashed = parseKnownHosts(HASHED);
  const revoked = parseKnownHosts(`[127.0.0.1]:2222 ${HK1}\n@revoked * ${HK1}\n`);
  const twoKeys = parseKnownHosts(`nas.local ${HK3}\nnas.local ${HK1}\n`);

  it.each([
    ['plain, same key', plain, '127.0.0.1', 2222, HK1, { status: 'known' }],
    ['plain, other port', plain, '127.0.0.1', 2223, HK1, { status: 'unknown' }],
    ['plain, changed key', plain, '127.0.0.1', 2222, HK2, { status: 'changed', knownTypes: ['ssh-ed25519'] }],
    ['plain, port 22 form', plain, 'NAS.local', 22, HK3, { status: 'known' }],
    ['plain, key of another type', plain, 'nas.local', 22, HK1, { status: 'changed', knownTypes: ['ecdsa-sha2-nistp256'] }],
    ['hashed, same key', hashed, '127.0.0.1', 2222, HK1, { status: 'known' }],
    ['hashed, changed key', hashed, '127.0.0.1', 2222, HK2, { status: 'changed', knownTypes: ['ssh-ed25519'] }],
    ['hashed, unknown host', hashed, '10.0.0.1', 22, HK1, { status: 'unknown' }],
    ['revoked key', revoked, '127.0.0.1', 2222, HK1, { status: 'revoked' }],
    ['any of two keys', twoKeys, 'nas.local', 22, HK1, { status: 'known' }],
    ['no known_hosts at all', [], 'nas.local', 22, HK1, { status: 'unknown' }],
  ] as const)('%s', (_name, entries, host, port, key, verdict) => {
    expect(checkHostKey([...entries], host, port, blob(key))).toEqual(verdict);
  });

  it('never matches a key through a @cert-authority line', () => {
    const entries = parseKnownHosts(`@cert-authority nas.local ${HK1}\n`);
    expect(checkHostKey(entries, 'nas.local', 22, blob(HK1))).toEqual({ status: 'unknown' });
  });
});

describe('hostKeyAlgorithms', () => {
  it('puts the algorithms of the host key types known for the host first', () => {
    const entries = parseKnownHosts(`nas.local ${HK3}\n[127.0.0.1]:2222 ${HK1}\n`);
    expect(hostKeyAlgorithms(entries, 'nas.local', 22).slice(0, 2)).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
    expect(hostKeyAlgorithms(entries, '127.0.0.1', 2222)[0]).toBe('ssh-ed25519');
    expect(hostKeyAlgorithms(entries, 'unknown', 22)[0]).toBe('ssh-ed25519');
    expect(new Set(hostKeyAlgorithms(entries, 'nas.local', 22)).size).toBe(7);
  });

  it('maps an ssh-rsa entry to the RSA SHA-2 signature algorithms too', () => {
    // Only the type matters here, so a syntactically valid RSA line is built from its type name.
    const rsaBlob = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), Buffer.alloc(8)]);
    const entries = parseKnownHosts(`nas.local ssh-rsa ${rsaBlob.toString('base64')}\n`);
    expect(hostKeyAlgorithms(entries, 'nas.local', 22).slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  });
});

describe('keyFingerprint', () => {
  it.each([
    [HK1, HK1_FP],
    [HK2, HK2_FP],
    [HK3, HK3_FP],
  ])('prints what ssh-keygen -l prints', (key, fp) => {
    expect(keyFingerprint(blob(key))).toBe(fp);
  });
});
