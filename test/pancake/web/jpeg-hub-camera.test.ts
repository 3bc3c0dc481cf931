// The JPEG live view with an MJPEG camera's own JPEGs on a ManualClock: the bytes unchanged, at most --max-stream-fps, a jittering camera at that rate not halved, ack-paced.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/common/clock.js';
import { CameraJpegs } from '../../../src/pancake/camera/mjpeg/camera-jpegs.js';
import { JpegHub } from '../../../src/pancake/web/jpeg-hub.js';
import { HEADER_BYTES } from '../../../src/pancake/web/protocol.js';
import type { ViewerSocket } from '../../../src/pancake/web/viewers.js';
import { captureLogger } from '../../postproc/upload/capture-logger.js';

const jpeg = (n: number): Buffer => Buffer.from([0xff, 0xd8, n & 0xff, 0xff, 0xd9]);

/** A browser that acknowledges each picture at once (`auto`), or never. */
class FakeSocket {
  readonly sent: Buffer[] = [];
  readyState = 1;
  bufferedAmount = 0;
  send(data: Buffer): void {
    this.sent.push(data);
  }
  terminate(): void {
    this.readyState = 3;
  }
}

function rig(maxFps = 10) {
  const clock = new ManualClock();
  const { logger } = captureLogger();
  const jpegs = new CameraJpegs(logger);
  const hub = new JpegHub({ source: { subscribe: () => ({ close() {} }) }, jpegs, width: 320, height: 240, maxFps, clock, logger });
  const socket = new FakeSocket();
  const viewer = hub.addViewer(socket as unknown as ViewerSocket);
  const ackAll = (): void => {
    for (const m of socket.sent) hub.ack(viewer, m.readUInt32BE(4));
  };
  return { clock, jpegs, hub, socket, viewer, ackAll };
}

describe('JpegHub with camera JPEGs', () => {
  it("sends the camera's bytes unchanged, at once", () => {
    const { jpegs, socket } = rig();
    jpegs.push(jpeg(7), 1000);
    expect(socket.sent).toHaveLength(1);
    expect(socket.sent[0]!.subarray(HEADER_BYTES).equals(jpeg(7))).toBe(true);
  });

  it('a 10 fps camera whose frames jitter by ±20 ms around 100 ms is shown at 10 fps (not halved, no timer per picture)', () => {
    const { clock, jpegs, socket, ackAll } = rig(10);
    const gaps = [80, 120, 85, 115, 90, 110, 100, 80, 120, 100];
    let n = 0;
    jpegs.push(jpeg(n++), clock.now());
    for (const gap of gaps) {
      clock.advance(gap);
      ackAll();
      jpegs.push(jpeg(n++), clock.now());
      // Sent on arrival, not after a timer: nothing else makes time pass here.
      expect(socket.sent).toHaveLength(n);
    }
    expect(socket.sent.map((m) => m[HEADER_BYTES + 2])).toEqual(Array.from({ length: 11 }, (_, i) => i));
  });

  it('never more than --max-stream-fps over time: a 30 fps camera at 10', () => {
    const { clock, jpegs, socket, ackAll } = rig(10);
    for (let i = 0; i < 300; i++) {
      jpegs.push(jpeg(i), clock.now());
      clock.advance(1000 / 30);
      ackAll();
    }
    // 10 s: at most 10 a second, plus the first.
    expect(socket.sent.length).toBeLessThanOrEqual(101);
    expect(socket.sent.length).toBeGreaterThanOrEqual(99);
  });

  it('waits for the ack: an unacknowledged viewer gets nothing more, then the newest', () => {
    const { clock, jpegs, socket, ackAll } = rig(10);
    jpegs.push(jpeg(1), clock.now());
    for (let i = 2; i <= 5; i++) {
      clock.advance(200);
      jpegs.push(jpeg(i), clock.now());
    }
    expect(socket.sent).toHaveLength(1);
    ackAll();
    expect(socket.sent.map((m) => m[HEADER_BYTES + 2])).toEqual([1, 5]);
  });
});
