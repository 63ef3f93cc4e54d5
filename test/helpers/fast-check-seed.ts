// Vitest setup file: every fast-check property that names no seed of its own runs on this one, so a
// CI run explores exactly what the last local run did and a failure is reproduced by rerunning it.
// Explore other inputs on purpose with FC_SEED=<n> (the failure report prints the seed and path).
import fc from 'fast-check';

const seed = Number(process.env.FC_SEED ?? 20_261_207);
if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer, got ${process.env.FC_SEED}`);
fc.configureGlobal({ seed });
