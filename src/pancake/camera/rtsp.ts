// Network cameras over RTSP, the pure parts: the camera URL, its masked form, the ffmpeg ingest argv and what ffmpeg's stderr means.
import { checkSeparatePassword, maskUrl, parseCameraAuthority } from './camera-url.js';

/** How RTP travels: interleaved in the RTSP TCP connection (default: no loss, passes NAT) or as UDP datagrams. */
export type RtspTransport = 'tcp' | 'udp';

/** A validated camera URL. */
export interface CameraUrl {
  /** The URL handed to ffmpeg, credentials percent-encoded. Holds the password: never log it. */
  readonly url: string;
  /** The URL with the password replaced by `***`: for every log line, event and page. */
  readonly masked: string;
  readonly scheme: 'rtsp' | 'rtsps';
  /** As written (IPv6 in brackets, `[::1]`), lower-cased. */
  readonly host: string;
  /** The port given, else 554 (rtsp) or 322 (rtsps). */
  readonly port: number;
  /** Path and query, as given (`/Streaming/Channels/101?transportmode=unicast`); may be empty. */
  readonly path: string;
  /** The user name, decoded; undefined without one. */
  readonly user: string | undefined;
  /** The password, decoded; '' without one. Only for masking ffmpeg's output. */
  readonly password: string;
}

/** Default ports (RFC 7826, and what ffmpeg assumes). */
export const DEFAULT_RTSP_PORT = 554;
export const DEFAULT_RTSPS_PORT = 322;

/**
 * Parses and validates `rtsp://[user[:password]@]host[:port][/path][?query]` (or `rtsps://`).
 * `password` is a password given apart from the URL (`--camera-password env:NAME|file:PATH`,
 * already resolved); it is put into the URL, which must then name a user and hold no password.
 * Throws a {@link UsageError} with a one-line message naming `flag` (and `--camera-password`
 * when that is the problem); the message never contains the password.
 */
export function parseCameraUrl(text: string, options: { password?: string; flag?: string } = {}): CameraUrl {
  const flag = options.flag ?? '--camera';
  const shown = maskUrl(text);
  const parts = parseCameraAuthority(text, {
    flag, shown,
    defaultPorts: { rtsp: DEFAULT_RTSP_PORT, rtsps: DEFAULT_RTSPS_PORT },
    notAUrl: 'not a URL; expected rtsp://[user[:password]@]host[:port]/path',
    unsupportedScheme: (given) => `unsupported scheme ${given}:// (rtsp:// or rtsps://)`,
    fragment: "a '#' has no meaning in an RTSP URL",
  });
  const { user, host, port, portText, tail } = parts;
  const scheme = parts.scheme as 'rtsp' | 'rtsps';
  let password = parts.password;
  if (options.password !== undefined) {
    checkSeparatePassword(parts, flag, shown, 'rtsp://USER@host/path');
    password = options.password;
  }

  const hostPart = portText === undefined ? host : `${host}:${port}`;
  const credentials = user === undefined ? '' : `${encodeUserinfo(user)}${password ? `:${encodeUserinfo(password)}` : ''}@`;
  const maskedCredentials = user === undefined ? '' : `${encodeUserinfo(user)}${password ? ':***' : ''}@`;
  return {
    url: `${scheme}://${credentials}${hostPart}${tail}`,
    masked: `${scheme}://${maskedCredentials}${hostPart}${tail}`,
    scheme,
    host,
    port,
    path: tail,
    user,
    password,
  };
}

/** Any URL with its password masked (see camera-url.ts); here too for the RTSP code's callers. */
export { maskUrl };

/**
 * Text (ffmpeg's stderr, an error message) with every URL's password masked, and every other
 * appearance of the password too, raw or percent-encoded: ffmpeg prints the URL it was given.
 * A short password that is also an ordinary word masks that word as well: better garbled than leaked.
 */
export function maskSecrets(text: string, password: string): string {
  let out = text.replace(/[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s'"<>]*/g, (u) => maskUrl(u));
  if (password) {
    for (const form of new Set([password, encodeUserinfo(password), encodeURIComponent(password)])) {
      out = out.split(form).join('***');
    }
  }
  return out;
}

/** What the ffmpeg ingest child is asked for. */
export interface RtspIngestSettings {
  /** The camera URL with credentials ({@link CameraUrl.url}). */
  url: string;
  transport: RtspTransport;
  /** Socket I/O timeout: a camera that accepts no connection, or sends nothing, for this long ends ffmpeg. */
  timeoutSeconds: number;
}

/**
 * ffmpeg argv (Debian 12's ffmpeg 5.1) that copies the camera's H.264 to stdout as Annex B,
 * with no decoding and no re-encoding:
 * - `-loglevel level+verbose`: verbose is the lowest level that prints the SDP (needed for SDP-only
 *   parameter sets, the audio track and the codec); it adds no per-packet lines. `level` prefixes
 *   `[error]`, so the reason can be told from the chatter. `-nostats`: no progress lines.
 * - `-timeout` (µs) is the RTSP demuxer's socket timeout (5.x removed `-stimeout`).
 * - `-allowed_media_types video`: an audio track is not even set up (its SDP line still shows).
 * - `-fflags +discardcorrupt`: drop frames the RTP depacketizer knows are damaged (lost packets).
 *   `+nobuffer`: do not hold back the packets read while ffmpeg probes the input (2-3 s with x264
 *   B-frames, measured). Held back, they came out in one burst when probing ended, so their arrival
 *   times (the frames' times in the MP4, the file's start) were wrong: the first seconds of every
 *   run played about twice as fast and the file's fps was too high. Without them the stream starts
 *   at the first keyframe after probing, every frame timed as it arrives.
 *   `+genpts` is left out: raw H.264 output carries no timestamps, and generating them only
 *   makes the demuxer look ahead.
 * - `-copyts`: no shifting of timestamps to zero, which with B-frames made the muxer log
 *   "pts < dts" / "non monotonically increasing dts" errors on every start (harmless, but they
 *   filled the stderr tail that failure reasons quote).
 * - `-map 0:v:0 -c copy -f h264 -flush_packets 1 pipe:1`: the first video stream as it is, every
 *   frame written to the pipe as soon as it is complete. No bitstream filter.
 */
export function buildRtspArgs(s: RtspIngestSettings): string[] {
  return [
    '-hide_banner', '-nostdin', '-nostats',
    '-loglevel', 'level+verbose',
    '-rtsp_transport', s.transport,
    '-timeout', String(Math.max(1, Math.round(s.timeoutSeconds * 1_000_000))),
    '-allowed_media_types', 'video',
    '-fflags', '+discardcorrupt+nobuffer',
    '-copyts',
    '-i', s.url,
    '-map', '0:v:0', '-c', 'copy',
    '-f', 'h264', '-flush_packets', '1', 'pipe:1',
  ];
}

/** One media section of an SDP. */
export interface SdpMedia {
  /** `video`, `audio`, `application`… */
  type: string;
  /** RTP payload types, first preferred. */
  formats: number[];
  /** Payload type → encoding name as the SDP spells it (`H264`, `MPEG4-GENERIC`). */
  encodings: Map<number, string>;
  /** Payload type → fmtp parameters, keys lower-cased. */
  fmtp: Map<number, Map<string, string>>;
}

// RTP payload types with a fixed meaning (RFC 3551), for SDPs without an rtpmap line.
const STATIC_PAYLOADS: Record<number, string> = { 0: 'PCMU', 8: 'PCMA', 14: 'MPA', 26: 'JPEG', 32: 'MPV', 34: 'H263' };

/** The SDP ffmpeg printed at verbose level ("SDP:" and the lines up to a blank one), parsed; undefined before it arrived. */
export function parseSdp(stderr: string): SdpMedia[] | undefined {
  const m = /SDP:[ \t]*\r?\n([\s\S]*?)\r?\n[ \t]*\r?\n/.exec(stderr);
  if (!m) return undefined;
  const media: SdpMedia[] = [];
  for (const raw of m[1]!.split(/\r?\n/)) {
    const line = raw.trim();
    const mline = /^m=(\w+) \S+ \S+((?: \d+)*)/.exec(line);
    if (mline) {
      const formats = mline[2]!.trim().split(/\s+/).filter(Boolean).map(Number);
      media.push({ type: mline[1]!, formats, encodings: new Map(formats.filter((f) => STATIC_PAYLOADS[f]).map((f) => [f, STATIC_PAYLOADS[f]!])), fmtp: new Map() });
      continue;
    }
    const current = media[media.length - 1];
    if (!current) continue;
    const rtpmap = /^a=rtpmap:(\d+) ([^/\s]+)/.exec(line);
    if (rtpmap) current.encodings.set(Number(rtpmap[1]), rtpmap[2]!.toUpperCase());
    const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (fmtp) {
      const params = new Map<string, string>();
      for (const part of fmtp[2]!.split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0) params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
      }
      current.fmtp.set(Number(fmtp[1]), params);
    }
  }
  return media;
}

/** The encoding of a media section's preferred format (`H264`), if known. */
function encodingOf(media: SdpMedia | undefined): string | undefined {
  const pt = media?.formats[0];
  return pt === undefined ? undefined : media!.encodings.get(pt);
}

/**
 * The H.264 parameter sets (SPS, PPS) of the SDP's sprop-parameter-sets, as NAL units without start
 * codes; [] when the SDP has none or the video is not H.264. Many IP cameras send them only there:
 * ffmpeg's `-c copy -f h264` output then has no SPS/PPS at all (measured), so the source puts them
 * in front of the stream itself.
 */
export function sdpParameterSets(media: SdpMedia[] | undefined): Buffer[] {
  const video = media?.find((m) => m.type === 'video');
  const pt = video?.formats[0];
  if (!video || pt === undefined || encodingOf(video) !== 'H264') return [];
  const sprop = video.fmtp.get(pt)?.get('sprop-parameter-sets');
  if (!sprop) return [];
  return sprop.split(',').map((b64) => Buffer.from(b64.trim(), 'base64')).filter((nal) => nal.length > 0);
}

const START_CODE = Buffer.from([0, 0, 0, 1]);

/**
 * The first chunk of the stream with `sets` (from {@link sdpParameterSets}) put before its picture:
 * after a leading access unit delimiter (which must stay first), else at the very start. Unchanged
 * when the chunk already has an SPS before its first slice (the camera sends them in-band) or when
 * there are no sets.
 */
export function insertParameterSets(first: Buffer, sets: Buffer[]): Buffer {
  if (sets.length === 0) return first;
  const nals = nalStarts(first);
  for (const { header } of nals) {
    const type = first[header]! & 0x1f;
    if (type === 7) return first; // in-band SPS: the camera repeats its parameter sets itself
    if (type >= 1 && type <= 5) break;
  }
  const prefix = Buffer.concat(sets.flatMap((nal) => [START_CODE, nal]));
  const firstNal = nals[0];
  const at = firstNal && firstNal.start === 0 && (first[firstNal.header]! & 0x1f) === 9 ? (nals[1]?.start ?? first.length) : 0;
  return Buffer.concat([first.subarray(0, at), prefix, first.subarray(at)]);
}

/** Start-code positions (`start`: first byte of a 3- or 4-byte start code; `header`: the NAL header byte). */
function nalStarts(buf: Buffer): { start: number; header: number }[] {
  const out: { start: number; header: number }[] = [];
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
      out.push({ start: i > 0 && buf[i - 1] === 0 ? i - 1 : i, header: i + 3 });
      i += 2;
    }
  }
  return out;
}

/** What ffmpeg said about the input, from the part of stderr before the output is set up. */
export interface InputDescription {
  /** ffmpeg's codec name of the first video stream (`h264`, `hevc`, `mjpeg`), from the SDP if ffmpeg has not printed it yet. */
  videoCodec?: string;
  /** ffmpeg's stream line of that video stream ("h264 (Main), yuv420p…, 1920x1080, 15 fps…"), once printed. */
  videoLine?: string;
  /** The audio track's codec (`aac`, `pcm_mulaw`), when the stream has one. */
  audioCodec?: string;
  /** True once ffmpeg has printed the whole input description (the codec is final). */
  complete: boolean;
}

// SDP encoding names → ffmpeg's codec names, so both sources of the codec read alike.
const SDP_CODECS: Record<string, string> = {
  H264: 'h264', H265: 'hevc', JPEG: 'mjpeg', 'MP4V-ES': 'mpeg4', MPV: 'mpeg2video', H263: 'h263', 'H263-1998': 'h263p', VP8: 'vp8', VP9: 'vp9', AV1: 'av1',
  'MPEG4-GENERIC': 'aac', 'MP4A-LATM': 'aac', PCMU: 'pcm_mulaw', PCMA: 'pcm_alaw', OPUS: 'opus', L16: 'pcm_s16be', MPA: 'mp3',
  'G726-16': 'adpcm_g726', 'G726-24': 'adpcm_g726', 'G726-32': 'adpcm_g726', 'G726-40': 'adpcm_g726', G722: 'adpcm_g722',
};

/** The input's video codec, audio track and stream line, from ffmpeg's stderr (its first part suffices). */
export function describeInput(stderr: string): InputDescription {
  const input = inputSection(stderr);
  const sdp = parseSdp(stderr);
  const streamLine = (kind: 'Video' | 'Audio'): RegExpExecArray | null =>
    new RegExp(String.raw`Stream #\d+:\d+(?:\[\w+\])?(?:\([^)]*\))?: ${kind}: (\w+)(.*)`).exec(input.text);
  const video = streamLine('Video');
  const audio = streamLine('Audio');
  const fromSdp = (type: string): string | undefined => {
    const enc = encodingOf(sdp?.find((m) => m.type === type));
    return enc === undefined ? undefined : (SDP_CODECS[enc] ?? enc.toLowerCase());
  };
  return {
    videoCodec: video?.[1] ?? fromSdp('video'),
    videoLine: video ? `${video[1]}${video[2]}`.trim() : undefined,
    audioCodec: audio?.[1] ?? fromSdp('audio'),
    complete: input.complete,
  };
}

/** The "Input #0 …" part of stderr, up to "Output #0"/"Stream mapping:" (where output streams repeat the codec). */
function inputSection(stderr: string): { text: string; complete: boolean } {
  const start = stderr.search(/Input #0\b/);
  if (start < 0) return { text: '', complete: false };
  const rest = stderr.slice(start);
  const end = rest.search(/Output #0\b|Stream mapping:|Stream map '[^']*' matches no streams/);
  return end < 0 ? { text: rest, complete: false } : { text: rest.slice(0, end), complete: true };
}

/** What the classifier knows besides stderr. */
export interface RtspFailureContext {
  camera: CameraUrl;
  /** ffmpeg's exit code (null when killed or never started). */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The spawn error's code (ENOENT: ffmpeg not installed). */
  spawnError?: string;
  /** Whether any video reached stdout before the end. */
  receivedData: boolean;
  timeoutSeconds: number;
}

/** The sentence for a stream whose video pancake cannot record (null for H.264). */
export function codecProblem(codec: string): string | null {
  if (codec === 'h264') return null;
  const fix = "set the camera's video codec to H.264 (often 'Video encoding' in its web settings)";
  const names: Record<string, string> = { hevc: 'H.265 (HEVC)', mjpeg: 'MJPEG', mpeg4: 'MPEG-4 Part 2', h263: 'H.263', av1: 'AV1', vp8: 'VP8', vp9: 'VP9' };
  const name = names[codec] ?? codec;
  const extra = codec === 'mjpeg' ? ', or give pancake its MJPEG-over-HTTP URL' : '';
  return `the camera sends ${name}, pancake records H.264: ${fix}${extra}`;
}

/**
 * Why ffmpeg's RTSP ingest ended, as a sentence a person can act on (without the command line and
 * stderr, which the source appends). The password never appears in it.
 */
export function classifyRtspFailure(stderr: string, ctx: RtspFailureContext): string {
  const cam = ctx.camera;
  const where = `${cam.host}:${cam.port}`;
  const text = maskSecrets(stderr, cam.password);
  if (ctx.spawnError === 'ENOENT') return 'ffmpeg not found: install it (sudo apt install ffmpeg, or scripts/deps.sh)';
  if (ctx.spawnError) return `ffmpeg could not be started: ${ctx.spawnError}`;

  const input = describeInput(text);
  if (input.videoCodec) {
    const problem = codecProblem(input.videoCodec);
    if (problem) return problem;
  }
  if (/Stream map '0:v:0' matches no streams/.test(text)) return `the stream at ${cam.path || '/'} has no video track`;

  const dns = /Failed to resolve hostname (\S+): (.+)/.exec(text);
  if (dns) return `the host name ${dns[1]} was not found (${dns[2]!.trim()}): check the host in --camera`;
  if (/Connection refused/.test(text)) return `connection refused by ${where}: nothing listens there (is the camera on, the port right, RTSP enabled?)`;
  const unreachable = /(No route to host|Network is unreachable|Host is unreachable)/.exec(text);
  if (unreachable) return `${where} cannot be reached (${unreachable[1]}): is the camera on and on this network?`;

  const status = /method (\w+) failed: (\d{3})(?: (.*))?/.exec(text);
  const code = status ? Number(status[2]) : Number(/Server returned (\d{3})/.exec(text)?.[1] ?? NaN);
  const statusText = status ? `${status[2]} ${(status[3] ?? '').trim()}`.trim() : /Server returned (\d{3}[^\n]*)/.exec(text)?.[1]?.trim();
  if (code === 401) {
    return cam.user === undefined
      ? 'the camera wants a user and password (401 Unauthorized): put the user into --camera (rtsp://USER@host/…) and give --camera-password'
      : `the camera refused user ${JSON.stringify(cam.user)} or the password: wrong user or password (401 Unauthorized)`;
  }
  if (code === 403) return `the camera forbids user ${cam.user === undefined ? '(none)' : JSON.stringify(cam.user)} this stream (403 Forbidden)`;
  if (code === 404) return `no stream at path ${cam.path || '/'} on the camera (404 Not Found): check the path in --camera`;
  if (code === 461) return 'the camera does not offer this transport (461 Unsupported Transport): try the other one (tcp or udp)';
  if (code === 503) return 'the camera refused the stream for now (503 Service Unavailable): too many clients watching?';
  if (status || statusText) return `the camera answered ${status ? `${status[1]} with ` : ''}${statusText}`;

  if (/Connection to tcp:\/\/\S+ failed: (?:Connection|Operation) timed out/.test(text)) {
    return `no answer from ${where} within ${ctx.timeoutSeconds} s (connection timed out): is the camera on, the address right?`;
  }
  if (/(?:Connection|Operation) timed out/.test(text)) {
    return ctx.receivedData || input.complete
      ? `the camera stopped sending: nothing for ${ctx.timeoutSeconds} s (timed out)`
      : `the camera stopped answering within ${ctx.timeoutSeconds} s (timed out)`;
  }
  if (/Successfully connected/.test(text) && !/SDP:/.test(text) && /Invalid data found when processing input/.test(text)) {
    return `${where} took the connection but gave no RTSP answer within ${ctx.timeoutSeconds} s: is it the camera's RTSP port?`;
  }
  if (ctx.signal) return `ffmpeg was stopped by ${ctx.signal}`;
  if (ctx.code === 0) {
    return ctx.receivedData ? 'the camera ended the stream (connection closed)' : 'the camera closed the connection before sending video';
  }
  const errors = text.split(/\r?\n/).filter((l) => /\[(?:error|fatal)\]/.test(l)).map((l) => l.replace(/^(?:\[[^\]]*\] )+/, '').trim());
  if (errors.length) return `ffmpeg: ${errors.slice(-2).join(' | ')}`;
  return `ffmpeg ended with exit code ${ctx.code}`;
}

/** Percent-encodes a user or password for the URL's userinfo (ffmpeg decodes it again; measured with basic and digest). */
function encodeUserinfo(s: string): string {
  return encodeURIComponent(s);
}
