// What every part fed by the camera stream implements: recorders, the live view, the decoder, the detector.
import type { AccessUnit } from '../../common/h264/annexb.js';
import type { SpsInfo } from '../../common/h264/sps.js';

/**
 * A receiver of the one camera stream. It never learns what kind of camera produced it: every
 * keyframe it gets carries SPS+PPS, and units come in stream order with their arrival times.
 */
export interface StreamConsumer {
  /** The next complete access unit, and the facts of the newest SPS. */
  push(unit: AccessUnit, sps: SpsInfo | undefined): void;
  /**
   * The unit being received looks complete (it holds a slice and no byte came for a moment): a
   * consumer that shows pictures may offer it now instead of one frame interval later. The same
   * unit then arrives through {@link push} as usual.
   */
  pushEarly?(data: Buffer, keyframe: boolean, wallTime: number): void;
  /** Whether {@link pushEarly} is wanted now (watching for early units costs a timer per chunk). */
  wantsEarly?(): boolean;
  /** The camera stopped: whatever needs an unbroken stream (an open file, a pre-roll) ends here. */
  cameraDown?(reason: string): void;
}
