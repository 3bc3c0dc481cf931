// Live view in the browser: H.264 decoded with WebCodecs onto a canvas (or JPEG pictures), each frame acknowledged once drawn.
'use strict';
(() => {
  const canvas = document.getElementById('picture');
  const context = canvas.getContext('2d');
  const stage = document.getElementById('stage');
  const message = document.getElementById('message');
  const params = new URLSearchParams(location.search);
  const webCodecs = typeof VideoDecoder === 'function' && typeof EncodedVideoChunk === 'function';
  let mode = params.get('mode') === 'jpeg' || !webCodecs ? 'jpeg' : 'h264';

  // For tests and the benchmark: frames drawn and delays (ms from pancake having a frame to drawing it).
  const stats = { mode, drawn: 0, lastSeq: -1, delays: [], decodeErrors: 0 };
  window.pancakeStats = stats;

  let socket;
  let decoder;
  let codec;
  let waitKeyframe = true;
  const decoding = new Map(); // sequence → when pancake had the frame
  const drawnAt = [];
  let retryMs = 1000;

  function ack(seq) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ ack: seq }));
  }

  function draw(source, width, height, seq, wall) {
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    context.drawImage(source, 0, 0, width, height);
    stats.drawn++;
    stats.lastSeq = seq;
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

  async function onAccessUnit(seq, keyframe, wall, data) {
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
    retryMs = 100; // reconnect at once, in the other mode
    if (socket) socket.close();
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
      setPill('recording', msg.recording ? 'on' : 'off', msg.recording ? 'ok' : '');
      const hasDetection = msg.detection !== null && msg.detection !== undefined;
      document.getElementById('detection-item').hidden = !hasDetection;
      if (hasDetection) setPill('detection', msg.detection ? 'yes' : 'no', msg.detection ? 'warn' : '');
      if (msg.camera === 'down') message.textContent = `Camera down${msg.reason ? `: ${msg.reason}` : ''} — pancake is restarting it`;
    }
  }

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    document.getElementById('mode').textContent = mode === 'h264' ? '(H.264)' : '(JPEG)';
    socket = new WebSocket(`${scheme}//${location.host}/websocket?mode=${mode}`);
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      retryMs = 1000;
      waitKeyframe = true;
    };
    socket.onmessage = (event) => {
      if (typeof event.data === 'string') return onText(event.data);
      const view = new DataView(event.data);
      const kind = view.getUint8(0);
      const keyframe = (view.getUint8(1) & 1) === 1;
      const seq = view.getUint32(4);
      const wall = view.getFloat64(8);
      const data = new Uint8Array(event.data, 16);
      if (kind === 1) onAccessUnit(seq, keyframe, wall, data);
      else if (kind === 2) onPicture(seq, wall, data);
    };
    socket.onclose = (event) => {
      decoding.clear();
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
