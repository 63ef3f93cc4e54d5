import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // fast-check properties without a seed of their own get a fixed one (FC_SEED overrides).
    setupFiles: ['test/helpers/fast-check-seed.ts'],
    // Many files wait on real time (real processes, peers, cars with their own timing), not on CPU:
    // at least two run at once, also on a 2-core machine (vitest's default there is one).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: ['default'],
  },
});
