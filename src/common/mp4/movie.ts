// The boxes of a single-track H.264 MP4: ftyp, moov with its sample tables, and the mdat header (ISO/IEC 14496-12, -15).
import type { Rotation } from '../events.js';
import { box, Fields, fullBox, needs64 } from './boxes.js';
import { matrixBytes, rotationMatrix } from './matrix.js';

/** What every MP4 of the one video track says about it, with sample tables (progressive) or without (fragmented). */
export interface TrackFormat {
  /** Picture size after cropping, from the first SPS. */
  width: number;
  height: number;
  /** Sample aspect ratio from the SPS VUI, when it is not square. */
  sar?: { h: number; v: number };
  rotation: Rotation;
  /** The AVCDecoderConfigurationRecord (payload of avcC). */
  avcC: Buffer;
  /** Media timescale (ticks per second). */
  timescale: number;
}

/** Everything the moov box of a progressive MP4 says about the one video track. */
export interface VideoTrack extends TrackFormat {
  /** The duration of every sample in ticks. */
  sampleDelta: number;
  /** Each sample's own duration in ticks, in decoding order (variable frame rate); replaces `sampleDelta` when present. */
  sampleDeltas?: Uint32Array;
  /** Sample sizes in bytes, in decoding order (length = sample count). */
  sizes: Uint32Array;
  /** 1-based numbers of the sync (IDR) samples. */
  syncSamples: Uint32Array;
  /**
   * Composition offsets in ticks (ctts, version 0), in decoding order, or undefined when
   * presentation order equals decoding order.
   */
  compositionOffsets?: Uint32Array;
  /** Ticks the edit list skips so that presentation starts at 0 (the smallest composition offset). */
  editMediaTime: number;
  /** Samples per chunk: the stco/co64 and stsc granularity. */
  samplesPerChunk: number;
}

/** ftyp: ISO base media with AVC, as players and Telegram expect of a .mp4. */
export function ftypBox(): Buffer {
  const f = new Fields().fourcc('isom').u32(0x200);
  for (const brand of ['isom', 'iso2', 'avc1', 'mp41']) f.fourcc(brand);
  return box('ftyp', f.done());
}

/** Header of an mdat holding `payloadBytes` bytes: 8 bytes, or 16 with a 64-bit size when needed. */
export function mdatHeader(payloadBytes: number): Buffer {
  if (payloadBytes + 8 <= 0xffffffff) return new Fields(8).u32(payloadBytes + 8).fourcc('mdat').done();
  return new Fields(16).u32(1).fourcc('mdat').u64(payloadBytes + 16).done();
}

/**
 * AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1) with 4-byte NAL lengths, from the
 * first SPS and PPS (NAL units without start code, emulation prevention kept).
 */
export function avcDecoderConfiguration(sps: Uint8Array, pps: Uint8Array, chromaFormatIdc: number, bitDepthLuma: number, bitDepthChroma: number): Buffer {
  const f = new Fields()
    .u8(1) // configurationVersion
    .u8(sps[1]!) // AVCProfileIndication
    .u8(sps[2]!) // profile_compatibility
    .u8(sps[3]!) // AVCLevelIndication
    .u8(0xfc | 3) // lengthSizeMinusOne = 3
    .u8(0xe0 | 1)
    .u16(sps.length)
    .bytes(sps)
    .u8(1)
    .u16(pps.length)
    .bytes(pps);
  // The High profiles carry chroma format and bit depths (and SPS extensions, none here).
  if ([100, 110, 122, 144].includes(sps[1]!)) {
    f.u8(0xfc | chromaFormatIdc).u8(0xf8 | (bitDepthLuma - 8)).u8(0xf8 | (bitDepthChroma - 8)).u8(0);
  }
  return f.done();
}

/** The total duration in ticks. */
export function trackDuration(t: VideoTrack): number {
  if (!t.sampleDeltas) return t.sizes.length * t.sampleDelta;
  let sum = 0;
  for (const d of t.sampleDeltas) sum += d;
  return sum;
}

/** stts: (count, delta) runs of equal sample durations. */
function timeToSample(t: VideoTrack): Buffer {
  const n = t.sizes.length;
  const deltas = t.sampleDeltas;
  if (!deltas) return fullBox('stts', 0, 0, new Fields(12).u32(1).u32(n).u32(t.sampleDelta).done());
  const runs = new Fields(4 + n * 8).u32(0);
  let entries = 0;
  for (let i = 1, runStart = 0; i <= n; i++) {
    if (i < n && deltas[i] === deltas[runStart]) continue;
    runs.u32(i - runStart).u32(deltas[runStart]!);
    entries++;
    runStart = i;
  }
  const body = runs.done();
  body.writeUInt32BE(entries, 0);
  return fullBox('stts', 0, 0, body);
}

/** mvhd: the movie's timescale (the track's) and duration; version 1 when the duration needs 64 bits. */
export function movieHeaderBox(t: TrackFormat, duration: number): Buffer {
  const v = needs64(duration) ? 1 : 0;
  const time = (f: Fields, value: number) => (v ? f.u64(value) : f.u32(value));
  const mvhd = new Fields(100);
  time(mvhd, 0); // creation_time: 0 keeps the output a pure function of the input
  time(mvhd, 0); // modification_time
  mvhd.u32(t.timescale);
  time(mvhd, duration);
  mvhd.u32(0x00010000).u16(0x0100).zeros(10).bytes(matrixBytes(rotationMatrix(0, 0, 0))).zeros(24).u32(2);
  return fullBox('mvhd', v, 0, mvhd.done());
}

/**
 * trak of the one video track (track ID 1): tkhd with the display size and rotation matrix, the
 * given edit list boxes, and mdia down to `stbl`, the sample table (empty in a fragmented MP4).
 */
export function trackBox(t: TrackFormat, duration: number, edts: Buffer[], stbl: Buffer): Buffer {
  const v = needs64(duration) ? 1 : 0;
  const time = (f: Fields, value: number) => (v ? f.u64(value) : f.u32(value));

  // A non-square sample aspect ratio widens (or narrows) the presentation, as players expect.
  const presentedWidth = t.sar && t.sar.h > 0 && t.sar.v > 0 ? (t.width * t.sar.h) / t.sar.v : t.width;
  const tkhd = new Fields(100);
  time(tkhd, 0);
  time(tkhd, 0);
  tkhd.u32(1).u32(0);
  time(tkhd, duration);
  tkhd.zeros(8).u16(0).u16(0).u16(0).u16(0);
  tkhd.bytes(matrixBytes(rotationMatrix(t.rotation, presentedWidth, t.height)));
  tkhd.u32(Math.round(presentedWidth * 0x10000)).u32(t.height * 0x10000);

  const mdhd = new Fields(40);
  time(mdhd, 0);
  time(mdhd, 0);
  mdhd.u32(t.timescale);
  time(mdhd, duration);
  mdhd.u16(0x55c4).u16(0); // language 'und'

  const hdlr = new Fields(40).u32(0).fourcc('vide').zeros(12).bytes(Buffer.from('VideoHandler\0', 'latin1'));

  return box(
    'trak',
    fullBox('tkhd', v, 3, tkhd.done()), // flags: enabled, in movie
    ...edts,
    box(
      'mdia',
      fullBox('mdhd', v, 0, mdhd.done()),
      fullBox('hdlr', 0, 0, hdlr.done()),
      box(
        'minf',
        fullBox('vmhd', 0, 1, new Fields(8).zeros(8).done()),
        box('dinf', fullBox('dref', 0, 0, new Fields(4).u32(1).done(), fullBox('url ', 0, 1))),
        stbl,
      ),
    ),
  );
}

/**
 * The moov box (at least one sample). `firstSampleOffset` is the file offset of the first sample's bytes (the mdat
 * payload); chunk offsets follow from the sample sizes, since samples are stored back to back.
 */
export function moovBox(t: VideoTrack, firstSampleOffset: number): Buffer {
  const duration = trackDuration(t);
  const edts = t.editMediaTime > 0 || t.compositionOffsets ? [editBox(duration, t.editMediaTime)] : [];
  return box('moov', movieHeaderBox(t, duration), trackBox(t, duration, edts, sampleTable(t, firstSampleOffset)));
}

/** edts with one edit: `duration` ticks of presentation from media time `mediaTime` (0 in a fragmented MP4: to the end). */
export function editBox(duration: number, mediaTime: number): Buffer {
  const v = needs64(duration, mediaTime) ? 1 : 0;
  const f = new Fields(28).u32(1);
  if (v) f.u64(duration).u64(mediaTime);
  else f.u32(duration).u32(mediaTime);
  f.u16(1).u16(0); // media_rate 1.0
  return box('edts', fullBox('elst', v, 0, f.done()));
}

/** stsd with the one avc1 sample entry: coded size, avcC and, for a non-square SAR, pasp. */
export function sampleDescriptionBox(t: TrackFormat): Buffer {
  const entry = new Fields(128)
    .zeros(6)
    .u16(1) // data_reference_index
    .zeros(16)
    .u16(t.width)
    .u16(t.height)
    .u32(0x00480000) // 72 dpi
    .u32(0x00480000)
    .u32(0)
    .u16(1) // frame_count
    .zeros(32) // compressorname
    .u16(0x0018)
    .i16(-1)
    .done();
  const pasp = t.sar && (t.sar.h !== t.sar.v) ? [box('pasp', new Fields(8).u32(t.sar.h).u32(t.sar.v).done())] : [];
  return fullBox('stsd', 0, 0, new Fields(4).u32(1).done(), box('avc1', entry, box('avcC', t.avcC), ...pasp));
}

function sampleTable(t: VideoTrack, firstSampleOffset: number): Buffer {
  const n = t.sizes.length;
  const stsd = sampleDescriptionBox(t);

  const boxes = [stsd, timeToSample(t)];
  if (t.compositionOffsets) {
    // Run-length coded: B-frame streams alternate, so this is about one entry per sample.
    const offs = t.compositionOffsets;
    const runs = new Fields(4 + n * 8).u32(0);
    let entries = 0;
    for (let i = 1, runStart = 0; i <= n; i++) {
      if (i < n && offs[i] === offs[runStart]) continue;
      runs.u32(i - runStart).u32(offs[runStart]!);
      entries++;
      runStart = i;
    }
    const ctts = runs.done();
    ctts.writeUInt32BE(entries, 0);
    boxes.push(fullBox('ctts', 0, 0, ctts));
  }

  const stss = new Fields(4 + t.syncSamples.length * 4).u32(t.syncSamples.length);
  for (const s of t.syncSamples) stss.u32(s);
  boxes.push(fullBox('stss', 0, 0, stss.done()));

  // Chunks of samplesPerChunk samples; the last one may be shorter.
  const perChunk = Math.max(1, t.samplesPerChunk);
  const fullChunks = Math.floor(n / perChunk);
  const rest = n % perChunk;
  const stsc = new Fields(28).u32((fullChunks > 0 ? 1 : 0) + (rest > 0 ? 1 : 0));
  if (fullChunks > 0) stsc.u32(1).u32(perChunk).u32(1);
  if (rest > 0) stsc.u32(fullChunks + 1).u32(rest).u32(1);
  boxes.push(fullBox('stsc', 0, 0, stsc.done()));

  const stsz = new Fields(8 + n * 4).u32(0).u32(n);
  for (let i = 0; i < n; i++) stsz.u32(t.sizes[i]!);
  boxes.push(fullBox('stsz', 0, 0, stsz.done()));

  const offsets: number[] = [];
  let pos = firstSampleOffset;
  for (let i = 0; i < n; i++) {
    if (i % perChunk === 0) offsets.push(pos);
    pos += t.sizes[i]!;
  }
  const wide = offsets.length > 0 && needs64(offsets[offsets.length - 1]!);
  const co = new Fields(4 + offsets.length * (wide ? 8 : 4)).u32(offsets.length);
  for (const o of offsets) {
    if (wide) co.u64(o);
    else co.u32(o);
  }
  boxes.push(fullBox(wide ? 'co64' : 'stco', 0, 0, co.done()));

  return box('stbl', ...boxes);
}

/**
 * The bytes before the first sample of a progressive (moov first) MP4: ftyp, moov and the mdat
 * header, and the file offset where the samples start, with stco or co64 chosen for the real offsets.
 */
export function progressiveHead(track: VideoTrack, mdatBytes: number): { head: Buffer[]; firstSampleOffset: number } {
  const ftyp = ftypBox();
  const mdat = mdatHeader(mdatBytes);
  // The moov's size depends on whether 64-bit chunk offsets are needed, which depends on its size.
  let moov = moovBox(track, 0);
  for (;;) {
    const offset = ftyp.length + moov.length + mdat.length;
    const next = moovBox(track, offset);
    if (next.length === moov.length) return { head: [ftyp, next, mdat], firstSampleOffset: offset };
    moov = next;
  }
}
