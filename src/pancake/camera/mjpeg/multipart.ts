// MJPEG over HTTP, the pure part: the multipart/x-mixed-replace body parsed incrementally into JPEG parts, within fixed limits.

/** The largest JPEG part accepted (a 4K camera at high quality sends about 2 MB). */
export const MAX_PART_BYTES = 16 * 1024 * 1024;
/** The largest header block of one part. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** The most bytes read while looking for a boundary: before the first part, or between a part and the next. */
export const MAX_GAP_BYTES = 64 * 1024;

/** Stable codes of {@link MjpegStreamError}. */
export type MjpegErrorCode =
  | 'MJPEG_CONTENT_TYPE' // the response is neither multipart/x-mixed-replace nor image/jpeg
  | 'MJPEG_NO_BOUNDARY' // multipart without a boundary parameter, or the body never sends the boundary
  | 'MJPEG_HEADERS_TOO_LARGE'
  | 'MJPEG_PART_TOO_LARGE'
  | 'MJPEG_NOT_JPEG'; // a part that does not start with the JPEG SOI marker FF D8

/** Why an MJPEG stream cannot be read further; `message` is one line a person understands. */
export class MjpegStreamError extends Error {
  constructor(
    readonly code: MjpegErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MjpegStreamError';
  }
}

/** One part of the stream. */
export interface JpegPart {
  /** The JPEG, exactly its bytes (SOI FF D8 to EOI FF D9), in a buffer of its own. */
  jpeg: Buffer;
  /** The part's headers, names lower-cased (`content-type`, `content-length`, `x-timestamp`). */
  headers: Map<string, string>;
}

/** What a response's Content-Type says the body is. */
export type MjpegContentType = { kind: 'multipart'; boundary: string } | { kind: 'jpeg' };

/**
 * Reads a response's Content-Type: `multipart/x-mixed-replace` with its boundary (quoted or not;
 * one leading `--` that some servers put into the parameter is removed), or `image/jpeg` (a
 * snapshot). Anything else throws MJPEG_CONTENT_TYPE; multipart without a boundary MJPEG_NO_BOUNDARY.
 */
export function parseMjpegContentType(value: string | undefined): MjpegContentType {
  const [type = '', ...params] = splitParameters(value ?? '');
  const media = type.trim().toLowerCase();
  if (media === 'image/jpeg') return { kind: 'jpeg' };
  if (media !== 'multipart/x-mixed-replace') {
    throw new MjpegStreamError('MJPEG_CONTENT_TYPE', `not an MJPEG stream (Content-Type: ${value === undefined || value === '' ? 'none' : value})`);
  }
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'boundary') continue;
    let boundary = param.slice(eq + 1).trim();
    if (boundary.startsWith('"')) boundary = boundary.slice(1, boundary.endsWith('"') && boundary.length > 1 ? -1 : undefined).replace(/\\(.)/g, '$1');
    if (boundary.startsWith('--')) boundary = boundary.slice(2);
    if (boundary !== '') return { kind: 'multipart', boundary };
  }
  throw new MjpegStreamError('MJPEG_NO_BOUNDARY', `multipart/x-mixed-replace without a boundary (Content-Type: ${value})`);
}

/** `a; b="x;y"; c` → [`a`, ` b="x;y"`, ` c`]: splits at semicolons outside quoted strings. */
function splitParameters(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ';' && !quoted) {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  out.push(value.slice(start));
  return out;
}

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const DASH = 0x2d;
const NEWLINE = Buffer.from('\n');

/**
 * Received bytes as a list of chunks: searched in place, copied out only once a part is complete
 * (never a Buffer.concat per chunk).
 */
class ChunkQueue {
  private chunks: Buffer[] = [];
  size = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  clear(): void {
    this.chunks = [];
    this.size = 0;
  }

  /** The byte at `index`, or -1 past the end. */
  byteAt(index: number): number {
    for (const chunk of this.chunks) {
      if (index < chunk.length) return chunk[index]!;
      index -= chunk.length;
    }
    return -1;
  }

  /** The first `n` bytes removed and copied into a buffer of their own (a part must not pin a 64 KB socket chunk). */
  take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const k = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, k);
      filled += k;
      this.drop(chunk, k);
    }
    return out;
  }

  /** Removes the first `n` bytes. */
  skip(n: number): void {
    while (n > 0) {
      const chunk = this.chunks[0]!;
      const k = Math.min(chunk.length, n);
      n -= k;
      this.drop(chunk, k);
    }
  }

  private drop(first: Buffer, k: number): void {
    if (k === first.length) this.chunks.shift();
    else this.chunks[0] = first.subarray(k);
    this.size -= k;
  }

  /** The first index ≥ `from` where `needle` starts, or -1; finds it across chunk seams too. */
  indexOf(needle: Buffer, from: number): number {
    const overlap = needle.length - 1;
    let base = 0;
    for (const chunk of this.chunks) {
      const end = base + chunk.length;
      if (end > from) {
        // A match that starts in an earlier chunk and ends in this one: look at a small window over the seam.
        if (overlap > 0 && base > 0 && from < base) {
          const windowStart = Math.max(0, base - overlap, from);
          const window = this.copy(windowStart, Math.min(this.size, base + overlap));
          const hit = window.indexOf(needle);
          if (hit >= 0 && windowStart + hit < base) return windowStart + hit;
        }
        const hit = chunk.indexOf(needle, Math.max(0, from - base));
        if (hit >= 0) return base + hit;
      }
      base = end;
    }
    return -1;
  }

  /** A copy of bytes [start, end). */
  private copy(start: number, end: number): Buffer {
    const out = Buffer.allocUnsafe(Math.max(0, end - start));
    let base = 0;
    for (const chunk of this.chunks) {
      if (base >= end) break;
      const from = Math.max(start, base);
      const to = Math.min(end, base + chunk.length);
      if (to > from) chunk.copy(out, from - start, from - base, to - base);
      base += chunk.length;
    }
    return out;
  }
}

/** Where a delimiter line was found: the line's first byte, the byte after its line end, and whether it closes the body. */
type Delimiter = { found: true; lineStart: number; end: number; closing: boolean } | { found: false };

const SEEKING = 0; // looking for a boundary line (before the first part, or after a part with Content-Length)
const HEADERS = 1;
const BODY_BY_LENGTH = 2;
const BODY_TO_BOUNDARY = 3;
const DONE = 4; // the closing boundary came: whatever follows is ignored

/**
 * A `multipart/x-mixed-replace` body cut into JPEG parts as bytes arrive. A part's end is its
 * Content-Length when it gives one, else the next boundary line; never a JPEG end marker, since a
 * JPEG's EXIF thumbnail has SOI/EOI markers of its own. The delimiter line is found with any number
 * of dashes before the boundary (`--boundary` is standard, servers vary), CRLF or bare LF.
 *
 * Limits (memory stays bounded: no more than a limit plus one chunk is ever held): a part over
 * {@link MAX_PART_BYTES}, headers over {@link MAX_HEADER_BYTES}, no boundary within
 * {@link MAX_GAP_BYTES}, a part that does not start with FF D8 → `push` throws an
 * {@link MjpegStreamError}, and every later `push` throws it again. A part that starts as a JPEG
 * but does not end with FF D9 (a camera sending broken frames) is dropped and counted in
 * {@link truncatedParts}.
 */
export class MultipartParser {
  /** Parts dropped because they did not end with the JPEG EOI marker. */
  truncatedParts = 0;
  private readonly queue = new ChunkQueue();
  private readonly boundary: Buffer;
  private state = SEEKING;
  private scanFrom = 0;
  private headerBytes = 0;
  private headers = new Map<string, string>();
  private length = 0;
  private sniffed = false;
  private parts = 0;
  private failure: MjpegStreamError | undefined;

  /** `boundary` as {@link parseMjpegContentType} returns it (without leading `--`). */
  constructor(boundary: string) {
    this.boundary = Buffer.from(boundary, 'latin1');
  }

  /** Whether the stream stopped inside a part (its headers or its JPEG): for saying where a cut-off stream ended. */
  get midPart(): boolean {
    return this.state === BODY_BY_LENGTH || this.state === BODY_TO_BOUNDARY || (this.state === HEADERS && this.headerBytes + this.queue.size > 0);
  }

  /** Adds received bytes; returns the parts completed by them, in order. */
  push(chunk: Buffer): JpegPart[] {
    if (this.failure) throw this.failure;
    this.queue.push(chunk);
    const out: JpegPart[] = [];
    try {
      while (this.step(out));
    } catch (err) {
      this.failure = err as MjpegStreamError;
      this.queue.clear();
      throw err;
    }
    return out;
  }

  /** One step of the state machine; false when it needs more bytes. */
  private step(out: JpegPart[]): boolean {
    switch (this.state) {
      case SEEKING: {
        const d = this.findDelimiter();
        if (!d.found) {
          if (this.queue.size > MAX_GAP_BYTES) {
            const where = this.parts === 0 ? 'in the first' : 'within';
            const after = this.parts === 0 ? ' of the stream' : ' after a part';
            throw new MjpegStreamError('MJPEG_NO_BOUNDARY', `no boundary "--${this.boundary.toString('latin1')}" ${where} ${MAX_GAP_BYTES / 1024} KB${after}`);
          }
          return false;
        }
        this.queue.skip(d.end);
        this.afterDelimiter(d.closing);
        return true;
      }
      case HEADERS:
        return this.readHeaderLine();
      case BODY_BY_LENGTH:
        this.sniff();
        if (this.queue.size < this.length) return false;
        this.emit(this.queue.take(this.length), out);
        this.state = SEEKING;
        this.scanFrom = 0;
        return true;
      case BODY_TO_BOUNDARY: {
        const d = this.findDelimiter();
        if (!d.found) {
          this.sniff();
          // Room for the delimiter line after a part of the largest size, so the limit is exact.
          if (this.queue.size > MAX_PART_BYTES + this.boundary.length + 8) this.tooLarge();
          return false;
        }
        let end = d.lineStart;
        if (end > 0 && this.queue.byteAt(end - 1) === LF) end--;
        if (end > 0 && this.queue.byteAt(end - 1) === CR) end--;
        if (end > MAX_PART_BYTES) this.tooLarge();
        const body = this.queue.take(end);
        if (body.length < 2 || body[0] !== 0xff || body[1] !== 0xd8) this.notJpeg(body.subarray(0, 4));
        this.queue.skip(d.end - end);
        this.emit(body, out);
        this.afterDelimiter(d.closing);
        return true;
      }
      default:
        this.queue.clear();
        return false;
    }
  }

  private afterDelimiter(closing: boolean): void {
    this.state = closing ? DONE : HEADERS;
    this.scanFrom = 0;
    this.headerBytes = 0;
    this.headers = new Map();
  }

  private readHeaderLine(): boolean {
    const nl = this.queue.indexOf(NEWLINE, this.scanFrom);
    if (nl < 0) {
      this.scanFrom = this.queue.size;
      if (this.headerBytes + this.queue.size > MAX_HEADER_BYTES) this.headersTooLarge();
      return false;
    }
    this.headerBytes += nl + 1;
    if (this.headerBytes > MAX_HEADER_BYTES) this.headersTooLarge();
    const line = this.queue.take(nl + 1).toString('latin1').replace(/\r?\n$/, '');
    this.scanFrom = 0;
    if (line.trim() !== '') {
      const colon = line.indexOf(':');
      // A line that is not a header is skipped: what matters is where the body starts.
      if (colon > 0) this.headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      return true;
    }
    this.sniffed = false;
    const length = /^\d+$/.test(this.headers.get('content-length') ?? '') ? Number(this.headers.get('content-length')) : undefined;
    if (length === undefined) {
      this.state = BODY_TO_BOUNDARY;
      return true;
    }
    if (length > MAX_PART_BYTES) this.tooLarge(length);
    if (length < 2) this.notJpeg(this.queue.take(Math.min(length, this.queue.size)));
    this.length = length;
    this.state = BODY_BY_LENGTH;
    return true;
  }

  /** Checks the SOI marker as soon as two bytes of the body are in, so a non-JPEG part is not read to its end. */
  private sniff(): void {
    if (this.sniffed || this.queue.size < 2) return;
    if (this.queue.byteAt(0) !== 0xff || this.queue.byteAt(1) !== 0xd8) this.notJpeg(this.queue.take(Math.min(4, this.queue.size)));
    this.sniffed = true;
  }

  /** Hands a complete body on when it is a whole JPEG (trailing line ends some servers add are not part of it). */
  private emit(body: Buffer, out: JpegPart[]): void {
    this.parts++;
    let end = body.length;
    while (end > 2 && (body[end - 1] === LF || body[end - 1] === CR || body[end - 1] === SPACE || body[end - 1] === TAB)) end--;
    if (body[end - 2] !== 0xff || body[end - 1] !== 0xd9) {
      this.truncatedParts++;
      return;
    }
    out.push({ jpeg: end === body.length ? body : body.subarray(0, end), headers: this.headers });
  }

  /**
   * The next delimiter line from {@link scanFrom}: optional dashes, the boundary, optional `--`
   * (closing), optional spaces, CRLF or LF, at the start of a line (or of the buffered bytes).
   * When none is complete yet, remembers where to search again.
   */
  private findDelimiter(): Delimiter {
    const q = this.queue;
    let at = this.scanFrom;
    for (;;) {
      const i = q.indexOf(this.boundary, at);
      if (i < 0) {
        this.scanFrom = Math.max(at, q.size - this.boundary.length + 1);
        return { found: false };
      }
      let lineStart = i;
      while (lineStart > 0 && q.byteAt(lineStart - 1) === DASH) lineStart--;
      if (lineStart === 0 || q.byteAt(lineStart - 1) === LF) {
        const after = i + this.boundary.length;
        const closing = q.byteAt(after) === DASH && q.byteAt(after + 1) === DASH;
        let k = closing ? after + 2 : after;
        while (q.byteAt(k) === SPACE || q.byteAt(k) === TAB) k++;
        if (q.byteAt(k) === CR) k++;
        const b = q.byteAt(k);
        if (b === LF) return { found: true, lineStart, end: k + 1, closing };
        if (b < 0 || (q.byteAt(after) === DASH && q.byteAt(after + 1) < 0)) {
          // The line is not complete yet: look at this match again when more bytes are in.
          this.scanFrom = i;
          return { found: false };
        }
      }
      at = i + 1;
    }
  }

  private tooLarge(length?: number): never {
    const size = length === undefined ? `more than ${MAX_PART_BYTES / 1024 / 1024} MB` : `${length} bytes`;
    throw new MjpegStreamError('MJPEG_PART_TOO_LARGE', `a part of ${size}: larger than the ${MAX_PART_BYTES / 1024 / 1024} MB a JPEG may have`);
  }

  private headersTooLarge(): never {
    throw new MjpegStreamError('MJPEG_HEADERS_TOO_LARGE', `a part's headers are larger than ${MAX_HEADER_BYTES / 1024} KB`);
  }

  private notJpeg(start: Buffer): never {
    const type = this.headers.get('content-type');
    const bytes = start.length === 0 ? 'is empty' : `starts with ${[...start].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`;
    throw new MjpegStreamError('MJPEG_NOT_JPEG', `a part is not a JPEG: it ${bytes}, not ff d8${type ? ` (Content-Type: ${type})` : ''}`);
  }
}
