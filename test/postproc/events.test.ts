// Reading events (src/common/events.ts, postproc's side): the validating parser and the bounded line splitter.
import { describe, expect, it } from 'vitest';
import { encodeLine, LineSplitter, parseAckLine, parseEventLine } from '../../src/common/events.js';

describe('parseEventLine', () => {
  it.each([
    ['a file event as pancake sends it',
      encodeLine({ id: 'e1', h264: '/r/20260101-1200.h264', fps: 12, width: 640, height: 480, rotation: 90, start: '2026-01-01T12:00:00.000Z', end: '2026-01-01T12:15:00.000Z' }).trim(),
      { kind: 'file', id: 'e1', h264: '/r/20260101-1200.h264', fps: 12, width: 640, height: 480, rotation: 90, start: '2026-01-01T12:00:00.000Z', end: '2026-01-01T12:15:00.000Z' }],
    ['a detection clip', '{"id":"e2","h264":"/r/a.h264","detection":true,"fps":29.97}', { kind: 'file', id: 'e2', h264: '/r/a.h264', detection: true, fps: 29.97 }],
    ["the original's file event (no id, no fps)", '{"h264": "/r/a.h264"}', { kind: 'file', h264: '/r/a.h264' }],
    ["the original's detection event", '{"detection": false}', { kind: 'detection', detection: false }],
    ['a detection edge', '{"id":"d","detection":true,"time":"2026-01-01T12:00:00Z"}', { kind: 'detection', id: 'd', detection: true, time: '2026-01-01T12:00:00Z' }],
    ['camera down', '{"id":"c","camera":"down","reason":"rpicam-vid exited","time":"t"}', { kind: 'camera', id: 'c', camera: 'down', reason: 'rpicam-vid exited', time: 't' }],
    ['camera up', '{"id":"c2","camera":"up"}', { kind: 'camera', id: 'c2', camera: 'up' }],
    ['storage error', '{"id":"s","storage":"error","reason":"ENOSPC","path":"/r"}', { kind: 'storage', id: 's', storage: 'error', reason: 'ENOSPC', path: '/r' }],
    ['unknown fields are ignored', '{"id":"x","detection":true,"future":[1,2]}', { kind: 'detection', id: 'x', detection: true }],
  ])('accepts %s', (_name, line, event) => {
    expect(parseEventLine(line)).toEqual({ ok: true, event });
  });

  it.each([
    ['bad JSON', '{"h264": ', 'not JSON: '],
    ['an array', '[1,2]', 'not a JSON object'],
    ['a string', '"hello"', 'not a JSON object'],
    ['null', 'null', 'not a JSON object'],
    ['no known field', '{"id":"a","hello":1}', 'unknown event: none of "h264", "detection", "camera", "storage"'],
    ['a numeric id', '{"id":5,"detection":true}', '"id" must be a non-empty string of at most 200 printable characters'],
    ['an empty id', '{"id":"","detection":true}', '"id" must be a non-empty string'],
    ['an id with a newline', '{"id":"a\\nb","detection":true}', '"id" must be a non-empty string'],
    ['an overlong id', JSON.stringify({ id: 'x'.repeat(201), detection: true }), '"id" must be'],
    ['h264 not a string', '{"id":"a","h264":["/x.h264"]}', '"h264" must be a string'],
    ['detection as a string', '{"id":"a","detection":"true"}', '"detection" must be true or false'],
    ['fps zero', '{"id":"a","h264":"/a.h264","fps":0}', '"fps" must be a number in (0, 1000]'],
    ['fps as a string', '{"id":"a","h264":"/a.h264","fps":"12"}', '"fps" must be a number'],
    ['fractional width', '{"id":"a","h264":"/a.h264","width":1.5}', '"width" must be a whole number in 1..65535'],
    ['rotation 45', '{"id":"a","h264":"/a.h264","rotation":45}', '"rotation" must be 0, 90, 180 or 270'],
    ['camera sideways', '{"id":"a","camera":"sideways"}', '"camera" must be "up" or "down"'],
    ['storage maybe', '{"id":"a","storage":"maybe"}', '"storage" must be "error" or "ok"'],
    ['an overlong reason', JSON.stringify({ id: 'a', camera: 'down', reason: 'r'.repeat(5000) }), '"reason" is longer than 4096 characters'],
  ])('refuses %s', (_name, line, error) => {
    const r = parseEventLine(line);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(error);
  });

  it('keeps the id of a refused event that has a readable one', () => {
    expect(parseEventLine('{"id":"a","detection":1}')).toEqual({ ok: false, id: 'a', error: '"detection" must be true or false' });
  });
});

describe('parseAckLine', () => {
  it.each([
    ['{"ack":"e1"}', 'e1'],
    ['{"ack":1}', undefined],
    ['nonsense', undefined],
    ['null', undefined],
  ])('%s → %s', (line, id) => expect(parseAckLine(line)).toBe(id));
});

describe('LineSplitter', () => {
  function split(chunks: (string | Buffer)[], max = 10): { lines: string[]; overlong: number[] } {
    const lines: string[] = [];
    const overlong: number[] = [];
    const s = new LineSplitter(max, (l) => lines.push(l), (n) => overlong.push(n));
    for (const c of chunks) s.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
    return { lines, overlong };
  }

  it.each([
    ['one line', ['abc\n'], ['abc'], []],
    ['two lines in one chunk', ['a\nb\n'], ['a', 'b'], []],
    ['a line across chunks', ['ab', 'c', 'd\n'], ['abcd'], []],
    ['CRLF', ['a\r\n'], ['a'], []],
    ['an empty line', ['\n'], [''], []],
    ['an unfinished line is held', ['abc'], [], []],
    ['exactly the limit', ['0123456789\n'], ['0123456789'], []],
    ['one byte over, skipped, the next line kept', ['0123456789X\nok\n'], ['ok'], [11]],
    ['over the limit across chunks', ['01234', '56789', 'XYZ', 'more', '\nnext\n'], ['next'], [13]],
  ])('%s', (_name, chunks, lines, overlong) => {
    expect(split(chunks)).toEqual({ lines, overlong });
  });

  it('does not split a UTF-8 character cut between chunks', () => {
    const bytes = Buffer.from('é\n');
    expect(split([bytes.subarray(0, 1), bytes.subarray(1)]).lines).toEqual(['é']);
  });

  it('never holds more than the limit of a huge line', () => {
    const lines: string[] = [];
    let overlong = 0;
    const s = new LineSplitter(1024, (l) => lines.push(l), () => overlong++);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let maxHeld = 0;
    for (let i = 0; i < 16; i++) {
      s.push(chunk);
      maxHeld = Math.max(maxHeld, s.pendingBytes);
    }
    s.push(Buffer.from('\n{"ok":1}\n'));
    expect(maxHeld).toBe(0);
    expect(overlong).toBe(1);
    expect(lines).toEqual(['{"ok":1}']);
  });
});
