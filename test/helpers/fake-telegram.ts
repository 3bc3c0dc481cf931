// A small Telegram Bot API server on 127.0.0.1 for tests: records calls, parses their bodies, can answer 429.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One uploaded file of a multipart call. */
export interface UploadedFile {
  filename: string;
  contentType: string;
  data: Buffer;
}

/** One request as the server saw it. */
export interface TelegramCall {
  token: string;
  method: string;
  /** Plain fields (chat_id, text, caption, …), from a urlencoded, JSON or multipart body. */
  fields: Record<string, string>;
  files: Record<string, UploadedFile>;
  /** The HTTP status the server answered with. */
  status: number;
  /** performance.now() when the request had been read. */
  at: number;
}

interface Scripted {
  method: string;
  status: number;
  body: object;
}

/**
 * Answers sendMessage, sendVideo, sendPhoto (and getMe) like the Bot API: 401 for a token it was
 * not given, 400 without chat_id or without the file, 404 for other methods. {@link rateLimit}
 * makes the next calls of a method answer 429 with `retry_after`, as Telegram does.
 */
export class FakeTelegram {
  readonly calls: TelegramCall[] = [];
  private readonly scripted: Scripted[] = [];
  private readonly waiters: (() => void)[] = [];
  private messageId = 0;

  private constructor(
    private readonly server: http.Server,
    private readonly tokens: readonly string[],
  ) {}

  /** Starts a server on 127.0.0.1, port 0, accepting `tokens` (any token when empty). */
  static async start(tokens: readonly string[] = []): Promise<FakeTelegram> {
    const server = http.createServer();
    const fake = new FakeTelegram(server, tokens);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => void fake.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** The value for `--telegram-api-root`. */
  get apiRoot(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** The next `count` calls of `method` are answered 429 with `retry_after: retryAfter` seconds. */
  rateLimit(method: string, retryAfter: number, count = 1): void {
    for (let i = 0; i < count; i++) {
      this.scripted.push({ method, status: 429, body: { ok: false, error_code: 429, description: `Too Many Requests: retry after ${retryAfter}`, parameters: { retry_after: retryAfter } } });
    }
  }

  /** The next `count` calls of `method` are answered with this error. */
  fail(method: string, status: number, description: string, count = 1): void {
    for (let i = 0; i < count; i++) this.scripted.push({ method, status, body: { ok: false, error_code: status, description } });
  }

  /** Calls answered with 200, in order. */
  get delivered(): TelegramCall[] {
    return this.calls.filter((c) => c.status === 200);
  }

  /** Resolves once `count` calls were answered with 200 (rejects after `timeoutMs`). */
  async waitForDelivered(count: number, timeoutMs = 15_000): Promise<TelegramCall[]> {
    const deadline = performance.now() + timeoutMs;
    while (this.delivered.length < count) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`fake Telegram: ${this.delivered.length} of ${count} calls delivered after ${timeoutMs} ms: ${JSON.stringify(this.calls.map((c) => [c.method, c.status, c.fields]))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.delivered.slice(0, count);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.url ?? '');
    const answer = (status: number, json: object, call?: TelegramCall): void => {
      if (call) {
        call.status = status;
        this.calls.push(call);
      }
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
      for (const wake of this.waiters.splice(0)) wake();
    };
    if (req.method !== 'POST' || !match) return answer(404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, token, method] = match as unknown as [string, string, string];
    let parsed: { fields: Record<string, string>; files: Record<string, UploadedFile> };
    try {
      parsed = parseBody(req.headers['content-type'] ?? '', body);
    } catch (err) {
      return answer(400, { ok: false, error_code: 400, description: `Bad Request: ${(err as Error).message}` });
    }
    const call: TelegramCall = { token, method, ...parsed, status: 0, at: performance.now() };
    if (this.tokens.length > 0 && !this.tokens.includes(token)) return answer(401, { ok: false, error_code: 401, description: 'Unauthorized' }, call);
    const scripted = this.scripted.findIndex((s) => s.method === method);
    if (scripted !== -1) {
      const [s] = this.scripted.splice(scripted, 1);
      return answer(s!.status, s!.body, call);
    }
    if (method === 'getMe') return answer(200, { ok: true, result: { id: 1, is_bot: true, first_name: 'fake' } }, call);
    const fileField = { sendVideo: 'video', sendPhoto: 'photo', sendMessage: undefined }[method];
    if (!['sendMessage', 'sendVideo', 'sendPhoto'].includes(method)) return answer(404, { ok: false, error_code: 404, description: 'Not Found' }, call);
    if (!call.fields.chat_id) return answer(400, { ok: false, error_code: 400, description: 'Bad Request: chat_id is empty' }, call);
    if (fileField && !call.files[fileField]) return answer(400, { ok: false, error_code: 400, description: `Bad Request: there is no ${fileField} in the request` }, call);
    if (method === 'sendMessage' && !call.fields.text) return answer(400, { ok: false, error_code: 400, description: 'Bad Request: message text is empty' }, call);
    const chatId = Number.isNaN(Number(call.fields.chat_id)) ? call.fields.chat_id : Number(call.fields.chat_id);
    return answer(200, { ok: true, result: { message_id: ++this.messageId, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: 'private' } } }, call);
  }
}

/** Parses an application/x-www-form-urlencoded, application/json or multipart/form-data body. */
export function parseBody(contentType: string, body: Buffer): { fields: Record<string, string>; files: Record<string, UploadedFile> } {
  const fields: Record<string, string> = {};
  const files: Record<string, UploadedFile> = {};
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) fields[k] = v;
    return { fields, files };
  }
  if (contentType.startsWith('application/json')) {
    for (const [k, v] of Object.entries(JSON.parse(body.toString('utf8')) as Record<string, unknown>)) fields[k] = typeof v === 'string' ? v : JSON.stringify(v);
    return { fields, files };
  }
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!contentType.startsWith('multipart/form-data') || !boundary) {
    if (body.length === 0) return { fields, files };
    throw new Error(`unsupported content type ${contentType}`);
  }
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delimiter);
  if (pos === -1) throw new Error('multipart body without its boundary');
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break; // closing delimiter
    pos += 2; // CRLF after the delimiter
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd === -1) throw new Error('multipart part without headers');
    const headers = body.subarray(pos, headerEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next === -1) throw new Error('multipart part without its closing boundary');
    const data = body.subarray(headerEnd + 4, next);
    const name = /name="([^"]*)"/i.exec(headers)?.[1];
    if (name === undefined) throw new Error('multipart part without a name');
    const filename = /filename="([^"]*)"/i.exec(headers)?.[1];
    if (filename !== undefined) {
      files[name] = { filename, contentType: /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1] ?? '', data: Buffer.from(data) };
    } else {
      fields[name] = data.toString('utf8');
    }
    pos = next + 2;
  }
  return { fields, files };
}
