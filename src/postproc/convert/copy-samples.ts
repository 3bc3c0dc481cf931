// The built-in converter's second pass: the planned NAL units copied from the Annex B file into mdat behind 4-byte lengths, chunk by chunk, without searching again.
import type { FileHandle } from 'node:fs/promises';
import { GatherWriter, readFully } from './file-io.js';
import type { NalRangeCursor } from './nal-ranges.js';

/** The input changed between the two passes, or the output could not be written as planned. */
export class BuiltinConvertError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuiltinConvertError';
  }
}

/** The error for an input that no longer holds what the first pass found. */
export function changedInput(why: string): BuiltinConvertError {
  return new BuiltinConvertError(`the input changed while it was converted (${why})`);
}

/** One chunk of the input, and room for the length fields that cannot be written into it. */
interface Slot {
  buf: Buffer;
  lengths: Buffer;
}

/** Length fields per slot before more room is made (a NAL unit behind a 3-byte start code needs one). */
const LENGTHS_PER_SLOT = 4096;

export interface CopyOptions {
  /** Buffers to read the input into (the first pass's); each is cut into chunks of `chunkBytes`. */
  buffers: Buffer[];
  chunkBytes: number;
  signal?: AbortSignal;
}

/**
 * Writes `head` and then each NAL unit of `cursor` behind its 4-byte length to `out`, reading
 * the input in order, one chunk ahead, and fsyncs `out`. Nothing is copied in memory: each chunk
 * is written with one writev of views of it. Where a NAL unit has a 4-byte start code, its length
 * is written over the start code in the chunk, so runs of such units (most of a camera's stream)
 * are one piece; behind a 3-byte start code the length is a piece of its own. Before each NAL unit
 * the input must still hold the start code the first pass found there. Returns the bytes written
 * after `head`.
 */
export async function copySamples(input: FileHandle, out: FileHandle, head: Buffer[], cursor: NalRangeCursor, options: CopyOptions): Promise<number> {
  const { chunkBytes, signal } = options;
  const slots: Slot[] = [];
  for (const b of options.buffers) {
    for (let at = 0; at + chunkBytes <= b.length; at += chunkBytes) slots.push({ buf: b.subarray(at, at + chunkBytes), lengths: Buffer.allocUnsafe(4 * LENGTHS_PER_SLOT) });
  }
  // One chunk being read, one being cut into pieces, at least one being written.
  while (slots.length < 3) slots.push({ buf: Buffer.allocUnsafeSlow(chunkBytes), lengths: Buffer.allocUnsafe(4 * LENGTHS_PER_SLOT) });

  const writer = new GatherWriter(out);
  const free = [...slots];
  const writing: { slot: Slot; done: Promise<void> }[] = [];
  const first = cursor.next();
  let readAt = first ? Math.max(0, cursor.start - 4) : 0;
  let ahead: { slot: Slot; read: Promise<number> } | undefined;

  const takeSlot = async (): Promise<Slot> => {
    while (free.length === 0) {
      const oldest = writing.shift()!;
      await oldest.done;
      free.push(oldest.slot);
    }
    return free.pop()!;
  };
  const readAhead = async (): Promise<void> => {
    const slot = await takeSlot();
    const read = readFully(input, slot.buf, 0, chunkBytes, readAt);
    // Failures surface when the chunk is needed; until then they must not count as unhandled.
    read.catch(() => undefined);
    readAt += chunkBytes;
    ahead = { slot, read };
  };

  let slot: Slot | undefined;
  let chunk: Buffer = Buffer.alloc(0);
  let base = readAt;
  let pieces: Uint8Array[] = [];
  let pieceBytes = 0;
  let lengthsUsed = 0;
  // The piece being grown: chunk[from, to).
  let from = 0;
  let to = 0;

  const endPiece = () => {
    if (to > from) pieces.push(chunk.subarray(from, to));
    from = to = 0;
  };
  const addPiece = (start: number, end: number) => {
    if (start !== to || to === 0) {
      endPiece();
      from = start;
    }
    to = end;
    pieceBytes += end - start;
  };
  /** Hands the chunk's pieces to the writer and moves to the next chunk; false at the end of the file. */
  const advance = async (): Promise<boolean> => {
    signal?.throwIfAborted();
    endPiece();
    if (slot) {
      if (pieces.length > 0) writing.push({ slot, done: writer.write(pieces, pieceBytes) });
      else free.push(slot);
    }
    pieces = [];
    pieceBytes = 0;
    lengthsUsed = 0;
    writer.check();
    const next = ahead!;
    ahead = undefined;
    const n = await next.read;
    base += chunk.length;
    slot = next.slot;
    chunk = slot.buf.subarray(0, n);
    if (n === 0) return false;
    await readAhead();
    return true;
  };

  try {
    writer.write(head, head.reduce((sum, b) => sum + b.length, 0));
    await readAhead();
    await advance();
    let written = 0;
    for (let more = first; more; more = cursor.next()) {
      const { start, length } = cursor;
      while (base + chunk.length <= start) {
        if (!(await advance())) throw changedInput('it ended early');
      }
      let at = start - base;
      // (A start code split between two chunks goes unchecked; its NAL unit is still copied.)
      if (at >= 3 && (chunk[at - 3] !== 0 || chunk[at - 2] !== 0 || chunk[at - 1] !== 1)) throw changedInput(`no start code before byte ${start}`);
      if (at >= 4 && chunk[at - 4] === 0) {
        // A zero before 00 00 01 belongs to no NAL unit (they never end in 0x00): the length goes over the four bytes.
        chunk.writeUInt32BE(length, at - 4);
        addPiece(at - 4, at);
      } else {
        endPiece();
        let lengths = slot!.lengths;
        if (lengthsUsed + 4 > lengths.length) {
          lengths = Buffer.allocUnsafe(4);
          lengthsUsed = 0;
        }
        lengths.writeUInt32BE(length, lengthsUsed);
        pieces.push(lengths.subarray(lengthsUsed, lengthsUsed + 4));
        pieceBytes += 4;
        lengthsUsed += 4;
      }
      let left = length;
      for (;;) {
        const n = Math.min(left, chunk.length - at);
        addPiece(at, at + n);
        left -= n;
        if (left === 0) break;
        if (!(await advance())) throw changedInput('it ended early');
        at = 0;
      }
      written += 4 + length;
    }
    endPiece();
    if (pieces.length > 0) writer.write(pieces, pieceBytes);
    // On disk before the rename makes it visible: a crash then leaves the old state, not a torn file.
    await writer.finish();
    return written;
  } finally {
    await ahead?.read.catch(() => undefined);
    await writer.settle();
  }
}
