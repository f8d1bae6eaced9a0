import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'reference-broker/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The end-to-end tests mostly wait on sockets and timers: four files at a time keep 2 cores busy without
    // starving the brokers they start (one worker per core took 6.5 minutes).
    maxWorkers: 4,
    // One private temporary folder for the whole run, removed at its end; leftovers are named (test/helpers).
    globalSetup: ['./test/helpers/global-temp.ts'],
  },
});
