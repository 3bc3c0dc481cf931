// Vitest settings: tests live in test/, mirror src/, and may start real servers and children.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: end-to-end tests start cameras, ffmpeg and servers; keep a little headroom.
    maxWorkers: 2,
  },
});
