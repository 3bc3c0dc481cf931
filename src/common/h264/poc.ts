// Picture order count of each picture in decoding order, for pic_order_cnt_type 0, 1 and 2 (H.264 8.2.1).
import type { SliceHeader } from './slice.js';
import type { SpsInfo } from './sps.js';

/** The order of a picture among the pictures of its period. */
export interface PictureOrder {
  topFieldOrderCnt: number;
  bottomFieldOrderCnt: number;
  /** PicOrderCnt: min(top, bottom) for a frame, the field's own count for a field. */
  poc: number;
  /**
   * An IDR picture or one with memory_management_control_operation 5: every earlier picture is
   * output before it (C.4.4), so picture order counts compare only within such a period.
   */
  startsPeriod: boolean;
}

/**
 * Computes picture order counts in decoding order. Feed it the first slice header of every
 * picture (each field of a field pair is a picture), in decoding order. POCs after a
 * memory_management_control_operation 5 are the values the decoder uses after that picture
 * (8.2.1: tempPicOrderCnt subtracted), so the picture itself has POC 0.
 */
export class PocCalculator {
  // pic_order_cnt_type 0: the previous reference picture's MSB and LSB (8.2.1.1).
  private prevPocMsb = 0;
  private prevPocLsb = 0;
  // pic_order_cnt_type 1 and 2: the previous picture's FrameNumOffset and frame_num (8.2.1.2, 8.2.1.3).
  private prevFrameNumOffset = 0;
  private prevFrameNum = 0;

  compute(h: SliceHeader, sps: SpsInfo): PictureOrder {
    let top: number;
    let bottom: number;
    if (sps.picOrderCntType === 0) [top, bottom] = this.type0(h, sps);
    else [top, bottom] = this.type1or2(h, sps);

    let poc = !h.fieldPic ? Math.min(top, bottom) : h.bottomField ? bottom : top;
    if (h.mmco5) {
      // 8.2.1: after decoding, the picture's counts are made relative to itself.
      const temp = poc;
      top -= temp;
      bottom -= temp;
      poc = 0;
      if (sps.picOrderCntType === 0 && h.nalRefIdc !== 0) {
        this.prevPocMsb = 0;
        this.prevPocLsb = h.fieldPic && h.bottomField ? 0 : top;
      }
      this.prevFrameNumOffset = 0;
      this.prevFrameNum = 0;
    }
    return { topFieldOrderCnt: top, bottomFieldOrderCnt: bottom, poc, startsPeriod: h.idr || h.mmco5 };
  }

  private type0(h: SliceHeader, sps: SpsInfo): [number, number] {
    if (h.idr) {
      this.prevPocMsb = 0;
      this.prevPocLsb = 0;
    }
    const maxLsb = 2 ** sps.log2MaxPocLsb;
    const lsb = h.picOrderCntLsb;
    let msb: number;
    if (lsb < this.prevPocLsb && this.prevPocLsb - lsb >= maxLsb / 2) msb = this.prevPocMsb + maxLsb;
    else if (lsb > this.prevPocLsb && lsb - this.prevPocLsb > maxLsb / 2) msb = this.prevPocMsb - maxLsb;
    else msb = this.prevPocMsb;

    let top = 0;
    let bottom = 0;
    if (!h.fieldPic) {
      top = msb + lsb;
      bottom = top + h.deltaPicOrderCntBottom;
    } else if (h.bottomField) {
      bottom = msb + lsb;
    } else {
      top = msb + lsb;
    }
    if (h.nalRefIdc !== 0 && !h.mmco5) {
      this.prevPocMsb = msb;
      this.prevPocLsb = lsb;
    }
    return [top, bottom];
  }

  private type1or2(h: SliceHeader, sps: SpsInfo): [number, number] {
    const maxFrameNum = 2 ** sps.log2MaxFrameNum;
    let frameNumOffset: number;
    if (h.idr) frameNumOffset = 0;
    else if (this.prevFrameNum > h.frameNum) frameNumOffset = this.prevFrameNumOffset + maxFrameNum;
    else frameNumOffset = this.prevFrameNumOffset;
    this.prevFrameNumOffset = frameNumOffset;
    this.prevFrameNum = h.frameNum;

    if (sps.picOrderCntType === 2) {
      // 8.2.1.3: output order equals decoding order; non-reference pictures sit just before the next one.
      let temp = 0;
      if (!h.idr) temp = h.nalRefIdc === 0 ? 2 * (frameNumOffset + h.frameNum) - 1 : 2 * (frameNumOffset + h.frameNum);
      return [temp, temp];
    }

    // 8.2.1.2
    const cycle = sps.offsetForRefFrame;
    let absFrameNum = cycle.length !== 0 ? frameNumOffset + h.frameNum : 0;
    if (h.nalRefIdc === 0 && absFrameNum > 0) absFrameNum--;
    let expected = 0;
    if (absFrameNum > 0) {
      const cycleCnt = Math.floor((absFrameNum - 1) / cycle.length);
      const inCycle = (absFrameNum - 1) % cycle.length;
      const deltaPerCycle = cycle.reduce((a, b) => a + b, 0);
      expected = cycleCnt * deltaPerCycle;
      for (let i = 0; i <= inCycle; i++) expected += cycle[i]!;
    }
    if (h.nalRefIdc === 0) expected += sps.offsetForNonRefPic;
    let top = 0;
    let bottom = 0;
    if (!h.fieldPic) {
      top = expected + h.deltaPicOrderCnt[0];
      bottom = top + sps.offsetForTopToBottomField + h.deltaPicOrderCnt[1];
    } else if (h.bottomField) {
      bottom = expected + sps.offsetForTopToBottomField + h.deltaPicOrderCnt[0];
    } else {
      top = expected + h.deltaPicOrderCnt[0];
    }
    return [top, bottom];
  }
}
