// Live view in the browser: H.264 decoded with WebCodecs onto a canvas, or fragmented MP4 played with MSE, or JPEG pictures; each frame acknowledged.
'use strict';
(() => {
  const canvas = document.getElementById('picture');
  const context = canvas.getContext('2d');
  const stage = document.getElementById('stage');
  const message = document.getElementById('message');
  const params = new URLSearchParams(location.search);
  // WebCodecs exists on secure pages only (https://, localhost); MSE on plain http:// too.
  const webCodecs = window.isSecureContext && typeof VideoDecoder === 'function' && typeof EncodedVideoChunk === 'function';
  const MediaSourceType = window.ManagedMediaSource || window.MediaSource;
  const mse = typeof MediaSourceType === 'function' && MediaSourceType.isTypeSupported('video/mp4; codecs="avc1.42E01E"');
  const offered = { h264: webCodecs, mse, jpeg: true };
  const asked = params.get('mode');
  let mode = asked && Object.hasOwn(offered, asked) && offered[asked] ? asked : webCodecs ? 'h264' : mse ? 'mse' : 'jpeg';
  if (asked && asked !== mode) console.warn(`pancake: this page cannot use mode ${asked}; using ${mode}`);
  const MODE_LABELS = { h264: '(H.264)', mse: '(MSE)', jpeg: '(JPEG)' };
  const MODE_TITLES = {
    h264: 'H.264 decoded by this browser (WebCodecs)',
    mse: 'H.264 in fragmented MP4 played by this browser (Media Source Extensions)',
    jpeg: 'JPEG pictures decoded and encoded by pancake',
  };

  // For tests and the benchmark: frames drawn and delays (ms from pancake having a frame to drawing it).
  // received/gaps: frames that came, and sequence numbers pancake skipped for this viewer (it was behind).
  // firstWall: when pancake had the first frame drawn (before the page connected: it came from pancake's cache).
  const stats = { mode, drawn: 0, lastSeq: -1, delays: [], decodeErrors: 0, received: 0, gaps: 0, firstWall: null };
  let lastReceived = -1;
  window.pancakeStats = stats;

  let socket;
  let decoder;
  let codec;
  let waitKeyframe = true;
  const decoding = new Map(); // sequence → when pancake had the frame
  const drawnAt = [];
  let retryMs = 1000;

  /** Acknowledges frame `seq` on `via` (the connection it came on), if that is still the current one. */
  function ack(seq, via = socket) {
    if (via && via === socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ ack: seq }));
  }

  function draw(source, width, height, seq, wall) {
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    context.drawImage(source, 0, 0, width, height);
    stats.drawn++;
    stats.lastSeq = seq;
    stats.firstWall ??= wall;
    stats.delays.push(Date.now() - wall);
    if (stats.delays.length > 2000) stats.delays.splice(0, 1000);
    drawnAt.push(performance.now());
    message.textContent = '';
  }

  // ---- H.264 with WebCodecs ----

  /** avc1.PPCCLL from the SPS inside a keyframe (Annex B), so the page needs nothing else to start. */
  function codecOf(bytes) {
    for (let i = 0; i + 7 < bytes.length; i++) {
      if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1 && (bytes[i + 3] & 0x1f) === 7) {
        const hex = (b) => b.toString(16).padStart(2, '0').toUpperCase();
        return `avc1.${hex(bytes[i + 4])}${hex(bytes[i + 5])}${hex(bytes[i + 6])}`;
      }
    }
    return undefined;
  }

  function newDecoder() {
    decoder = new VideoDecoder({
      output: (frame) => {
        const seq = frame.timestamp;
        const wall = decoding.get(seq) ?? Date.now();
        decoding.delete(seq);
        // displayWidth/Height: decoded frames are padded (1080p decodes as 1088 lines).
        draw(frame, frame.displayWidth, frame.displayHeight, seq, wall);
        frame.close();
        ack(seq);
      },
      error: (error) => {
        stats.decodeErrors++;
        console.warn('pancake: decoder error, waiting for the next keyframe:', error);
        for (const seq of decoding.keys()) ack(seq);
        decoding.clear();
        decoder = undefined;
        waitKeyframe = true;
      },
    });
    decoder.configure({ codec, optimizeForLatency: true });
  }

  // Units are handled in arrival order: while a keyframe's codec check is awaited, the units after it
  // wait too (dropped meanwhile, they left WebKit's decoder without their references: "Decode error").
  let unitsHandled = Promise.resolve();
  function onAccessUnit(seq, keyframe, wall, data) {
    unitsHandled = unitsHandled.then(() => decodeUnit(seq, keyframe, wall, data)).catch((error) => console.warn('pancake: could not decode a unit:', error));
  }

  async function decodeUnit(seq, keyframe, wall, data) {
    if (waitKeyframe) {
      if (!keyframe) return ack(seq);
      const found = codecOf(data);
      if (found && found !== codec) {
        const support = await VideoDecoder.isConfigSupported({ codec: found }).catch(() => ({ supported: false }));
        if (!support.supported) {
          console.warn(`pancake: this browser cannot decode ${found}; switching to JPEG pictures`);
          return switchToJpeg();
        }
        codec = found;
        if (decoder) decoder.close();
        decoder = undefined;
      }
      if (!codec) return ack(seq);
      waitKeyframe = false;
    }
    if (!decoder || decoder.state === 'closed') newDecoder();
    decoding.set(seq, wall);
    decoder.decode(new EncodedVideoChunk({ type: keyframe ? 'key' : 'delta', timestamp: seq, data }));
  }

  // ---- JPEG pictures ----

  async function onPicture(seq, wall, data) {
    try {
      const bitmap = await createImageBitmap(new Blob([data], { type: 'image/jpeg' }));
      draw(bitmap, bitmap.width, bitmap.height, seq, wall);
      bitmap.close();
    } finally {
      ack(seq);
    }
  }

  function switchToJpeg() {
    mode = 'jpeg';
    stats.mode = mode;
    closeMse();
    retryMs = 100; // reconnect at once, in the other mode
    if (socket) socket.close();
  }

  // ---- fragmented MP4 with MSE ----
  //
  // Fragments are appended in "sequence" mode: each goes right after the last, whatever its own
  // times, so a skip to a newer keyframe (a slow network) or a reconnect leaves no gap. The
  // player is kept at the live edge: the buffer behind it is trimmed, it plays a little faster
  // when it lags, and jumps forward when it lags more than a second.

  const LIVE_LAG_S = 0.1; // where a jump lands, before the newest frame's end
  const CATCH_UP_S = 0.3; // lagging more than this: play faster
  const JUMP_S = 1.0; // lagging more than this: jump
  const KEEP_BEHIND_S = 3; // buffer kept behind the playhead
  let video;
  let mediaSource;
  let sourceBuffer;
  let mseCodec;
  let mseWaitKeyframe = true;
  const appendQueue = []; // { seq, wall, data, socket }
  let appending;
  const placed = []; // { end, seq, wall }: where each appended fragment ends on the media timeline

  /** avc1.PPCCLL from the avcC box of an init segment. */
  function codecOfInit(bytes) {
    for (let i = 4; i + 7 < bytes.length; i++) {
      if (bytes[i] === 0x61 && bytes[i + 1] === 0x76 && bytes[i + 2] === 0x63 && bytes[i + 3] === 0x43) {
        const hex = (b) => b.toString(16).padStart(2, '0').toUpperCase();
        return `avc1.${hex(bytes[i + 5])}${hex(bytes[i + 6])}${hex(bytes[i + 7])}`;
      }
    }
    return undefined;
  }

  function showVideo(on) {
    if (on && !video) {
      video = document.createElement('video');
      video.id = 'video';
      video.muted = true;
      video.autoplay = true;
      video.playsInline = true;
      video.disableRemotePlayback = true; // ManagedMediaSource (Safari) plays only with this
      video.setAttribute('aria-label', 'Live camera picture');
      video.addEventListener('error', onVideoError);
      stage.insertBefore(video, canvas);
      if (typeof video.requestVideoFrameCallback === 'function') video.requestVideoFrameCallback(onVideoFrame);
    }
    canvas.hidden = on;
    if (video) video.hidden = !on;
  }

  /** A new MediaSource for `codec`; fragments wait in the queue until it is open. */
  function openMse(codec) {
    closeMse();
    mseCodec = codec;
    const source = new MediaSourceType();
    mediaSource = source;
    source.addEventListener('sourceopen', () => {
      if (mediaSource !== source) return;
      try {
        sourceBuffer = source.addSourceBuffer(`video/mp4; codecs="${codec}"`);
      } catch (error) {
        console.warn(`pancake: this browser cannot play ${codec} with MSE (${error.message}); switching to JPEG pictures`);
        return switchToJpeg();
      }
      sourceBuffer.mode = 'sequence';
      sourceBuffer.timestampOffset = 0;
      sourceBuffer.addEventListener('updateend', onUpdateEnd);
      pumpAppend();
    });
    video.src = URL.createObjectURL(source);
  }

  function closeMse() {
    if (video && video.src) {
      URL.revokeObjectURL(video.src);
      video.removeAttribute('src');
      video.load();
    }
    mediaSource = undefined;
    sourceBuffer = undefined;
    mseCodec = undefined;
    appending = undefined;
    placed.length = 0;
    while (appendQueue.length) {
      const f = appendQueue.shift();
      ack(f.seq, f.socket);
    }
  }

  function onVideoError() {
    stats.decodeErrors++;
    console.warn('pancake: the video element failed, waiting for the next keyframe:', video.error && video.error.message);
    closeMse();
    mseWaitKeyframe = true;
  }

  function onFragment(seq, keyframe, wall, data) {
    showVideo(true);
    if (keyframe) {
      const codec = codecOfInit(data);
      if (!codec) return ack(seq);
      if (codec !== mseCodec) {
        if (sourceBuffer && typeof sourceBuffer.changeType === 'function' && !sourceBuffer.updating) {
          sourceBuffer.changeType(`video/mp4; codecs="${codec}"`);
          mseCodec = codec;
        } else {
          openMse(codec);
        }
      }
      mseWaitKeyframe = false;
    } else if (mseWaitKeyframe) {
      return ack(seq);
    }
    appendQueue.push({ seq, wall, data, socket });
    pumpAppend();
  }

  function pumpAppend() {
    if (!sourceBuffer || sourceBuffer.updating || !mediaSource || mediaSource.readyState !== 'open') return;
    const b = sourceBuffer.buffered;
    if (b.length && video.currentTime - b.start(0) > 2 * KEEP_BEHIND_S) {
      sourceBuffer.remove(0, video.currentTime - KEEP_BEHIND_S); // updateend comes back here
      return;
    }
    const next = appendQueue.shift();
    if (!next) return;
    appending = next;
    try {
      sourceBuffer.appendBuffer(next.data);
    } catch (error) {
      appending = undefined;
      ack(next.seq, next.socket);
      if (error.name === 'QuotaExceededError' && b.length) {
        sourceBuffer.remove(0, Math.max(b.start(0) + 0.1, video.currentTime - 0.5));
        return;
      }
      onVideoError();
    }
  }

  function onUpdateEnd() {
    const done = appending;
    appending = undefined;
    const b = sourceBuffer && sourceBuffer.buffered;
    if (done && b && b.length) {
      placed.push({ end: b.end(b.length - 1), seq: done.seq, wall: done.wall });
      if (placed.length > 600) placed.splice(0, 300);
      ack(done.seq, done.socket);
      followLiveEdge(b);
    } else if (done) {
      ack(done.seq, done.socket);
    }
    pumpAppend();
  }

  function followLiveEdge(b) {
    const start = b.start(b.length - 1);
    const end = b.end(b.length - 1);
    const lag = end - video.currentTime;
    if (video.currentTime < start || lag > JUMP_S) video.currentTime = Math.max(start, end - LIVE_LAG_S);
    else if (lag > CATCH_UP_S) video.playbackRate = 1.25;
    else if (lag < LIVE_LAG_S + 0.05) video.playbackRate = 1;
    if (video.paused) video.play().catch(() => {});
  }

  /** Every picture the video element shows: counted, and its delay measured (pancake's time of the unit to now). */
  function onVideoFrame(_now, metadata) {
    video.requestVideoFrameCallback(onVideoFrame);
    const t = metadata.mediaTime;
    const frame = placed.find((p) => p.end > t + 0.0005);
    stats.drawn++;
    drawnAt.push(performance.now());
    message.textContent = '';
    if (!frame) return;
    stats.lastSeq = frame.seq;
    stats.firstWall ??= frame.wall;
    stats.delays.push(Date.now() - frame.wall);
    if (stats.delays.length > 2000) stats.delays.splice(0, 1000);
  }

  // ---- the connection ----

  function setPill(id, text, state) {
    const el = document.getElementById(id);
    el.textContent = text;
    el.className = `pill ${state}`;
  }

  function onText(text) {
    const msg = JSON.parse(text);
    if (msg.type === 'config') {
      stage.classList.toggle('rotate-90', msg.rotation === 90);
      stage.classList.toggle('rotate-270', msg.rotation === 270);
    } else if (msg.type === 'status') {
      setPill('camera', msg.camera, msg.camera === 'up' ? 'ok' : msg.camera === 'down' ? 'bad' : 'warn');
      // Continuous recording paused (PUT /api/recording, the Recordings page): a detection clip may still be written.
      if (msg.paused) setPill('recording', msg.recording ? 'detection only' : 'paused', 'warn');
      else setPill('recording', msg.recording ? 'on' : 'off', msg.recording ? 'ok' : '');
      const hasDetection = msg.detection !== null && msg.detection !== undefined;
      document.getElementById('detection-item').hidden = !hasDetection;
      if (hasDetection) setPill('detection', msg.detection ? 'yes' : 'no', msg.detection ? 'warn' : '');
      if (msg.camera === 'down') message.textContent = `Camera down${msg.reason ? `: ${msg.reason}` : ''} — pancake is restarting it`;
    }
  }

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const label = document.getElementById('mode');
    label.textContent = MODE_LABELS[mode];
    label.title = MODE_TITLES[mode];
    if (mode !== 'mse') showVideo(false);
    socket = new WebSocket(`${scheme}//${location.host}/websocket?mode=${mode}`);
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      retryMs = 1000;
      lastReceived = -1;
      waitKeyframe = true;
      mseWaitKeyframe = true;
    };
    socket.onmessage = (event) => {
      if (typeof event.data === 'string') return onText(event.data);
      const view = new DataView(event.data);
      const kind = view.getUint8(0);
      const keyframe = (view.getUint8(1) & 1) === 1;
      const seq = view.getUint32(4);
      const wall = view.getFloat64(8);
      const data = new Uint8Array(event.data, 16);
      stats.received++;
      if (lastReceived >= 0 && seq > lastReceived + 1) stats.gaps += seq - lastReceived - 1;
      lastReceived = seq;
      if (kind === 1) onAccessUnit(seq, keyframe, wall, data);
      else if (kind === 2) onPicture(seq, wall, data);
      else if (kind === 3) onFragment(seq, keyframe, wall, data);
    };
    socket.onclose = (event) => {
      decoding.clear();
      appendQueue.length = 0; // their acknowledgements belong to the closed connection
      if (event.code === 1008 || event.code === 1006) message.textContent = 'Disconnected — reconnecting…';
      setTimeout(connect, retryMs);
      retryMs = Math.min(Math.max(retryMs * 2, 1000), 10000);
    };
  }

  setInterval(() => {
    const now = performance.now();
    while (drawnAt.length && now - drawnAt[0] > 1000) drawnAt.shift();
    document.getElementById('fps').textContent = drawnAt.length.toFixed(1);
  }, 500);

  connect();
})();
