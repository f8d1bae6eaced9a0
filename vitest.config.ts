import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'reference-broker/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // One private temporary folder for the whole run, removed at its end; leftovers are named (test/helpers).
    globalSetup: ['./test/helpers/global-temp.ts'],
  },
});
