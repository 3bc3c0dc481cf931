// Reading events (src/common/events.ts, postproc's side): the validating parser and the bounded line splitter.
import { describe, expect, it } from 'vitest';
import { encodeLine, LineSplitter, MAX_EVENT_LINE_BYTES, MAX_TIMING_RUNS, parseAckLine, parseEventLine } from '../../src/common/events.js';

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
    ['a file event with frames and timing of two rates',
      '{"id":"v","h264":"/r/a.h264","fps":10.5,"frames":220,"timing":[[150,66.667],[70,142.857]]}',
      { kind: 'file', id: 'v', h264: '/r/a.h264', fps: 10.5, frames: 220, timing: [[150, 66.667], [70, 142.857]] }],
    ['timing without frames', '{"h264":"/r/a.h264","timing":[[3,100]]}', { kind: 'file', h264: '/r/a.h264', timing: [[3, 100]] }],
    ['frames without timing', '{"h264":"/r/a.h264","frames":3}', { kind: 'file', h264: '/r/a.h264', frames: 3 }],
    ['the longest duration, 60 s', '{"h264":"/r/a.h264","frames":1,"timing":[[1,60000]]}', { kind: 'file', h264: '/r/a.h264', frames: 1, timing: [[1, 60000]] }],
    ['a named file event', '{"id":"n","name":"front","h264":"/r/a.h264","fps":12}', { kind: 'file', id: 'n', name: 'front', h264: '/r/a.h264', fps: 12 }],
    ['a named camera event', '{"id":"n2","name":"back-2","camera":"down"}', { kind: 'camera', id: 'n2', name: 'back-2', camera: 'down' }],
    ['a named storage event', '{"name":"Back_Door","storage":"ok"}', { kind: 'storage', name: 'Back_Door', storage: 'ok' }],
    ['a named detection edge', '{"name":"front","detection":false}', { kind: 'detection', name: 'front', detection: false }],
  ])('accepts %s', (_name, line, event) => {
    expect(parseEventLine(line)).toEqual({ ok: true, event });
  });

  it.each([
    ['bad JSON', '{"h264": ', 'not JSON: '],
    ['an array', '[1,2]', 'not a JSON object'],
    ['a string', '"hello"', 'not a JSON object'],
    ['null', 'null', 'not a JSON object'],
    ['no known field', '{"id":"a","hello":1}', 'unknown event: none of "h264", "detection", "camera", "storage", "heartbeat"'],
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

  const file = (extra: object): string => JSON.stringify({ id: 'a', h264: '/r/a.h264', fps: 12, ...extra });
  const nameError = (quoted: string): string => `"name": not a camera name: ${quoted}: use 1 to 32 letters, digits, "-" or "_", starting with a letter or digit`;
  const runsError = `"timing" must be a non-empty array of at most ${MAX_TIMING_RUNS} [count, durationMs] runs`;
  it.each([
    ['frames zero', file({ frames: 0 }), '"frames" must be a whole number ≥ 1'],
    ['frames negative', file({ frames: -3 }), '"frames" must be a whole number ≥ 1'],
    ['frames fractional', file({ frames: 2.5 }), '"frames" must be a whole number ≥ 1'],
    ['frames as a string', file({ frames: '3' }), '"frames" must be a whole number ≥ 1'],
    ['frames past the safe integers', '{"id":"a","h264":"/r/a.h264","frames":1e300}', '"frames" must be a whole number ≥ 1'],
    ['timing an object', file({ timing: { 0: [1, 10] } }), runsError],
    ['timing a number', file({ timing: 5 }), runsError],
    ['timing empty', file({ timing: [] }), runsError],
    ['timing with too many runs', file({ timing: Array.from({ length: MAX_TIMING_RUNS + 1 }, () => [1, 10]) }), runsError],
    ['a run that is a number', file({ timing: [[1, 10], 5] }), '"timing"[1] must be [count, durationMs]'],
    ['a run of one number', file({ timing: [[3]] }), '"timing"[0] must be [count, durationMs]'],
    ['a run of three numbers', file({ timing: [[3, 10, 1]] }), '"timing"[0] must be [count, durationMs]'],
    ['a run as an object', file({ timing: [{ count: 3, durationMs: 10 }] }), '"timing"[0] must be [count, durationMs]'],
    ['count zero', file({ timing: [[0, 10]] }), '"timing"[0]: count must be a whole number ≥ 1'],
    ['count negative', file({ timing: [[2, 10], [-1, 10]] }), '"timing"[1]: count must be a whole number ≥ 1'],
    ['count fractional', file({ timing: [[1.5, 10]] }), '"timing"[0]: count must be a whole number ≥ 1'],
    ['count as a string', file({ timing: [['1', 10]] }), '"timing"[0]: count must be a whole number ≥ 1'],
    ['count null (NaN in JSON.stringify)', file({ timing: [[NaN, 10]] }), '"timing"[0]: count must be a whole number ≥ 1'],
    ['duration zero', file({ timing: [[1, 0]] }), '"timing"[0]: durationMs must be a number in (0, 60000]'],
    ['duration negative', file({ timing: [[1, -66.7]] }), '"timing"[0]: durationMs must be a number in (0, 60000]'],
    ['duration NaN (null in JSON)', file({ timing: [[1, NaN]] }), '"timing"[0]: durationMs must be a number in (0, 60000]'],
    ['duration over 60 s', file({ timing: [[1, 60000.001]] }), '"timing"[0]: durationMs must be a number in (0, 60000]'],
    ['duration infinite (1e999)', '{"id":"a","h264":"/r/a.h264","timing":[[1,1e999]]}', '"timing"[0]: durationMs must be a number in (0, 60000]'],
    ['duration as a string', file({ timing: [[1, '66.7']] }), '"timing"[0]: durationMs must be a number in (0, 60000]'],
    ['counts short of frames', file({ frames: 220, timing: [[150, 66.667], [69, 142.857]] }), '"timing": the counts add up to 219 frames, but "frames" is 220'],
    ['counts over frames', file({ frames: 2, timing: [[3, 10]] }), '"timing": the counts add up to 3 frames, but "frames" is 2'],
    ['counts past the safe integers', file({ timing: [[2 ** 52, 1], [2 ** 52, 1]] }), '"timing": the counts add up to too many frames'],
    ['a bad timing on a detection line too', '{"id":"a","detection":true,"timing":[[0,1]]}', '"timing"[0]: count must be a whole number ≥ 1'],
    ['a name as a number', file({ name: 7 }), '"name" must be a string'],
    ['an empty name', file({ name: '' }), nameError('""')],
    ['a name with a slash', file({ name: '../etc' }), nameError('"../etc"')],
    ['a hidden name', JSON.stringify({ id: 'a', camera: 'up', name: '.postproc' }), nameError('".postproc"')],
    ['a name too long', JSON.stringify({ id: 'a', detection: true, name: 'n'.repeat(33) }), nameError(`"${'n'.repeat(33)}"`)],
  ])('refuses %s, with the id kept', (_name, line, error) => {
    expect(parseEventLine(line)).toEqual({ ok: false, id: 'a', error });
  });

  it('reads a heartbeat: not an event, no id, the camera name kept, unknown fields ignored', () => {
    expect(parseEventLine('{"heartbeat":"2026-01-01T12:00:00.000Z","name":"front","segmentMinutes":15}')).toEqual({ ok: true, heartbeat: { heartbeat: '2026-01-01T12:00:00.000Z', name: 'front' } });
    expect(parseEventLine('{"heartbeat":"2026-01-01T12:00:00.000Z"}')).toEqual({ ok: true, heartbeat: { heartbeat: '2026-01-01T12:00:00.000Z' } });
    expect(parseEventLine('{"heartbeat":true}')).toEqual({ ok: false, error: '"heartbeat" must be a string' });
    expect(parseEventLine('{"id":"a","heartbeat":"t"}')).toEqual({ ok: false, id: 'a', error: 'a heartbeat has no "id"' });
    expect(parseEventLine('{"heartbeat":"t","name":"bad name"}')).toMatchObject({ ok: false });
    expect(encodeLine({ heartbeat: 't', name: 'front' })).toBe('{"heartbeat":"t","name":"front"}\n');
  });

  it('keeps nothing of the input: the runs are fresh copies', () => {
    const timing = [[2, 50], [1, 100]];
    const r = parseEventLine(JSON.stringify({ h264: '/r/a.h264', timing }));
    expect(r.ok && 'event' in r && r.event.kind === 'file' && r.event.timing).toEqual([[2, 50], [1, 100]]);
  });

  it('accepts the largest timing pancake may send, and such a line fits the line limit', () => {
    const timing = Array.from({ length: MAX_TIMING_RUNS }, (_, i) => [27000 + i, 66.66666666666667]);
    const frames = timing.reduce((s, [n]) => s + n!, 0);
    const line = encodeLine({ id: 'big', h264: '/home/pi/h264/20260101-1200.h264', fps: 14.999, width: 1920, height: 1080, rotation: 0, start: '2026-01-01T12:00:00.000Z', end: '2026-01-01T12:15:00.000Z', frames, timing: timing as [number, number][], name: 'x'.repeat(32) });
    expect(Buffer.byteLength(line)).toBeLessThan(MAX_EVENT_LINE_BYTES);
    const r = parseEventLine(line.trim());
    expect(r.ok && 'event' in r && r.event.kind === 'file' && r.event.timing!.length).toBe(MAX_TIMING_RUNS);
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
