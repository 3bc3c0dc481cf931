// Fragmented MP4 boxes (ISO/IEC 14496-12 8.8): the init segment and the header of a media fragment of one H.264 track.
import { box, Fields, fullBox } from './boxes.js';
import { editBox, mdatHeader, movieHeaderBox, sampleDescriptionBox, trackBox, type TrackFormat } from './movie.js';

/** One sample of a media fragment: its size, duration and composition offset in ticks, and whether it is a sync sample. */
export interface FragmentSample {
  size: number;
  duration: number;
  sync: boolean;
  /** Presentation minus decoding time in ticks; negative for pictures shown before they are decoded (trun version 1). */
  compositionOffset: number;
}

// sample_flags (8.8.3.1): a sync sample depends on no other; any other depends on others and is not a sync sample.
const SYNC_SAMPLE_FLAGS = 0x02000000;
const NON_SYNC_SAMPLE_FLAGS = 0x01010000;
// tfhd flags: base data offsets are relative to the moof (what MSE and CMAF expect).
const DEFAULT_BASE_IS_MOOF = 0x020000;
// trun flags: data offset, then per sample duration, size, flags and (when any is non-zero) composition offset.
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_PER_SAMPLE = 0x000100 | 0x000200 | 0x000400;
const TRUN_COMPOSITION_OFFSETS = 0x000800;

/**
 * The init segment: ftyp and a moov whose track has the format (size, avcC, rotation matrix,
 * timescale) but no samples, and an mvex saying that they come in fragments. With
 * `editMediaTime`, an edit list starts presentation that many ticks into the media, so that
 * positive composition offsets (B-frames) still present the first picture at 0.
 */
export function initSegment(t: TrackFormat, editMediaTime = 0): Buffer {
  const brands = new Fields().fourcc('iso5').u32(0x200);
  for (const brand of ['iso5', 'iso6', 'avc1', 'mp41']) brands.fourcc(brand);
  const empty = (entries: number) => new Fields(8).zeros(4 * entries).done();
  const stbl = box('stbl', sampleDescriptionBox(t),
    fullBox('stts', 0, 0, empty(1)), fullBox('stsc', 0, 0, empty(1)), fullBox('stsz', 0, 0, empty(2)), fullBox('stco', 0, 0, empty(1)));
  // trex: track 1, sample description 1, no defaults (every trun gives its samples' values).
  const trex = fullBox('trex', 0, 0, new Fields(20).u32(1).u32(1).u32(0).u32(0).u32(0).done());
  return Buffer.concat([box('ftyp', brands.done()), box('moov', movieHeaderBox(t, 0), trackBox(t, 0, editMediaTime > 0 ? [editBox(0, editMediaTime)] : [], stbl), box('mvex', trex))]);
}

/**
 * The moof of one media fragment and the mdat header after it: the caller writes the samples'
 * bytes (4-byte length-prefixed NAL units) back to back right after. `sequenceNumber` counts
 * fragments from 1; `baseDecodeTime` is the decoding time of the first sample in ticks.
 */
export function fragmentHead(sequenceNumber: number, baseDecodeTime: number, samples: readonly FragmentSample[]): Buffer {
  let payload = 0;
  let signed = false;
  let offsets = false;
  for (const s of samples) {
    payload += s.size;
    if (s.compositionOffset !== 0) offsets = true;
    if (s.compositionOffset < 0) signed = true;
  }
  const flags = TRUN_DATA_OFFSET | TRUN_PER_SAMPLE | (offsets ? TRUN_COMPOSITION_OFFSETS : 0);
  const trun = new Fields(8 + samples.length * 16).u32(samples.length).u32(0);
  for (const s of samples) {
    trun.u32(s.duration).u32(s.size).u32(s.sync ? SYNC_SAMPLE_FLAGS : NON_SYNC_SAMPLE_FLAGS);
    if (offsets) trun.i32(s.compositionOffset);
  }
  const trunBox = fullBox('trun', signed ? 1 : 0, flags, trun.done());
  const traf = box('traf',
    fullBox('tfhd', 0, DEFAULT_BASE_IS_MOOF, new Fields(4).u32(1).done()),
    fullBox('tfdt', 1, 0, new Fields(8).u64(baseDecodeTime).done()),
    trunBox);
  const moof = box('moof', fullBox('mfhd', 0, 0, new Fields(4).u32(sequenceNumber).done()), traf);
  const mdat = mdatHeader(payload);
  // data_offset: from the moof's first byte to the first sample's; the trun ends the moof.
  moof.writeInt32BE(moof.length + mdat.length, moof.length - trunBox.length + 16);
  return Buffer.concat([moof, mdat]);
}
