// Cuts a raw video byte stream (ffmpeg's stdout) into whole frames of a fixed size (pure).

/**
 * Collects chunks into frames of `frameBytes`. Each frame is a fresh buffer of its own (never a
 * view of a chunk or of a pool), so a consumer may keep it, or post it to a worker, as it is.
 */
export class RawFrameSplitter {
  private current: Buffer | undefined;
  private filled = 0;

  constructor(readonly frameBytes: number) {
    if (!(frameBytes > 0)) throw new RangeError(`frame size must be positive: ${frameBytes}`);
  }

  /** Feeds one chunk; returns the frames it completed, in order. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      this.current ??= Buffer.allocUnsafeSlow(this.frameBytes);
      const n = Math.min(chunk.length - offset, this.frameBytes - this.filled);
      chunk.copy(this.current, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      if (this.filled === this.frameBytes) {
        out.push(this.current);
        this.current = undefined;
        this.filled = 0;
      }
    }
    return out;
  }

  /** Drops a partly received frame (the child was restarted). */
  reset(): void {
    this.current = undefined;
    this.filled = 0;
  }
}
