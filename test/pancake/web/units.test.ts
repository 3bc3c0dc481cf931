// The live view's pure parts: static paths, sessions, rate limiting, the protocol, and viewer pacing.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { frameHeader, parseAck } from '../../../src/pancake/web/protocol.js';
import { LoginLimiter, parseCookies, sessionCookie, SessionSigner } from '../../../src/pancake/web/sessions.js';
import { resolveStatic } from '../../../src/pancake/web/static-files.js';
import { liveFrame, type ViewerSocket } from '../../../src/pancake/web/viewers.js';
import { H264Hub } from '../../../src/pancake/web/h264-hub.js';

describe('resolveStatic', () => {
  const root = '/srv/pancake/static';
  it.each([
    ['style.css', path.join(root, 'style.css')],
    ['img/logo.png', path.join(root, 'img/logo.png')],
    ['../templates/index.html', undefined],
    ['..%2Ftemplates%2Findex.html', undefined],
    ['%2e%2e/%2e%2e/etc/passwd', undefined],
    ['%252e%252e/etc/passwd', undefined],
    ['img/../../secret', undefined],
    ['..\\secret', undefined],
    ['.hidden', undefined],
    ['style.css%00.png', undefined],
    ['', undefined],
    ['a//b', undefined],
    ['%E0%A4%A', undefined],
  ])('%j → %j', (url, expected) => {
    expect(resolveStatic(root, url)).toBe(expected);
  });
});

describe('sessions', () => {
  it('accepts its own tokens until they expire, and nothing forged', () => {
    const signer = new SessionSigner(60_000);
    const token = signer.issue(1000);
    expect(signer.verify(token, 2000)).toBe(true);
    expect(signer.verify(token, 61_001)).toBe(false);
    const [expiry, nonce, sig] = token.split('.');
    expect(signer.verify(`${Number(expiry) + 1000}.${nonce}.${sig}`, 2000)).toBe(false);
    expect(signer.verify(new SessionSigner(60_000).issue(1000), 2000)).toBe(false);
    expect(signer.verify('garbage', 2000)).toBe(false);
    expect(signer.verify(undefined, 2000)).toBe(false);
  });

  it('makes HttpOnly, SameSite=Strict cookies, Secure under TLS', () => {
    expect(sessionCookie('abc', 60, false)).toBe('pancake_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60');
    expect(sessionCookie('abc', 60, true)).toMatch(/; Secure$/);
    expect(sessionCookie('', 60, false)).toContain('Max-Age=0');
    expect(parseCookies('a=1; pancake_session=x.y.z; a=2').get('pancake_session')).toBe('x.y.z');
  });

  it('allows one password check in flight per address, counted when it arrives; a locked address gets its wait', () => {
    const limiter = new LoginLimiter(5, 15 * 60_000);
    expect(limiter.begin('10.0.0.1', 0)).toBe(0);
    expect(limiter.begin('10.0.0.1', 1)).toBe(1000);
    expect(limiter.begin('10.0.0.2', 1)).toBe(0);
    limiter.fail('10.0.0.1', 2);
    limiter.end('10.0.0.1');
    expect(limiter.begin('10.0.0.1', 3)).toBe(0);
    limiter.end('10.0.0.1');
    for (let i = 0; i < 4; i++) limiter.fail('10.0.0.1', 10 + i);
    expect(limiter.begin('10.0.0.1', 20)).toBe(15 * 60_000 - 7);
  });

  it('locks an address out after 5 failures within 15 minutes, others unaffected', () => {
    const limiter = new LoginLimiter(5, 15 * 60_000);
    for (let i = 0; i < 4; i++) limiter.fail('10.0.0.1', i * 1000);
    expect(limiter.retryAfter('10.0.0.1', 5000)).toBe(0);
    limiter.fail('10.0.0.1', 5000);
    expect(limiter.retryAfter('10.0.0.1', 6000)).toBe(15 * 60_000 - 1000);
    expect(limiter.retryAfter('10.0.0.2', 6000)).toBe(0);
    expect(limiter.retryAfter('10.0.0.1', 5000 + 15 * 60_000)).toBe(0);
    limiter.fail('10.0.0.3', 0);
    limiter.succeed('10.0.0.3');
    expect(limiter.retryAfter('10.0.0.3', 1)).toBe(0);
  });
});

describe('protocol', () => {
  it('puts kind, keyframe flag, sequence and time in a 16-byte header', () => {
    const h = frameHeader(1, true, 0xfffffffe, 1234.5);
    expect([h.length, h[0], h[1], h.readUInt32BE(4), h.readDoubleBE(8)]).toEqual([16, 1, 1, 0xfffffffe, 1234.5]);
  });
  it.each([
    ['{"ack":7}', 7],
    ['{"ack":-1}', undefined],
    ['{"ack":1.5}', undefined],
    ['{"ack":"7"}', undefined],
    ['{"ack":7,"x":1}', undefined],
    ['[7]', undefined],
    ['null', undefined],
    ['{', undefined],
    [`{"ack":${'1'.repeat(300)}}`, undefined],
  ])('parseAck(%j) = %j', (text, seq) => {
    expect(parseAck(text)).toBe(seq);
  });
});

/** A socket that records what it was sent. */
function fakeSocket(): ViewerSocket & { sent: number[] } {
  const sent: number[] = [];
  return { sent, readyState: 1, bufferedAmount: 0, terminate: () => {}, send: (data: Buffer) => sent.push(data.readUInt32BE(4)) } as unknown as ViewerSocket & { sent: number[] };
}

const unit = (keyframe: boolean, n: number) => ({ data: Buffer.from([0, 0, 1, keyframe ? 0x65 : 0x41, n]), keyframe, wallTime: n, monoTime: n });

describe('H.264 viewers', () => {
  it('start a new viewer at the newest keyframe, at once', () => {
    const hub = new H264Hub(3);
    hub.push(unit(true, 0));
    hub.push(unit(false, 1));
    hub.push(unit(true, 2));
    hub.push(unit(false, 3));
    const socket = fakeSocket();
    hub.addViewer(socket);
    expect(socket.sent).toEqual([2, 3]);
  });

  it('keep at most the window in flight and skip to the next keyframe when behind', () => {
    const hub = new H264Hub(3);
    const slow = fakeSocket();
    const fast = fakeSocket();
    hub.push(unit(true, 0));
    const slowViewer = hub.addViewer(slow);
    const fastViewer = hub.addViewer(fast);
    for (let n = 1; n < 12; n++) {
      hub.push(unit(false, n));
      hub.ack(fastViewer, n - 1);
    }
    expect(slow.sent).toEqual([0, 1, 2]); // never acknowledged: nothing more
    expect(fast.sent).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    hub.push(unit(true, 12));
    hub.ack(slowViewer, 0);
    hub.ack(slowViewer, 1);
    expect(slow.sent).toEqual([0, 1, 2, 12]); // frames 3..11 skipped, not queued
    expect(slowViewer.skipped).toBe(9);
  });

  it('replace an early-sent unit that turned out longer, and hold its viewers until the next keyframe', () => {
    const hub = new H264Hub(3);
    const socket = fakeSocket();
    hub.push(unit(true, 0));
    const viewer = hub.addViewer(socket);
    hub.pushEarly(Buffer.from([0, 0, 1, 0x41, 1]), false, 1);
    hub.push({ ...unit(false, 1), data: Buffer.from([0, 0, 1, 0x41, 1, 2, 3]) });
    hub.ack(viewer, 0);
    hub.ack(viewer, 1);
    hub.push(unit(false, 2));
    expect(socket.sent).toEqual([0, 1]); // frame 2 would decode from a broken picture
    hub.push(unit(true, 3));
    expect(socket.sent).toEqual([0, 1, 3]);
    // A new viewer gets the complete unit, not the short one.
    const late = fakeSocket();
    hub.push(unit(false, 4));
    hub.addViewer(late);
    expect(late.sent).toEqual([3, 4]);
  });

  it('send an early unit once when it was complete', () => {
    const hub = new H264Hub(3);
    const socket = fakeSocket();
    hub.push(unit(true, 0));
    hub.addViewer(socket);
    hub.pushEarly(unit(false, 1).data, false, 1);
    hub.push({ ...unit(false, 1), data: Buffer.concat([unit(false, 1).data, Buffer.from([0, 0])]) });
    expect(socket.sent).toEqual([0, 1]);
    expect(liveFrame(1, 5, Buffer.from([9]), true, 0).message.length).toBe(17);
  });
});
