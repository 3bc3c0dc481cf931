// The live-view websocket protocol: binary frames from pancake, small JSON messages both ways.
//
// pancake → browser, binary: a 16-byte header, then the payload
//   byte 0      kind: 1 = H.264 access unit (Annex B), 2 = JPEG picture, 3 = MP4 fragment (moof + mdat of one
//               access unit; a keyframe's has the init segment, ftyp + moov, in front)
//   byte 1      flags: bit 0 = keyframe
//   bytes 2-3   reserved (0)
//   bytes 4-7   sequence number (uint32, big-endian); the browser acknowledges it
//   bytes 8-15  when pancake had the frame (wall-clock ms, float64 big-endian), for delay measurement
// pancake → browser, text: {"type":"config", …} once, then {"type":"status", …} on changes
// browser → pancake, text: {"ack": <sequence>} after drawing a frame; nothing else is accepted.

export const FRAME_H264 = 1;
export const FRAME_JPEG = 2;
export const FRAME_MP4 = 3;
export const HEADER_BYTES = 16;
/** Client messages are tiny; anything bigger closes the socket. */
export const MAX_CLIENT_MESSAGE_BYTES = 256;

/** The header of one binary frame. */
export function frameHeader(kind: number, keyframe: boolean, seq: number, wallMs: number): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = kind;
  header[1] = keyframe ? 1 : 0;
  header.writeUInt32BE(seq >>> 0, 4);
  header.writeDoubleBE(wallMs, 8);
  return header;
}

/** The sequence number a client acknowledges, or undefined for anything that is not exactly an ack. */
export function parseAck(message: string): number | undefined {
  if (message.length > MAX_CLIENT_MESSAGE_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  const ack = (value as { ack?: unknown }).ack;
  if (keys.length !== 1 || typeof ack !== 'number' || !Number.isInteger(ack) || ack < 0 || ack > 0xffffffff) return undefined;
  return ack;
}
