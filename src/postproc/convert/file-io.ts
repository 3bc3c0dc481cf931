// The built-in converter's file I/O: reading ahead while the last chunk is worked on, and writing behind with early write-back, in bounded buffers.
import type { FileHandle } from 'node:fs/promises';
import type { AccessUnitScanner } from './annexb-scan.js';

/** Bytes read at a time. */
export const CHUNK_BYTES = 1 << 19;
/**
 * Written bytes after which write-back to the disk is started (fdatasync in the background):
 * the final fsync then waits only for the rest, instead of for the whole file at the end.
 */
const WRITE_BACK_BYTES = 32 << 20;

/**
 * Feeds a whole file to `scanner` in windows: while one window is scanned the next chunk is read,
 * and the bytes the scanner still needs (the access unit being collected) are carried to the
 * front of the next window. Memory: two buffers of twice the chunk size (more only for an access
 * unit longer than a chunk), returned at the end for reuse.
 */
export async function scanFile(fh: FileHandle, scanner: AccessUnitScanner, signal?: AbortSignal, chunkBytes = CHUNK_BYTES): Promise<Buffer[]> {
  let headroom = chunkBytes;
  let target = Buffer.allocUnsafeSlow(headroom + chunkBytes);
  let current = Buffer.allocUnsafeSlow(headroom + chunkBytes);
  let position = await readFully(fh, current, headroom, chunkBytes, 0);
  let window = current.subarray(headroom, headroom + position);
  let base = 0;
  for (;;) {
    signal?.throwIfAborted();
    const reading = readFully(fh, target, headroom, chunkBytes, position);
    let keep: number;
    try {
      keep = scanner.scan(window, base);
    } catch (err) {
      await reading.catch(() => undefined);
      throw err;
    }
    const bytesRead = await reading;
    if (bytesRead === 0) break;
    position += bytesRead;
    const carry = window.subarray(keep - base);
    if (carry.length <= headroom) {
      carry.copy(target, headroom - carry.length);
      window = target.subarray(headroom - carry.length, headroom + bytesRead);
      [current, target] = [target, current];
    } else {
      // An access unit longer than the room before the read position: bigger buffers from now on.
      const fresh = target.subarray(headroom, headroom + bytesRead);
      while (headroom < carry.length) headroom *= 2;
      current = Buffer.allocUnsafeSlow(headroom + chunkBytes);
      carry.copy(current, headroom - carry.length);
      fresh.copy(current, headroom);
      window = current.subarray(headroom - carry.length, headroom + bytesRead);
      target = Buffer.allocUnsafeSlow(headroom + chunkBytes);
    }
    base = keep;
  }
  scanner.end();
  // Handed on, so that the second pass needs no memory of its own.
  return [current, target];
}

/** Reads up to `length` bytes at `position`, fewer only at the end of the file. */
export async function readFully(fh: FileHandle, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, offset + done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Writes all of `pieces` at `position`, one writev (more only if the system writes less). */
async function writevFully(fh: FileHandle, pieces: Uint8Array[], position: number): Promise<void> {
  let left = pieces;
  for (;;) {
    const total = left.reduce((sum, p) => sum + p.length, 0);
    if (total === 0) return;
    const { bytesWritten } = await fh.writev(left, position);
    if (bytesWritten >= total) return;
    position += bytesWritten;
    let skip = bytesWritten;
    let i = 0;
    while (skip >= left[i]!.length) skip -= left[i++]!.length;
    left = [left[i]!.subarray(skip), ...left.slice(i + 1)];
  }
}

/**
 * Writes a file front to back from pieces (views of the input and the length fields beside them),
 * each batch with one writev in the background, and starts write-back to the disk every
 * {@link WRITE_BACK_BYTES} so that the final fsync has little left to wait for.
 */
export class GatherWriter {
  private position = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private syncedAt = 0;
  private syncing: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;

  constructor(private readonly fh: FileHandle, private readonly writeBackBytes = WRITE_BACK_BYTES) {}

  /** Bytes handed to {@link write} so far. */
  get written(): number {
    return this.position;
  }

  /**
   * Starts writing `pieces` (`bytes` long together) after everything before them. The promise
   * resolves once they are written (the pieces' memory may then be reused); it never rejects: a
   * failure is thrown by the next {@link check} or {@link finish}.
   */
  write(pieces: Uint8Array[], bytes: number): Promise<void> {
    const at = this.position;
    this.position += bytes;
    const done: Promise<void> = writevFully(this.fh, pieces, at).then(
      () => {
        this.inFlight.delete(done);
      },
      (error: unknown) => {
        this.failure ??= { error };
        this.inFlight.delete(done);
      },
    );
    this.inFlight.add(done);
    return done;
  }

  /** Throws the first failure of a write or write-back; starts write-back when enough was written since the last. */
  check(): void {
    if (this.failure) throw this.failure.error;
    if (this.syncing || this.position - this.syncedAt < this.writeBackBytes) return;
    this.syncedAt = this.position;
    const syncing = this.fh.datasync().then(
      () => undefined,
      (error: unknown) => {
        this.failure ??= { error };
      },
    ).finally(() => {
      if (this.syncing === syncing) this.syncing = undefined;
    });
    this.syncing = syncing;
  }

  /** Waits until everything is written and on the disk (fsync). */
  async finish(): Promise<void> {
    await this.settle();
    if (this.failure) throw this.failure.error;
    await this.fh.sync();
  }

  /** Waits for every write and write-back in flight (before closing the file, also after a failure). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    await this.syncing;
  }
}
