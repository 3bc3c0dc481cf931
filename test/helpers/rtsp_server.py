# A real RTSP server for tests: GStreamer's rtsp-server serving a live test picture (H.264, H.265 or MJPEG, optional AAC).
#
# Run by /usr/bin/python3 (Debian's, with python3-gi and gir1.2-gst-rtsp-server-1.0); test/helpers/rtsp-server.ts
# starts it. Usage: rtsp_server.py '<json settings>' (see DEFAULTS). It prints one line on stdout per event:
#   READY <port>       listening on 127.0.0.1:<port> (port 0 in the settings = a free one)
#   CLIENT             an RTSP client connected
#   RATE <fps>         a "rate <fps>" line on stdin was applied
#   KEYFRAME           a "keyframe" line on stdin was applied (the next frame is an IDR)
# stdin commands: "rate <fps>" drops frames so that at most <fps> frames per second leave the camera
# (at most the configured fps; the stream, its caps and its SPS stay as they are, only the frame
# times spread out, as on an IP camera that lowers its rate in the dark); "keyframe"; "quit".
import json
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtsp', '1.0')
gi.require_version('GstRtspServer', '1.0')
gi.require_version('GstVideo', '1.0')
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer, GstVideo  # noqa: E402

DEFAULTS = {
    'port': 0,
    'path': '/stream',
    'width': 320,
    'height': 240,
    'fps': 15,
    'bitrate': 300,  # kbit/s
    'gop': 4.0,  # seconds between keyframes
    'bframes': False,
    'pattern': 'ball',  # videotestsrc pattern
    'hspeed': 0,  # videotestsrc horizontal-speed: pixels the picture scrolls left per frame
    'audio': False,
    'codec': 'h264',  # h264 | h265 | mjpeg
    # 'in-band': SPS/PPS before every IDR (the payloader inserts them); 'sdp': only in the SDP's
    # sprop-parameter-sets, as many IP cameras do.
    'paramsets': 'in-band',
    'auth': 'none',  # none | basic | digest
    'user': 'camera',
    'password': '',
}

cfg = dict(DEFAULTS)
cfg.update(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})
fps = int(cfg['fps'])
gop_ns = int(float(cfg['gop']) * Gst.SECOND)


class Camera:
    """What every media of the factory shares: the current frame rate and the keyframe clock."""

    def __init__(self):
        self.rate = fps
        self.force_key = False


camera = Camera()


def out(line):
    print(line, flush=True)


def video_chain():
    # A moving ball (or scrolling bars), so P/B frames carry real motion; I420 is what every encoder here takes.
    src = (f'videotestsrc name=vsrc is-live=true pattern={cfg["pattern"]} horizontal-speed={int(cfg["hspeed"])} ! '
           f'video/x-raw,format=I420,width={cfg["width"]},height={cfg["height"]},framerate={fps}/1 ! queue')
    # Keyframes come from the probe every `gop` seconds of stream time (so a GOP keeps its length in
    # seconds when the rate drops); the encoder's own limit is a safety net a frame beyond that.
    keyint = max(1, round(float(cfg['gop']) * fps)) + 1
    codec = cfg['codec']
    if codec == 'h264':
        if cfg['bframes']:
            # tune=zerolatency (and the ultrafast preset) switch B-frames off, so neither is used here.
            enc = (f'x264enc name=venc speed-preset=veryfast bframes=2 b-adapt=false rc-lookahead=5 '
                   f'key-int-max={keyint} bitrate={cfg["bitrate"]} option-string=repeat-headers=0:scenecut=0 '
                   f'! video/x-h264,profile=main,stream-format=avc,alignment=au')
        else:
            # zerolatency would also cut every picture into slices, and rtph264pay's config-interval=-1
            # puts SPS/PPS before each IDR *slice*, splitting one picture in two: one slice per picture.
            enc = (f'x264enc name=venc speed-preset=ultrafast tune=zerolatency sliced-threads=false key-int-max={keyint} '
                   f'bitrate={cfg["bitrate"]} option-string=repeat-headers=0:scenecut=0 ! video/x-h264,stream-format=avc,alignment=au')
        # x264 itself would put SPS/PPS before every IDR (even in avc format) unless repeat-headers=0,
        # so the payloader alone decides: config-interval=-1 sends them before every IDR, 0 never
        # (only in the SDP's sprop-parameter-sets). scenecut=0: keyframes only when asked for.
        interval = -1 if cfg['paramsets'] == 'in-band' else 0
        pay = f'rtph264pay name=pay0 pt=96 config-interval={interval}'
    elif codec == 'h265':
        enc = (f'x265enc name=venc speed-preset=ultrafast tune=zerolatency key-int-max={keyint} '
               f'bitrate={cfg["bitrate"]} ! video/x-h265,stream-format=byte-stream,alignment=au')
        pay = 'rtph265pay name=pay0 pt=96 config-interval=-1'
    elif codec == 'mjpeg':
        enc = 'jpegenc name=venc quality=70'
        pay = 'rtpjpegpay name=pay0 pt=26'
    else:
        raise SystemExit(f'rtsp_server: unknown codec {codec}')
    return f'{src} ! {enc} ! {pay}'


def audio_chain():
    return ('audiotestsrc is-live=true wave=sine freq=440 ! audio/x-raw,rate=48000,channels=1 ! audioconvert ! '
            'voaacenc bitrate=64000 ! rtpmp4gpay name=pay1 pt=97')


def on_video_buffer(pad, info, state):
    buf = info.get_buffer()
    pts = buf.pts
    if pts == Gst.CLOCK_TIME_NONE:
        return Gst.PadProbeReturn.OK
    rate = camera.rate
    if rate < fps:
        # Keep a frame only when it starts a new 1/rate slot (1 ms tolerance for rounded timestamps).
        slot = (pts * rate + Gst.MSECOND) // Gst.SECOND
        if slot == state['slot']:
            return Gst.PadProbeReturn.DROP
        state['slot'] = slot
    if cfg['codec'] != 'mjpeg' and (pts >= state['next_key'] or camera.force_key):
        camera.force_key = False
        state['next_key'] = pts + gop_ns
        event = GstVideo.video_event_new_downstream_force_key_unit(pts, pts, pts, False, 0)
        state['enc'].send_event(event)
    return Gst.PadProbeReturn.OK


def on_media_configure(_factory, media):
    pipeline = media.get_element()
    src = pipeline.get_by_name('vsrc')
    state = {'slot': -1, 'next_key': 0, 'enc': pipeline.get_by_name('venc')}
    src.get_static_pad('src').add_probe(Gst.PadProbeType.BUFFER, on_video_buffer, state)


def on_stdin(source, _condition):
    line = source.readline()
    if line == '':
        loop.quit()  # the test that started us is gone
        return False
    words = line.split()
    if words[:1] == ['rate'] and len(words) == 2:
        camera.rate = max(1, min(fps, int(float(words[1]))))
        out(f'RATE {camera.rate}')
    elif words == ['keyframe']:
        camera.force_key = True
        out('KEYFRAME')
    elif words == ['quit']:
        loop.quit()
    elif words:
        print(f'rtsp_server: unknown command: {line.strip()}', file=sys.stderr, flush=True)
    return True


def make_auth(factory):
    token = GstRtspServer.RTSPToken()
    token.set_string('media.factory.role', 'user')
    auth = GstRtspServer.RTSPAuth()
    if cfg['auth'] == 'basic':
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(cfg['user'], cfg['password']), token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
    else:
        auth.add_digest(cfg['user'], cfg['password'], token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    factory.add_role_from_structure(Gst.Structure.from_string(
        'user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true')[0])
    return auth


Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address('127.0.0.1')
server.set_service(str(cfg['port']))
factory = GstRtspServer.RTSPMediaFactory()
launch = video_chain()
if cfg['audio']:
    launch += ' ' + audio_chain()
factory.set_launch(f'( {launch} )')
factory.set_shared(True)  # two clients see one stream (one encoder), as with a camera
factory.connect('media-configure', on_media_configure)
if cfg['auth'] != 'none':
    server.set_auth(make_auth(factory))
server.get_mount_points().add_factory(cfg['path'], factory)
server.connect('client-connected', lambda *_: out('CLIENT'))
if server.attach(None) == 0:
    raise SystemExit(f'rtsp_server: cannot listen on 127.0.0.1:{cfg["port"]}')
loop = GLib.MainLoop()
GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()), GLib.IO_IN | GLib.IO_HUP, on_stdin)
out(f'READY {server.get_bound_port()}')
loop.run()
