import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Bounds, not expectations: a test states its own waits (each failing with what it waited for).
    // At load 30-40 on 2 cores a test that starts an app, a peer or a browser takes 3-5x its quiet
    // time (measured 2026-12-07: `ems run` start-up 11 s wall for 3 s CPU; browser tests 50-105 s).
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // fast-check properties without a seed of their own get a fixed one (FC_SEED overrides).
    setupFiles: ['test/helpers/fast-check-seed.ts'],
    // Many files wait on real time (real processes, peers, cars with their own timing), not on CPU:
    // at least two run at once, also on a 2-core machine (vitest's default there is one).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: ['default'],
  },
});
