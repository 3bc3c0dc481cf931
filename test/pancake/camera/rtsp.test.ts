// The RTSP camera's pure parts: URL validation and masking, the ffmpeg argv, SDP parameter sets, and reasons from real ffmpeg stderr.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/common/cli.js';
import {
  buildRtspArgs,
  classifyRtspFailure,
  describeInput,
  insertParameterSets,
  maskSecrets,
  maskUrl,
  parseCameraUrl,
  parseSdp,
  sdpParameterSets,
  type CameraUrl,
  type RtspFailureContext,
} from '../../../src/pancake/camera/rtsp.js';

describe('parseCameraUrl', () => {
  it.each<[string, string, Partial<CameraUrl>]>([
    ['rtsp://192.168.1.10/stream', 'rtsp://192.168.1.10/stream',
      { url: 'rtsp://192.168.1.10/stream', host: '192.168.1.10', port: 554, path: '/stream', user: undefined, password: '' }],
    ['rtsp://admin:hunter2@cam.local:8554/Streaming/Channels/101?transportmode=unicast', 'rtsp://admin:***@cam.local:8554/Streaming/Channels/101?transportmode=unicast',
      { url: 'rtsp://admin:hunter2@cam.local:8554/Streaming/Channels/101?transportmode=unicast', port: 8554, path: '/Streaming/Channels/101?transportmode=unicast', user: 'admin', password: 'hunter2' }],
    ['rtsps://viewer@[::1]/live', 'rtsps://viewer@[::1]/live', { scheme: 'rtsps', host: '[::1]', port: 322, user: 'viewer', password: '' }],
    ['rtsp://[2001:db8::7]:8554/h264', 'rtsp://[2001:db8::7]:8554/h264', { host: '[2001:db8::7]', port: 8554 }],
    ['rtsp://us%40er:p%40ss%3Aw%20rd@cam/x', 'rtsp://us%40er:***@cam/x', { url: 'rtsp://us%40er:p%40ss%3Aw%20rd@cam/x', user: 'us@er', password: 'p@ss:w rd' }],
    // An unencoded '@' in the password: the last '@' ends the credentials, as for ffmpeg and browsers.
    ['rtsp://admin:p@ss@10.0.0.2/live', 'rtsp://admin:***@10.0.0.2/live', { url: 'rtsp://admin:p%40ss@10.0.0.2/live', password: 'p@ss' }],
    ['RTSP://Cam.Local/Live', 'rtsp://cam.local/Live', { scheme: 'rtsp', host: 'cam.local', path: '/Live' }],
    ['rtsp://cam', 'rtsp://cam', { path: '', port: 554 }],
    ['rtsp://cam:554?channel=1&subtype=0', 'rtsp://cam:554?channel=1&subtype=0', { path: '?channel=1&subtype=0', port: 554 }],
  ])('%s', (text, masked, expected) => {
    const camera = parseCameraUrl(text);
    expect(camera.masked).toBe(masked);
    expect(camera).toMatchObject(expected);
  });

  it('puts a password given apart into the URL, encoded, and masks it', () => {
    const camera = parseCameraUrl('rtsp://admin@cam/live', { password: 'p@ss w/rd:%' });
    expect(camera.url).toBe('rtsp://admin:p%40ss%20w%2Frd%3A%25@cam/live');
    expect(camera.masked).toBe('rtsp://admin:***@cam/live');
    expect(camera.password).toBe('p@ss w/rd:%');
  });

  it.each<[string, { password?: string }, string]>([
    ['http://cam/x', {}, '--camera: unsupported scheme http:// (rtsp:// or rtsps://): http://cam/x'],
    ['cam/x', {}, '--camera: not a URL; expected rtsp://[user[:password]@]host[:port]/path: cam/x'],
    ['rtsp:///x', {}, '--camera: no host: rtsp:///x'],
    ['rtsp://admin:hunter2@/x', {}, '--camera: no host: rtsp://admin:***@/x'],
    ['rtsp://cam:99999/x', {}, '--camera: bad port "99999" (1 to 65535): rtsp://cam:99999/x'],
    ['rtsp://cam:0/x', {}, '--camera: bad port "0" (1 to 65535): rtsp://cam:0/x'],
    ['rtsp://cam:/x', {}, '--camera: bad port "" (1 to 65535): rtsp://cam:/x'],
    ['rtsp://cam:abc/x', {}, '--camera: bad port "abc" (1 to 65535): rtsp://cam:abc/x'],
    ['rtsp://my cam/x', {}, '--camera: spaces or control characters in the URL (write a space as %20): rtsp://my cam/x'],
    ['rtsp://cam/x ', {}, '--camera: spaces or control characters in the URL (write a space as %20): rtsp://cam/x '],
    ['rtsp://cam_1!/x', {}, '--camera: bad host name cam_1!: rtsp://cam_1!/x'],
    ['rtsp://[::1/x', {}, '--camera: unclosed [ in the host: rtsp://[::1/x'],
    ['rtsp://[zz::1]/x', {}, '--camera: not an IPv6 address: [zz::1]: rtsp://[zz::1]/x'],
    ['rtsp://[::1]x/y', {}, '--camera: unexpected text after [::1]: rtsp://[::1]x/y'],
    // A '/' in the password cuts the authority short ("admin" with port "a"); the message says why.
    ['rtsp://admin:a/b@cam/x', {}, '--camera: bad port "a" (1 to 65535) (percent-encode / ? # @ in the user or password, or use --camera-password): rtsp://admin:***@cam/x'],
    ['rtsp://admin:50%off@cam/x', {}, "--camera: bad percent-encoding in the user or password (write '%' as %25): rtsp://admin:***@cam/x"],
    ['rtsp://:hunter2@cam/x', {}, '--camera: empty user name before the @: rtsp://:***@cam/x'],
    ['rtsp://cam/x#top', {}, "--camera: a '#' has no meaning in an RTSP URL (write it as %23): rtsp://cam/x#top"],
    ['rtsp://cam/x', { password: 'hunter2' }, '--camera-password: --camera names no user (rtsp://USER@host/path): rtsp://cam/x'],
    ['rtsp://admin:old@cam/x', { password: 'hunter2' }, '--camera-password: --camera already holds a password; give it in one place only: rtsp://admin:***@cam/x'],
  ])('rejects %s', (text, options, message) => {
    let error: unknown;
    try {
      parseCameraUrl(text, options);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(message);
    expect((error as UsageError).message).not.toMatch(/hunter2|old@|50%off|a\/b@/);
  });

  it('names another flag when asked to', () => {
    expect(() => parseCameraUrl('ftp://x/y', { flag: '--camera-2' })).toThrow('--camera-2: unsupported scheme ftp://');
  });
});

describe('maskUrl', () => {
  it.each([
    ['rtsp://u:p@h/x', 'rtsp://u:***@h/x'],
    ['rtsp://u@h/x', 'rtsp://u@h/x'],
    ['rtsp://h:554/x', 'rtsp://h:554/x'],
    ['rtsp://u:p%40ss@[::1]:8554/x?y=1', 'rtsp://u:***@[::1]:8554/x?y=1'],
    ['rtsp://admin:p@ss@10.0.0.2/live', 'rtsp://admin:***@10.0.0.2/live'],
    ['rtsp://admin:a/b?c#d@cam/x', 'rtsp://admin:***@cam/x'],
    // On the safe side: an '@' in a path after a port masks too much, never too little.
    ['rtsp://h:554/a@b', 'rtsp://h:***@b'],
    ['tcp://127.0.0.1:9?timeout=3000000', 'tcp://127.0.0.1:9?timeout=3000000'],
    ['not a url', 'not a url'],
  ])('%s → %s', (url, masked) => {
    expect(maskUrl(url)).toBe(masked);
  });
});

describe('maskSecrets', () => {
  it('masks URLs in ffmpeg lines and the password wherever else it appears, raw or encoded', () => {
    const text = [
      "[info] Input #0, rtsp, from 'rtsp://admin:p%40ss@127.0.0.1:8554/stream':",
      '[error] rtsp://admin:p%40ss@127.0.0.1:8554/stream: Server returned 401 Unauthorized (authorization failed)',
      'password was p@ss',
    ].join('\n');
    const masked = maskSecrets(text, 'p@ss');
    expect(masked).toBe([
      "[info] Input #0, rtsp, from 'rtsp://admin:***@127.0.0.1:8554/stream':",
      '[error] rtsp://admin:***@127.0.0.1:8554/stream: Server returned 401 Unauthorized (authorization failed)',
      'password was ***',
    ].join('\n'));
  });
});

describe('buildRtspArgs', () => {
  const HEAD = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'level+verbose'];
  const TAIL = ['-map', '0:v:0', '-c', 'copy', '-f', 'h264', '-flush_packets', '1', 'pipe:1'];
  it.each<[string, Parameters<typeof buildRtspArgs>[0], string[]]>([
    ['TCP, 10 s (the default)', { url: 'rtsp://cam/x', transport: 'tcp', timeoutSeconds: 10 },
      [...HEAD, '-rtsp_transport', 'tcp', '-timeout', '10000000', '-allowed_media_types', 'video', '-fflags', '+discardcorrupt+nobuffer', '-copyts', '-i', 'rtsp://cam/x', ...TAIL]],
    ['UDP, 2.5 s, credentials as given', { url: 'rtsp://admin:p%40ss@cam:8554/x?y=1', transport: 'udp', timeoutSeconds: 2.5 },
      [...HEAD, '-rtsp_transport', 'udp', '-timeout', '2500000', '-allowed_media_types', 'video', '-fflags', '+discardcorrupt+nobuffer', '-copyts', '-i', 'rtsp://admin:p%40ss@cam:8554/x?y=1', ...TAIL]],
  ])('%s', (_name, settings, expected) => {
    expect(buildRtspArgs(settings)).toEqual(expected);
  });

  it('never adds a bitstream filter or re-encodes', () => {
    const args = buildRtspArgs({ url: 'rtsp://cam/x', transport: 'tcp', timeoutSeconds: 10 });
    expect(args.join(' ')).not.toMatch(/-bsf|-vf|libx264|-c:v (?!copy)/);
  });
});

// Real ffmpeg 5.1.9 (Debian 12) stderr, made by the argv above (`-timeout 3000000`) against
// test/helpers/rtsp_server.py (GStreamer 1.22 rtsp-server) or, where said, other local stand-ins.
// Trimmed to the lines that matter, and with credentials written into some URLs so that masking is
// tested; two are written in ffmpeg's format where no capture is possible here (said so). SDP lines
// end in CR LF as the server sends them.
const sdp = (lines: string[]): string => lines.map((l) => `${l}\r\n`).join('') + '\n';
const H264_SDP = [
  'v=0', 'o=- 6617603387862370978 1 IN IP4 127.0.0.1', 's=Session streamed with GStreamer', 'i=rtsp-server', 't=0 0',
  'a=tool:GStreamer', 'a=type:broadcast', 'a=control:*', 'a=range:npt=now-',
  'm=video 0 RTP/AVP 96', 'c=IN IP4 0.0.0.0', 'b=AS:307', 'a=rtpmap:96 H264/90000', 'a=framerate:15',
  'a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LADNoFB+wFqDAwNSgAAAMACAAAAwD0eKFV,aM48gA==;profile-level-id=42c00c;level-asymmetry-allowed=1',
  'a=control:stream=0', 'a=ts-refclk:local', 'a=mediaclk:sender', 'a=ssrc:3863865505 cname:user1714053366@host-a572e410',
];
const AAC_SDP = [
  'm=audio 0 RTP/AVP 97', 'c=IN IP4 0.0.0.0', 'a=rtpmap:97 MPEG4-GENERIC/48000/1',
  'a=fmtp:97 streamtype=5;profile-level-id=2;mode=AAC-hbr;config=1188;sizelength=13;indexlength=3;indexdeltalength=3',
  'a=control:stream=1', 'a=ts-refclk:local', 'a=mediaclk:sender', 'a=ssrc:2080844547 cname:user1714053366@host-a572e410',
];
const CONNECTED = (port: number) =>
  `[tcp @ 0x55e508c07a80] [verbose] Starting connection attempt to 127.0.0.1 port ${port}\n[tcp @ 0x55e508c07a80] [verbose] Successfully connected to 127.0.0.1 port ${port}\n`;
const H264_INPUT = (port: number) => `[h264 @ 0x560e840a78c0] [verbose] Reinit context to 320x240, pix_fmt: yuv420p
[info] Input #0, rtsp, from 'rtsp://admin:hunter2@127.0.0.1:${port}/stream':
[info]   Metadata:
[info]     title           : Session streamed with GStreamer
[info]     comment         : rtsp-server
[info]   Duration: N/A, start: 0.066667, bitrate: N/A
[info]   Stream #0:0: Video: h264 (Constrained Baseline), 1 reference frame, yuv420p(tv, smpte170m, progressive, center), 320x240 [SAR 1:1 DAR 4:3], 15 fps, 15 tbr, 90k tbn
[info] Output #0, h264, to 'pipe:1':
[info]   Metadata:
[info]     title           : Session streamed with GStreamer
[info]     comment         : rtsp-server
[info]     encoder         : Lavf59.27.100
[info]   Stream #0:0: Video: h264 (Constrained Baseline), 1 reference frame, yuv420p(tv, smpte170m, progressive, center), 320x240 (0x0) [SAR 1:1 DAR 4:3], q=2-31, 15 fps, 15 tbr, 15 tbn
[info] Stream mapping:
[info]   Stream #0:0 -> #0:0 (copy)
`;
const FINISH = (port: number, packets: number) => `[verbose] No more output streams to write to, finishing.
[info] frame=   ${packets} fps=6.7 q=-1.0 Lsize=      30kB time=00:00:00.00 bitrate=N/A speed=   0x    
[info] video:30kB audio:0kB subtitle:0kB other streams:0kB global headers:0kB muxing overhead: 0.000000%
[verbose] Input file #0 (rtsp://admin:hunter2@127.0.0.1:${port}/stream):
[verbose]   Input stream #0:0 (video): ${packets} packets read (30955 bytes); 
[verbose]   Total: ${packets} packets (30955 bytes) demuxed
[verbose] Output file #0 (pipe:1):
[verbose]   Output stream #0:0 (video): ${packets} packets muxed (30955 bytes); 
[verbose]   Total: ${packets} packets (30955 bytes) muxed
[AVIOContext @ 0x55993131c9c0] [verbose] Statistics: 30955 bytes written, 0 seeks, ${packets} writeouts
`;

const STDERR = {
  // Nothing listens on the port.
  refused: `[tcp @ 0x56323fdc1a80] [verbose] Starting connection attempt to 127.0.0.1 port 41031
[tcp @ 0x56323fdc1a80] [verbose] Connection attempt to 127.0.0.1 port 41031 failed: Connection refused
[tcp @ 0x56323fdc1a80] [error] Connection to tcp://127.0.0.1:41031?timeout=3000000 failed: Connection refused
[error] rtsp://admin:hunter2@127.0.0.1:41031/stream: Connection refused
`,
  // Digest authentication, wrong password (basic prints the same lines).
  wrongPassword: `${CONNECTED(46183)}[rtsp @ 0x55e508c04b40] [error] method DESCRIBE failed: 401 Unauthorized
[error] rtsp://admin:hunter2@127.0.0.1:46183/stream: Server returned 401 Unauthorized (authorization failed)
`,
  noUser: `${CONNECTED(46183)}[rtsp @ 0x557b1fbb7b40] [error] method DESCRIBE failed: 401 Unauthorized
[error] rtsp://127.0.0.1:46183/stream: Server returned 401 Unauthorized (authorization failed)
`,
  notFound: `${CONNECTED(42405)}[rtsp @ 0x5652c44efb40] [error] method DESCRIBE failed: 404 Not Found
[error] rtsp://admin:hunter2@127.0.0.1:42405/nothing: Server returned 404 Not Found
`,
  // A TCP listener (node:net) that accepts and never answers, -timeout 3 s.
  silent: `${CONNECTED(40535)}[error] rtsp://admin:hunter2@127.0.0.1:40535/stream: Invalid data found when processing input
`,
  // ffmpeg in a private mount namespace whose /etc/nsswitch.conf says "hosts: files" (no DNS query leaves the machine).
  dns: `[tcp @ 0x55ddfef0b940] [error] Failed to resolve hostname no-such-camera.invalid: Name or service not known
[error] rtsp://admin:hunter2@no-such-camera.invalid:554/live: Input/output error
`,
  // Written in ffmpeg's format (tcp.c), not captured: no address off this machine may be tried from here.
  unreachable: `[tcp @ 0x5581aedb9a40] [verbose] Starting connection attempt to 10.0.0.9 port 554
[tcp @ 0x5581aedb9a40] [verbose] Connection attempt to 10.0.0.9 port 554 failed: No route to host
[tcp @ 0x5581aedb9a40] [error] Connection to tcp://10.0.0.9:554?timeout=10000000 failed: No route to host
[error] rtsp://admin:hunter2@10.0.0.9:554/stream: No route to host
`,
  // Written in the format of the 404 above (GStreamer's server sends no 503).
  busy: `${CONNECTED(42405)}[rtsp @ 0x5652c44efb40] [error] method DESCRIBE failed: 503 Service Unavailable
[error] rtsp://admin:hunter2@127.0.0.1:42405/stream: Server returned 5XX Server Error reply
`,
  h265: `${CONNECTED(35253)}[rtsp @ 0x55b806102b40] [verbose] SDP:
${sdp(['v=0', 'm=video 0 RTP/AVP 96', 'c=IN IP4 0.0.0.0', 'a=rtpmap:96 H265/90000', 'a=framerate:15',
    'a=fmtp:96 sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwA8ugJA;sprop-sps=QgEBAWAAAAMAkAAAAwAAAwA8oAoIDxZbpKTC//AAEAAWoMDAwIAAAAMAgAAAB4Q=;sprop-pps=RAHAcYMS',
    'a=control:stream=0'])}[rtsp @ 0x55b806102b40] [verbose] setting jitter buffer size to 0
[info] Input #0, rtsp, from 'rtsp://127.0.0.1:35253/stream':
[info]   Duration: N/A, start: 0.066667, bitrate: N/A
[info]   Stream #0:0: Video: hevc (Main), 1 reference frame, yuv420p(tv, smpte170m, left), 320x240 [SAR 1:1 DAR 4:3], 15 fps, 15 tbr, 90k tbn
[info] Output #0, h264, to 'pipe:1':
[info]   Stream #0:0: Video: hevc (Main), 1 reference frame, yuv420p(tv, smpte170m, left), 320x240 (0x0) [SAR 1:1 DAR 4:3], q=2-31, 15 fps, 15 tbr, 15 tbn
[info] Stream mapping:
[info]   Stream #0:0 -> #0:0 (copy)
`,
  mjpeg: `${CONNECTED(35291)}[rtsp @ 0x55e07ee8fb40] [verbose] SDP:
${sdp(['v=0', 'm=video 0 RTP/AVP 26', 'c=IN IP4 0.0.0.0', 'a=rtpmap:26 JPEG/90000', 'a=framerate:15', 'a=control:stream=0'])}[rtsp @ 0x55e07ee8fb40] [verbose] setting jitter buffer size to 0
[info] Input #0, rtsp, from 'rtsp://127.0.0.1:35291/stream':
[info]   Duration: N/A, start: 0.000000, bitrate: N/A
[info]   Stream #0:0: Video: mjpeg (Baseline), 1 reference frame, yuvj420p(pc, bt470bg/unknown/unknown, center), 320x240 [SAR 1:1 DAR 4:3], 15 fps, 15 tbr, 90k tbn
[info] Output #0, h264, to 'pipe:1':
[info]   Stream #0:0: Video: mjpeg (Baseline), 1 reference frame, yuvj420p(pc, bt470bg/unknown/unknown, center), 320x240 (0x0) [SAR 1:1 DAR 4:3], q=2-31, 15 fps, 15 tbr, 90k tbn
[info] Stream mapping:
[info]   Stream #0:0 -> #0:0 (copy)
[h264_mp4toannexb @ 0x55e07eec9a80] [error] Codec 'mjpeg' (7) is not supported by the bitstream filter 'h264_mp4toannexb'. Supported codecs are: h264 (27) 
[error] av_interleaved_write_frame(): Invalid argument
[info] Conversion failed!
`,
  audio: `${CONNECTED(46545)}[rtsp @ 0x560e840a2b40] [verbose] SDP:
${sdp([...H264_SDP, ...AAC_SDP])}[rtsp @ 0x560e840a2b40] [verbose] setting jitter buffer size to 0
${H264_INPUT(46545)}`,
  // The server killed (SIGTERM) while streaming: ffmpeg sees the connection close and exits 0.
  stopped: `${CONNECTED(42093)}[rtsp @ 0x560e840a2b40] [verbose] SDP:
${sdp(H264_SDP)}[rtsp @ 0x560e840a2b40] [verbose] setting jitter buffer size to 0
${H264_INPUT(42093)}${FINISH(42093, 53)}`,
  // The server SIGSTOPped while streaming (a hung camera), -timeout 3 s.
  stalled: `${CONNECTED(39579)}[rtsp @ 0x560e840a2b40] [verbose] SDP:
${sdp(H264_SDP)}[rtsp @ 0x560e840a2b40] [verbose] setting jitter buffer size to 0
${H264_INPUT(39579)}[error] rtsp://admin:hunter2@127.0.0.1:39579/stream: Connection timed out
${FINISH(39579, 52)}`,
};

describe('parseSdp and sdpParameterSets', () => {
  it('reads media, encodings and the H.264 parameter sets from the SDP ffmpeg printed', () => {
    const media = parseSdp(STDERR.audio)!;
    expect(media.map((m) => [m.type, m.formats, [...m.encodings.values()]])).toEqual([['video', [96], ['H264']], ['audio', [97], ['MPEG4-GENERIC']]]);
    const sets = sdpParameterSets(media);
    expect(sets.map((nal) => nal[0]! & 0x1f)).toEqual([7, 8]);
    expect(sets[0]!.toString('base64')).toBe('Z0LADNoFB+wFqDAwNSgAAAMACAAAAwD0eKFV');
  });

  it('has nothing before the SDP is complete, and no H.264 sets for H.265 or JPEG', () => {
    expect(parseSdp('[rtsp @ 0x1] [verbose] SDP:\nv=0\r\nm=video 0 RTP/AVP 96\r\n')).toBeUndefined();
    expect(sdpParameterSets(parseSdp(STDERR.h265))).toEqual([]);
    const jpeg = parseSdp(STDERR.mjpeg)!;
    expect([...jpeg[0]!.encodings.values()]).toEqual(['JPEG']);
    expect(sdpParameterSets(jpeg)).toEqual([]);
  });

  it('knows static payload types without an rtpmap line', () => {
    const media = parseSdp(`SDP:\n${sdp(['v=0', 'm=video 0 RTP/AVP 26', 'm=audio 0 RTP/AVP 0'])}`)!;
    expect(media.map((m) => m.encodings.get(m.formats[0]!))).toEqual(['JPEG', 'PCMU']);
  });
});

describe('describeInput', () => {
  it.each<[string, string, ReturnType<typeof describeInput>]>([
    ['H.264 with AAC (audio from the SDP: it is not set up)', STDERR.audio,
      { videoCodec: 'h264', audioCodec: 'aac', complete: true,
        videoLine: 'h264 (Constrained Baseline), 1 reference frame, yuv420p(tv, smpte170m, progressive, center), 320x240 [SAR 1:1 DAR 4:3], 15 fps, 15 tbr, 90k tbn' }],
    ['H.265', STDERR.h265, { videoCodec: 'hevc', audioCodec: undefined, complete: true, videoLine: expect.stringMatching(/^hevc \(Main\)/) as unknown as string }],
    ['MJPEG', STDERR.mjpeg, { videoCodec: 'mjpeg', audioCodec: undefined, complete: true, videoLine: expect.stringMatching(/^mjpeg \(Baseline\)/) as unknown as string }],
    ['only the SDP so far', STDERR.h265.slice(0, STDERR.h265.indexOf('[info] Input')), { videoCodec: 'hevc', audioCodec: undefined, complete: false, videoLine: undefined }],
    ['nothing yet', CONNECTED(554), { videoCodec: undefined, audioCodec: undefined, complete: false, videoLine: undefined }],
  ])('%s', (_name, stderr, expected) => {
    expect(describeInput(stderr)).toEqual(expected);
  });

  it('takes the codec from the input, not from the output section', () => {
    const stderr = `[info] Input #0, rtsp, from 'rtsp://cam/x':\n[info]   Stream #0:0: Video: h264 (Main), yuv420p, 1920x1080, 25 fps\n[info] Output #0, h264, to 'pipe:1':\n[info]   Stream #0:0: Video: hevc\n[info] Stream mapping:\n`;
    expect(describeInput(stderr).videoCodec).toBe('h264');
  });

  it('reads an audio stream line when ffmpeg set the audio up', () => {
    const stderr = `[info] Input #0, rtsp, from 'rtsp://cam/x':\n[info]   Stream #0:0: Video: h264 (Main), yuv420p, 1920x1080, 25 fps\n[info]   Stream #0:1: Audio: pcm_mulaw, 8000 Hz, mono, s16, 64 kb/s\n[info] Output #0, h264, to 'pipe:1':\n`;
    expect(describeInput(stderr)).toMatchObject({ videoCodec: 'h264', audioCodec: 'pcm_mulaw', complete: true });
  });
});

describe('insertParameterSets', () => {
  const sc = Buffer.from([0, 0, 0, 1]);
  const sc3 = Buffer.from([0, 0, 1]);
  const aud = Buffer.from([0x09, 0xf0]);
  const sps = Buffer.from([0x67, 0x42, 0xc0, 0x0c, 0xda]);
  const pps = Buffer.from([0x68, 0xce, 0x3c, 0x80]);
  const idr = Buffer.from([0x65, 0x88, 0x84, 0x00, 0x33]);
  const slice = Buffer.from([0x41, 0x9a, 0x02]);
  const join = (...parts: Buffer[]): Buffer => Buffer.concat(parts);
  it.each<[string, Buffer, Buffer[], Buffer]>([
    ['after a leading AUD (ffmpeg output of an SDP-only camera)', join(sc, aud, sc, idr), [sps, pps], join(sc, aud, sc, sps, sc, pps, sc, idr)],
    ['before an IDR without AUD', join(sc, idr), [sps, pps], join(sc, sps, sc, pps, sc, idr)],
    ['with 3-byte start codes', join(sc3, aud, sc3, idr), [sps, pps], join(sc3, aud, sc, sps, sc, pps, sc3, idr)],
    ['not when the camera sends them in-band', join(sc, aud, sc, sps, sc, pps, sc, idr), [sps, pps], join(sc, aud, sc, sps, sc, pps, sc, idr)],
    ['not without sets', join(sc, aud, sc, idr), [], join(sc, aud, sc, idr)],
    ['an SPS after the first slice does not count', join(sc, idr, sc, sps, sc, slice), [sps, pps], join(sc, sps, sc, pps, sc, idr, sc, sps, sc, slice)],
  ])('%s', (_name, first, sets, expected) => {
    expect(insertParameterSets(first, sets).toString('hex')).toBe(expected.toString('hex'));
  });
});

describe('classifyRtspFailure', () => {
  const camera = parseCameraUrl('rtsp://admin:hunter2@127.0.0.1:8554/stream');
  const anonymous = parseCameraUrl('rtsp://127.0.0.1:8554/stream');
  const base: RtspFailureContext = { camera, code: 1, signal: null, receivedData: false, timeoutSeconds: 3 };
  it.each<[string, string, Partial<RtspFailureContext>, string]>([
    ['nothing listening', STDERR.refused, {}, 'connection refused by 127.0.0.1:8554: nothing listens there (is the camera on, the port right, RTSP enabled?)'],
    ['wrong password', STDERR.wrongPassword, {}, 'the camera refused user "admin" or the password: wrong user or password (401 Unauthorized)'],
    ['no user at all', STDERR.noUser, { camera: anonymous },
      'the camera wants a user and password (401 Unauthorized): put the user into --camera (rtsp://USER@host/…) and give --camera-password'],
    ['wrong path', STDERR.notFound, {}, 'no stream at path /stream on the camera (404 Not Found): check the path in --camera'],
    ['camera busy', STDERR.busy, {}, 'the camera refused the stream for now (503 Service Unavailable): too many clients watching?'],
    ['not an RTSP server', STDERR.silent, {}, "127.0.0.1:8554 took the connection but gave no RTSP answer within 3 s: is it the camera's RTSP port?"],
    ['unknown host', STDERR.dns, {}, 'the host name no-such-camera.invalid was not found (Name or service not known): check the host in --camera'],
    ['unreachable', STDERR.unreachable, {}, '127.0.0.1:8554 cannot be reached (No route to host): is the camera on and on this network?'],
    ['H.265', STDERR.h265, { code: 0, receivedData: false },
      "the camera sends H.265 (HEVC), pancake records H.264: set the camera's video codec to H.264 (often 'Video encoding' in its web settings)"],
    ['MJPEG', STDERR.mjpeg, {},
      "the camera sends MJPEG, pancake records H.264: set the camera's video codec to H.264 (often 'Video encoding' in its web settings), or give pancake its MJPEG-over-HTTP URL"],
    ['server stopped mid-stream', STDERR.stopped, { code: 0, receivedData: true }, 'the camera ended the stream (connection closed)'],
    ['camera hung mid-stream', STDERR.stalled, { code: 0, receivedData: true }, 'the camera stopped sending: nothing for 3 s (timed out)'],
    ['ffmpeg not installed', '', { code: null, spawnError: 'ENOENT' }, 'ffmpeg not found: install it (sudo apt install ffmpeg, or scripts/deps.sh)'],
    ['killed', STDERR.stopped.slice(0, 400), { code: null, signal: 'SIGKILL' }, 'ffmpeg was stopped by SIGKILL'],
    ['anything else: the last error lines', '[rtsp @ 0x1] [verbose] SDP:\n[error] rtsp://admin:hunter2@127.0.0.1:8554/stream: Immediate exit requested\n', {},
      'ffmpeg: rtsp://admin:***@127.0.0.1:8554/stream: Immediate exit requested'],
  ])('%s', (_name, stderr, ctx, reason) => {
    const got = classifyRtspFailure(stderr, { ...base, ...ctx });
    expect(got).toBe(reason);
    expect(got).not.toContain('hunter2');
  });
});
