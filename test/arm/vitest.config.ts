// Vitest run by Node's arm64 build under qemu (scripts/test-arm.sh): the pure format code's tests, H.264 parsing and the MP4 muxer.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: [
      'test/common/h264/*.test.ts',
      'test/common/mp4/*.test.ts',
      // The muxer end to end: real x264 files converted and checked with ffprobe.
      'test/postproc/convert/{builtin,variable-timing}.test.ts',
    ],
    // Without binfmt_misc the emulated node cannot start process.execPath (an ARM binary) as a child,
    // so test files run in worker threads, not forked processes; ffmpeg/ffprobe children are the host's.
    pool: 'threads',
    maxWorkers: 2,
    // Emulation makes JavaScript 5-20x slower; a limit is there to end a hang, not to measure speed.
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
