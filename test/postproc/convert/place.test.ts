// Every converter (builtin, ffmpeg, MP4Box) reaches its output only through `place`: a refusal there leaves the existing MP4 untouched.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../src/common/paths.js';
import { findOnPath } from '../../../src/common/find-on-path.js';
import { convertFile, type ConverterName } from '../../../src/postproc/convert/index.js';
import { Mp4TakenError } from '../../../src/postproc/mp4-sources.js';
import { makeTmp, removeTmp } from '../../helpers/env.js';
import { byName } from '../../common/h264/fixtures.js';
import { listDir, streamFacts } from '../../common/mp4/mp4-facts.js';

// The GPAC build in shared/tools (Debian Bookworm has no gpac package), as variable-timing.test.ts.
const env = { ...process.env, PATH: `${path.join(PROJECT_ROOT, '..', 'shared', 'tools', 'gpac')}:${process.env.PATH ?? ''}` };
const HAS = { builtin: true, ffmpeg: findOnPath('ffmpeg', env) !== undefined, mp4box: findOnPath('MP4Box', env) !== undefined };

let tmp: string;
beforeEach(() => {
  tmp = makeTmp('convert-place-');
});
afterEach(() => removeTmp(tmp));

describe.each<ConverterName>(['builtin', 'ffmpeg', 'mp4box'])('%s', (converter) => {
  const fixture = byName('baseline-160x120.h264');

  it.skipIf(!HAS[converter])('hands place a complete MP4 beside the output, before the output exists, and writes nothing else there', async () => {
    const output = path.join(tmp, 'out.mp4');
    const handed: string[] = [];
    await convertFile(converter, fixture.file, output, {
      fps: 10, rotation: 90, env,
      place: async (finished) => {
        handed.push(finished);
        expect(path.dirname(finished)).toBe(tmp);
        expect(fs.existsSync(output)).toBe(false);
        expect(streamFacts(finished).frames).toBe(fixture.frames);
        await fs.promises.rename(finished, path.join(tmp, 'placed.mp4'));
      },
    });
    expect(handed).toHaveLength(1);
    expect(listDir(tmp)).toEqual(['placed.mp4']);
  });

  it.skipIf(!HAS[converter])('a refusal by place leaves the existing output untouched, removes the temporary file and is thrown as it is', async () => {
    const output = path.join(tmp, 'out.mp4');
    fs.writeFileSync(output, 'the MP4 of another recording');
    const refusal = new Mp4TakenError('taken');
    const err = await convertFile(converter, fixture.file, output, { fps: 10, rotation: 0, env, place: () => Promise.reject(refusal) }).catch((e: unknown) => e);
    expect(err).toBe(refusal);
    expect(fs.readFileSync(output, 'utf8')).toBe('the MP4 of another recording');
    expect(listDir(tmp)).toEqual(['out.mp4']);
  });
});
