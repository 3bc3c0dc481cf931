// The built-in converter's two passes: the same MP4 whatever the chunk size, and an input that no longer matches the plan is refused.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { convertBuiltin } from '../../../src/postproc/convert/builtin.js';
import { BuiltinConvertError, copySamples } from '../../../src/postproc/convert/copy-samples.js';
import { NalRanges } from '../../../src/postproc/convert/nal-ranges.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';
import { ALL_STREAMS, byName } from '../../common/h264/fixtures.js';
import { frameMd5s } from '../../common/mp4/mp4-facts.js';

let tmp: string;
beforeEach(() => {
  tmp = makeTmp('convert-io-');
});
afterEach(() => removeTmp(tmp));

/** Streams whose NAL units have 3- and 4-byte start codes, zeros between them, and an access unit delimiter to drop. */
function mixedStream(): Buffer {
  const base = fs.readFileSync(byName('baseline-160x120.h264').file);
  return Buffer.concat([Buffer.from([0, 0, 0, 1, 0x09, 0xf0]), base.subarray(0, 700), Buffer.alloc(5), base.subarray(700), Buffer.alloc(3)]);
}

describe('convertBuiltin', () => {
  const inputs: [string, () => string][] = [
    ...ALL_STREAMS.map((f) => [f.name, () => f.file] as [string, () => string]),
    ['3- and 4-byte start codes, zeros, an AUD', () => {
      const file = path.join(tmp, 'mixed.h264');
      fs.writeFileSync(file, mixedStream());
      return file;
    }],
  ];

  it.each(inputs)('%s: the same MP4, byte for byte, read and written 512 KiB (the default), 5000, 1000 or 64 bytes at a time', async (_, input) => {
    const file = input();
    const outputs = [];
    for (const ioBytes of [undefined, 5000, 1000, 64]) {
      const output = path.join(tmp, `out-${ioBytes ?? 'default'}.mp4`);
      const report = await convertBuiltin(file, output, { fps: 10, rotation: 90, ...(ioBytes ? { ioBytes } : {}) });
      outputs.push({ report, bytes: fs.readFileSync(output) });
    }
    for (const o of outputs.slice(1)) {
      expect(o.report).toEqual(outputs[0]!.report);
      expect(o.bytes.equals(outputs[0]!.bytes)).toBe(true);
    }
  });

  it('the mixed stream decodes to the raw stream\'s pictures', async () => {
    const file = path.join(tmp, 'mixed.h264');
    fs.writeFileSync(file, mixedStream());
    await convertBuiltin(file, path.join(tmp, 'out.mp4'), { fps: 10, rotation: 0, ioBytes: 64 });
    expect(frameMd5s(path.join(tmp, 'out.mp4'))).toEqual(frameMd5s(file));
  });
});

describe('copySamples', () => {
  it('refuses an input that holds no start code where the plan has a NAL unit, and one that ends early', async () => {
    const file = path.join(tmp, 'in.h264');
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0, 0, 0, 1, 0x67, 1, 2, 3]), Buffer.alloc(100, 0x55)]));
    const cases: [number, number, RegExp][] = [
      [20, 10, /no start code before byte 20/],
      [4, 500, /it ended early/],
    ];
    for (const [start, length, reason] of cases) {
      const ranges = new NalRanges();
      ranges.add(start, length);
      const input = await fs.promises.open(file, 'r');
      const out = await fs.promises.open(path.join(tmp, 'out.mp4'), 'w');
      try {
        const err = await copySamples(input, out, [Buffer.from('head')], ranges.cursor(), { buffers: [], chunkBytes: 64 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(BuiltinConvertError);
        expect((err as Error).message).toMatch(/^the input changed while it was converted/);
        expect((err as Error).message).toMatch(reason);
      } finally {
        await input.close();
        await out.close();
      }
    }
  });
});
