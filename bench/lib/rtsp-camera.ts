// The benchmarks' RTSP camera: an H.264 file served looped in real time by GStreamer's rtsp-server, shared by every client.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

// Debian's python3-gi and GStreamer bindings belong to /usr/bin/python3 (as for test/helpers/rtsp-server.ts).
const PYTHON = '/usr/bin/python3';
const START_LIMIT_MS = 30_000;

// No encoder: the file's access units are only packetized (rtph264pay), so the camera costs little
// CPU and every client gets the same bytes as bench:record's fake camera. A player pipeline reads
// the file looped (multifilesrc loop=true), times the frames from the SPS's VUI (h264parse, 30 fps)
// and hands them out at that pace (appsink sync=true) to the shared media's live appsrc, which
// stamps them with the time they leave. A live source matters: with the file directly in the
// (then non-live, seekable) media, a client that joined second got non-monotonic timestamps and
// its ffmpeg printed an error line for every frame. A closed stdin (the benchmark gone) stops it.
const SERVER = String.raw`
import sys
import gi
gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer
Gst.init(None)
player = Gst.parse_launch('multifilesrc location="%s" loop=true ! h264parse ! video/x-h264,stream-format=byte-stream,alignment=au '
                          '! appsink name=out sync=true emit-signals=true max-buffers=1' % sys.argv[1])
sources = []
def on_sample(sink):
    buf = sink.emit('pull-sample').get_buffer()
    for src in list(sources):
        src.emit('push-buffer', buf)
    return Gst.FlowReturn.OK
player.get_by_name('out').connect('new-sample', on_sample)
server = GstRtspServer.RTSPServer()
server.set_address('127.0.0.1')
server.set_service('0')
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch('( appsrc name=src is-live=true format=time do-timestamp=true caps=video/x-h264,stream-format=byte-stream,alignment=au '
                   '! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )')
factory.set_shared(True)
def on_media_configure(_factory, media):
    src = media.get_element().get_by_name('src')
    sources.append(src)
    media.connect('unprepared', lambda *_: src in sources and sources.remove(src))
factory.connect('media-configure', on_media_configure)
server.get_mount_points().add_factory('/stream', factory)
if server.attach(None) == 0:
    raise SystemExit('rtsp camera: cannot listen on 127.0.0.1')
player.set_state(Gst.State.PLAYING)
loop = GLib.MainLoop()
def on_stdin(source, _condition):
    if source.readline() == '':
        loop.quit()
        return False
    return True
GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()), GLib.IO_IN | GLib.IO_HUP, on_stdin)
print('READY %d' % server.get_bound_port(), flush=True)
loop.run()
`;

/** A running file-backed RTSP camera. */
export interface RtspFileCamera {
  /** `rtsp://127.0.0.1:PORT/stream` */
  readonly url: string;
  /** The server process, for its CPU time. */
  readonly pid: number;
  /** Stops the server. Idempotent. */
  stop(): Promise<void>;
}

/** Serves `file` (Annex B H.264 with timing in its SPS) on a free port; resolves once it listens. */
export function startRtspFileCamera(file: string): Promise<RtspFileCamera> {
  if (/["\\]/.test(file)) return Promise.reject(new Error(`rtsp camera: unusable file name: ${file}`));
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(PYTHON, ['-c', SERVER, file], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  child.stdin.on('error', () => {}); // EPIPE once it has exited: reported by 'exit'
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await gone;
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`rtsp camera not ready within ${START_LIMIT_MS} ms: ${stderr}`));
    }, START_LIMIT_MS);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^READY (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: `rtsp://127.0.0.1:${m[1]}/stream`, pid: child.pid!, stop });
      }
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`rtsp camera: ${PYTHON}: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`rtsp camera exited (${code ?? signal}): ${stderr}`));
    });
  });
}
