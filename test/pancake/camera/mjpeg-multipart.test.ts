// The MJPEG multipart parser: byte-exact parts in mjpg-streamer's, ffmpeg's and other servers' styles, split at every byte, and its limits.
import { describe, expect, it } from 'vitest';
import {
  MAX_GAP_BYTES,
  MAX_HEADER_BYTES,
  MAX_PART_BYTES,
  MjpegStreamError,
  MultipartParser,
  parseMjpegContentType,
  type JpegPart,
} from '../../../src/pancake/camera/mjpeg/multipart.js';

/**
 * A small JPEG-shaped byte string: SOI; an APP1 segment holding a thumbnail with its own SOI/EOI
 * (as EXIF does); "entropy data" with lines that look like the delimiter but are not one (not at a
 * line start, or followed by more text); EOI.
 */
function jpeg(n: number, boundary: string): Buffer {
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    Buffer.from([0xff, 0xe1, 0x00, 0x0c]), Buffer.from('Exif\0\0', 'latin1'), Buffer.from([0xff, 0xd8, 0xff, 0xd9]),
    Buffer.from([0xff, 0xda, 0x00, 0x02, n, 0xff, 0x00]),
    Buffer.from(`x--${boundary}\r\n\n--${boundary}X\r\n\n--${boundary}-x\n`, 'latin1'),
    Buffer.from(Array.from({ length: 40 + n }, (_, i) => (i * 37 + n * 11) % 255)),
    Buffer.from([0xff, 0xd9]),
  ]);
}

interface Fixture {
  contentType: string;
  body: Buffer;
  parts: { jpeg: Buffer; headers: Record<string, string> }[];
}

/** mjpg-streamer 0.2 as observed (its README): the boundary first, then per part headers with Content-Length and X-Timestamp, the JPEG, CRLF, the boundary. */
function mjpgStreamerStyle(): Fixture {
  const b = 'boundarydonotcross';
  const parts = [1, 2, 3].map((n) => {
    const j = jpeg(n, b);
    return { jpeg: j, headers: { 'content-type': 'image/jpeg', 'content-length': String(j.length), 'x-timestamp': `1796123214.${n}99157` } };
  });
  const body = Buffer.concat([
    Buffer.from(`--${b}\r\n`),
    ...parts.flatMap((p) => [
      Buffer.from(`Content-Type: image/jpeg\r\nContent-Length: ${p.jpeg.length}\r\nX-Timestamp: ${p.headers['x-timestamp']}\r\n\r\n`),
      p.jpeg,
      Buffer.from(`\r\n--${b}\r\n`),
    ]),
  ]);
  return { contentType: `multipart/x-mixed-replace;boundary=${b}`, body, parts };
}

/** ffmpeg 5.1 `-f mpjpeg` as captured: the boundary before each part, lower-case header names, the JPEG and CRLF. */
function ffmpegStyle(): Fixture {
  const parts = [4, 5].map((n) => {
    const j = jpeg(n, 'ffmpeg');
    return { jpeg: j, headers: { 'content-type': 'image/jpeg', 'content-length': String(j.length) } };
  });
  const body = Buffer.concat(parts.flatMap((p) => [Buffer.from(`--ffmpeg\r\nContent-type: image/jpeg\r\nContent-length: ${p.jpeg.length}\r\n\r\n`), p.jpeg, Buffer.from('\r\n')]));
  return { contentType: 'multipart/x-mixed-replace;boundary=ffmpeg', body, parts };
}

/** No Content-Length, bare LF line ends, a quoted boundary declared with its `--`, a leading empty line (ESP32-CAM sends one), a closing boundary and an epilogue. */
function boundaryOnlyLfStyle(): Fixture {
  const b = 'myboundary';
  const parts = [6, 7, 8].map((n) => ({ jpeg: jpeg(n, b), headers: { 'content-type': 'image/jpeg' } }));
  const body = Buffer.concat([
    ...parts.flatMap((p) => [Buffer.from(`\n--${b}\nContent-Type: image/jpeg\n\n`), p.jpeg]),
    Buffer.from(`\n--${b}--\nepilogue, ignored\n--${b}\nContent-Type: image/jpeg\n\n`), jpeg(9, b), Buffer.from(`\n--${b}\n`),
  ]);
  return { contentType: `multipart/x-mixed-replace; boundary="--${b}"`, body, parts };
}

/** No Content-Length, CRLF, the parameter `--frame` (so `----frame` in the body), an extra blank line and spaces after each JPEG. */
function boundaryOnlyCrlfStyle(): Fixture {
  const parts = [10, 11].map((n) => ({ jpeg: jpeg(n, 'frame'), headers: { 'content-type': 'image/jpeg', 'x-frame': String(n) } }));
  const body = Buffer.concat([
    ...parts.flatMap((p) => [Buffer.from(`----frame\r\nContent-Type:image/jpeg\r\nX-Frame:   ${p.headers['x-frame']}\r\n\r\n`), p.jpeg, Buffer.from(' \r\n\r\n')]),
    Buffer.from('----frame  \r\n'),
  ]);
  return { contentType: 'Multipart/X-Mixed-Replace; charset=binary; BOUNDARY=--frame', body, parts };
}

const FIXTURES: [string, () => Fixture][] = [
  ['mjpg-streamer (Content-Length, X-Timestamp)', mjpgStreamerStyle],
  ['ffmpeg mpjpeg (lower-case headers)', ffmpegStyle],
  ['boundary only, bare LF, closing boundary', boundaryOnlyLfStyle],
  ['boundary only, CRLF, dashes in the parameter', boundaryOnlyCrlfStyle],
];

function parserFor(contentType: string): MultipartParser {
  const type = parseMjpegContentType(contentType);
  if (type.kind !== 'multipart') throw new Error(`not multipart: ${contentType}`);
  return new MultipartParser(type.boundary);
}

function parseInPieces(f: Fixture, pieces: Buffer[]): JpegPart[] {
  const parser = parserFor(f.contentType);
  return pieces.flatMap((piece) => parser.push(piece));
}

const plain = (parts: JpegPart[]): { jpeg: string; headers: Record<string, string> }[] =>
  parts.map((p) => ({ jpeg: p.jpeg.toString('hex'), headers: Object.fromEntries(p.headers) }));
const expected = (f: Fixture): { jpeg: string; headers: Record<string, string> }[] => f.parts.map((p) => ({ jpeg: p.jpeg.toString('hex'), headers: p.headers }));

/** Catches what `fn` throws, so its code and message can be checked exactly. */
function thrown(fn: () => unknown): MjpegStreamError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MjpegStreamError) return err;
    throw err;
  }
  throw new Error('nothing thrown');
}

describe('MultipartParser', () => {
  describe.each(FIXTURES)('%s', (_name, make) => {
    const f = make();

    it('gives every JPEG byte for byte, with its headers, from one push', () => {
      expect(plain(parseInPieces(f, [f.body]))).toEqual(expected(f));
    });

    it('gives the same parts whichever byte the stream is split at', () => {
      for (let at = 0; at <= f.body.length; at++) {
        const parts = parseInPieces(f, [f.body.subarray(0, at), f.body.subarray(at)]);
        expect(plain(parts), `split at ${at}`).toEqual(expected(f));
      }
    });

    it('gives the same parts from one byte at a time', () => {
      const bytes = Array.from({ length: f.body.length }, (_, i) => f.body.subarray(i, i + 1));
      expect(plain(parseInPieces(f, bytes))).toEqual(expected(f));
    });
  });

  it('gives each part as soon as its last byte is in, not when the next one starts', () => {
    const f = mjpgStreamerStyle();
    const parser = parserFor(f.contentType);
    const firstEnd = f.body.indexOf(f.parts[0]!.jpeg) + f.parts[0]!.jpeg.length;
    expect(parser.push(f.body.subarray(0, firstEnd - 1))).toEqual([]);
    expect(parser.midPart).toBe(true);
    expect(plain(parser.push(f.body.subarray(firstEnd - 1, firstEnd)))).toEqual(expected(f).slice(0, 1));
    // Right after a boundary line nothing of the next part has come: not in the middle of a frame.
    expect(parser.push(f.body.subarray(firstEnd, f.body.indexOf('Content-Type', firstEnd)))).toEqual([]);
    expect(parser.midPart).toBe(false);
  });

  it('gives each JPEG in a buffer of its own, so a frame kept for pre-roll does not pin a 64 KB socket chunk', () => {
    const big = Buffer.concat([jpeg(1, 'b').subarray(0, -2), Buffer.alloc(20_000, 0x55), Buffer.from([0xff, 0xd9])]);
    const chunk = Buffer.alloc(64 * 1024);
    const head = Buffer.from(`--b\r\nContent-Length: ${big.length}\r\n\r\n`);
    head.copy(chunk);
    big.copy(chunk, head.length);
    const [part] = new MultipartParser('b').push(chunk);
    expect(part!.jpeg.equals(big)).toBe(true);
    expect(part!.jpeg.buffer.byteLength).toBe(big.length);
  });

  it('drops a part that does not end with the JPEG end marker, counts it, and goes on', () => {
    const b = 'b';
    const whole = jpeg(1, b);
    const cut = whole.subarray(0, whole.length - 30);
    const body = Buffer.concat([
      Buffer.from(`--${b}\r\nContent-Length: ${cut.length}\r\n\r\n`), cut, Buffer.from(`\r\n--${b}\r\n\r\n`), cut, Buffer.from(`\r\n--${b}\r\n\r\n`), whole, Buffer.from(`\r\n--${b}\r\n`),
    ]);
    const parser = new MultipartParser(b);
    expect(parser.push(body).map((p) => p.jpeg.toString('hex'))).toEqual([whole.toString('hex')]);
    expect(parser.truncatedParts).toBe(2);
  });
});

describe('MultipartParser limits', () => {
  const B = 'boundarydonotcross';
  const CHUNK = Buffer.alloc(64 * 1024);

  it(`takes a part of exactly ${MAX_PART_BYTES} bytes by Content-Length, and refuses one byte more before reading its body`, () => {
    const big = Buffer.alloc(MAX_PART_BYTES);
    big.set([0xff, 0xd8], 0);
    big.set([0xff, 0xd9], big.length - 2);
    const parser = new MultipartParser(B);
    expect(parser.push(Buffer.from(`--${B}\r\nContent-Length: ${big.length}\r\n\r\n`))).toEqual([]);
    const parts = [];
    for (let at = 0; at < big.length; at += CHUNK.length) parts.push(...parser.push(big.subarray(at, at + CHUNK.length)));
    expect(parts.length).toBe(1);
    expect(parts[0]!.jpeg.equals(big)).toBe(true);

    const e = thrown(() => new MultipartParser(B).push(Buffer.from(`--${B}\r\nContent-Length: ${MAX_PART_BYTES + 1}\r\n\r\n`)));
    expect(e.code).toBe('MJPEG_PART_TOO_LARGE');
    expect(e.message).toBe('a part of 16777217 bytes: larger than the 16 MB a JPEG may have');
  });

  it('refuses a part without Content-Length once it grows past the limit, holding no more than the limit and a chunk', () => {
    const parser = new MultipartParser(B);
    parser.push(Buffer.from(`--${B}\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8`, 'latin1'));
    let pushed = 0;
    const e = thrown(() => {
      for (;;) {
        pushed += CHUNK.length;
        parser.push(CHUNK);
        if (pushed > 2 * MAX_PART_BYTES) return;
      }
    });
    expect(e.code).toBe('MJPEG_PART_TOO_LARGE');
    expect(e.message).toBe('a part of more than 16 MB: larger than the 16 MB a JPEG may have');
    expect(pushed).toBeGreaterThan(MAX_PART_BYTES - CHUNK.length);
    expect(pushed).toBeLessThanOrEqual(MAX_PART_BYTES + CHUNK.length);
    // The parser is done: the same error again, whatever comes.
    expect(thrown(() => parser.push(Buffer.from(`\r\n--${B}\r\n`)))).toBe(e);
  });

  it(`takes a part of exactly ${MAX_PART_BYTES} bytes found by its boundary`, () => {
    const parser = new MultipartParser(B);
    parser.push(Buffer.from(`--${B}\r\n\r\n\xff\xd8`, 'latin1'));
    let left = MAX_PART_BYTES - 4;
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      expect(parser.push(CHUNK.subarray(0, n))).toEqual([]);
      left -= n;
    }
    const parts = parser.push(Buffer.from(`\xff\xd9\r\n--${B}\r\n`, 'latin1'));
    expect(parts.map((p) => p.jpeg.length)).toEqual([MAX_PART_BYTES]);
  });

  it('refuses headers of more than 64 KB, as one endless line or as many lines', () => {
    const line = new MultipartParser(B);
    line.push(Buffer.from(`--${B}\r\nX-Junk: `));
    const e = thrown(() => {
      for (let i = 0; i < 4; i++) line.push(Buffer.alloc(MAX_HEADER_BYTES / 2, 0x61));
    });
    expect(e.code).toBe('MJPEG_HEADERS_TOO_LARGE');
    expect(e.message).toBe("a part's headers are larger than 64 KB");

    const lines = new MultipartParser(B);
    const header = Buffer.from(`X-Junk: ${'a'.repeat(1000)}\r\n`);
    lines.push(Buffer.from(`--${B}\r\n`));
    expect(thrown(() => {
      for (let i = 0; i < 100; i++) lines.push(header);
    }).code).toBe('MJPEG_HEADERS_TOO_LARGE');
  });

  it('refuses a stream with no boundary in its first 64 KB, and a gap of 64 KB after a part', () => {
    const garbage = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 7) % 256));
    const parser = new MultipartParser(B);
    let pushed = 0;
    const e = thrown(() => {
      for (;;) {
        pushed += garbage.length;
        parser.push(garbage);
      }
    });
    expect(e.code).toBe('MJPEG_NO_BOUNDARY');
    expect(e.message).toBe('no boundary "--boundarydonotcross" in the first 64 KB of the stream');
    expect(pushed).toBe(MAX_GAP_BYTES + garbage.length);

    const after = new MultipartParser(B);
    const j = jpeg(1, B);
    expect(after.push(Buffer.concat([Buffer.from(`--${B}\r\nContent-Length: ${j.length}\r\n\r\n`), j])).length).toBe(1);
    const e2 = thrown(() => {
      for (;;) after.push(garbage);
    });
    expect(e2.message).toBe('no boundary "--boundarydonotcross" within 64 KB after a part');
  });

  it('refuses a part that is not a JPEG as soon as its first two bytes are in', () => {
    const parser = new MultipartParser(B);
    const e = thrown(() => parser.push(Buffer.from(`--${B}\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n<h`)));
    expect(e.code).toBe('MJPEG_NOT_JPEG');
    expect(e.message).toBe('a part is not a JPEG: it starts with 3c 68, not ff d8 (Content-Type: text/html)');
    expect(thrown(() => new MultipartParser(B).push(Buffer.from(`--${B}\r\n\r\n\r\n--${B}\r\n`))).message).toBe('a part is not a JPEG: it is empty, not ff d8');
    expect(thrown(() => new MultipartParser(B).push(Buffer.from(`--${B}\r\nContent-Length: 0\r\n\r\n`))).code).toBe('MJPEG_NOT_JPEG');
  });
});

describe('parseMjpegContentType', () => {
  it.each([
    ['multipart/x-mixed-replace;boundary=boundarydonotcross', 'boundarydonotcross'],
    ['multipart/x-mixed-replace; boundary=--ffmpeg', 'ffmpeg'],
    ['Multipart/X-Mixed-Replace; charset=binary; BOUNDARY="--my boundary"', 'my boundary'],
    ['multipart/x-mixed-replace; boundary="a;b\\"c"; x=y', 'a;b"c'],
    ['multipart/x-mixed-replace;boundary=123456789000000000000987654321', '123456789000000000000987654321'],
  ])('%s → boundary %s', (header, boundary) => {
    expect(parseMjpegContentType(header)).toEqual({ kind: 'multipart', boundary });
  });

  it('knows a snapshot', () => {
    expect(parseMjpegContentType('image/jpeg')).toEqual({ kind: 'jpeg' });
    expect(parseMjpegContentType('Image/JPEG; charset=binary')).toEqual({ kind: 'jpeg' });
  });

  it.each<[string | undefined, string, string]>([
    ['text/html; charset=utf-8', 'MJPEG_CONTENT_TYPE', 'not an MJPEG stream (Content-Type: text/html; charset=utf-8)'],
    ['application/octet-stream', 'MJPEG_CONTENT_TYPE', 'not an MJPEG stream (Content-Type: application/octet-stream)'],
    [undefined, 'MJPEG_CONTENT_TYPE', 'not an MJPEG stream (Content-Type: none)'],
    ['multipart/x-mixed-replace', 'MJPEG_NO_BOUNDARY', 'multipart/x-mixed-replace without a boundary (Content-Type: multipart/x-mixed-replace)'],
    ['multipart/x-mixed-replace; boundary=""', 'MJPEG_NO_BOUNDARY', 'multipart/x-mixed-replace without a boundary (Content-Type: multipart/x-mixed-replace; boundary="")'],
  ])('refuses %s', (header, code, message) => {
    const e = thrown(() => parseMjpegContentType(header));
    expect([e.code, e.message]).toEqual([code, message]);
  });
});
