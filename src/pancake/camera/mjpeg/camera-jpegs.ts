// An MJPEG camera's own JPEGs for whoever wants pictures: unchanged for the live view and /snapshot.jpg, RGB (decoded by sharp) for detect(frame).
import type { Logger } from '../../../common/log.js';
import type { RgbFrame } from '../../decode/frame-decoder.js';

/** One JPEG as the camera sent it, with its arrival time (wall ms). */
export interface CameraJpeg {
  jpeg: Buffer;
  time: number;
}

/** Ends a subscription. */
export interface PictureSubscription {
  close(): void;
}

/**
 * The newest JPEG of the camera's current run and its subscribers. It lives as long as pancake
 * (sources are single-use; each run pushes here). Pictures for the JPEG live view cost nothing:
 * the camera's bytes are passed on. detect(frame) gets RGB at its size, decoded by sharp (libvips,
 * with the JPEG's shrink-on-load), one picture at a time and always the newest: a slow decode
 * drops pictures rather than queueing them.
 */
export class CameraJpegs {
  private current: CameraJpeg | undefined;
  private readonly listeners = new Set<(picture: CameraJpeg) => void>();

  constructor(private readonly logger: Logger) {}

  /** The newest JPEG of the running camera; undefined before the first and after a run ended. */
  get newest(): CameraJpeg | undefined {
    return this.current;
  }

  /** A JPEG from the camera; returns it as kept (for {@link clear}). */
  push(jpeg: Buffer, time: number): CameraJpeg {
    const picture = { jpeg, time };
    this.current = picture;
    for (const listener of this.listeners) listener(picture);
    return picture;
  }

  /**
   * A camera run ended: its last JPEG (`last`) is no longer "the newest picture". Nothing changes
   * when a newer run has pushed one since.
   */
  clear(last: CameraJpeg | undefined): void {
    if (last !== undefined && this.current === last) this.current = undefined;
  }

  /** Every JPEG from now on, unchanged, until closed. */
  subscribeJpeg(onJpeg: (picture: CameraJpeg) => void): PictureSubscription {
    const listener = (picture: CameraJpeg): void => onJpeg(picture);
    this.listeners.add(listener);
    return { close: () => void this.listeners.delete(listener) };
  }

  /**
   * RGB pictures of `width`x`height` (stretched, as the ffmpeg decoder scales), decoded from the
   * JPEGs (`keyframesOnly` means nothing here: every JPEG is a whole picture). The same shape as
   * {@link FrameDecoder.subscribe}, so detect(frame) takes either.
   */
  subscribe(options: { width: number; height: number; keyframesOnly: boolean; onFrame: (frame: RgbFrame) => void }): PictureSubscription {
    const { width, height, onFrame } = options;
    let open = true;
    let busy = false;
    let waiting: CameraJpeg | undefined;
    let toldFailure = false;
    const decode = (picture: CameraJpeg): void => {
      busy = true;
      decodeJpegToRgb(picture.jpeg, width, height).then(
        (data) => {
          busy = false;
          if (open) onFrame({ data, width, height, time: picture.time });
          next();
        },
        (err: Error) => {
          busy = false;
          // A broken JPEG now and then is the camera's; say it once, keep going.
          if (!toldFailure) {
            toldFailure = true;
            this.logger.warn(`detect: a camera JPEG could not be decoded (${err.message}); skipping such pictures`);
          }
          next();
        },
      );
    };
    const next = (): void => {
      const picture = waiting;
      waiting = undefined;
      if (open && picture) decode(picture);
    };
    const subscription = this.subscribeJpeg((picture) => {
      if (busy) waiting = picture;
      else decode(picture);
    });
    return {
      close: () => {
        open = false;
        waiting = undefined;
        subscription.close();
      },
    };
  }
}

/** RGB24 of `width`x`height` from a JPEG (grey and CMYK JPEGs become RGB too). */
export async function decodeJpegToRgb(jpeg: Buffer, width: number, height: number): Promise<Uint8Array> {
  const { default: sharp } = await import('sharp');
  const data = await sharp(jpeg, { failOn: 'truncated' })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer();
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
