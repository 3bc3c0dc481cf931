// What pancake is doing right now, for the live-view page and logs: one small mutable value passed down.

export interface PancakeStatus {
  camera: 'starting' | 'up' | 'down';
  /** Why the camera is down (last reason), if it is. */
  cameraReason?: string;
  /** Wall-clock ms of the camera's last change of state (pancake's start while it is starting). */
  cameraSince?: number;
  /** Continuous recording is paused (PUT /api/recording); absent without --record-continuous. */
  continuousPaused?: boolean;
  /** Whether any recorder is writing a file right now. */
  recording: boolean;
  /** The newest detection state; undefined without --detect. */
  detection?: boolean;
  /** Display rotation for the page (90/270 are not done by the camera). */
  rotation: 0 | 90 | 180 | 270;
}
