/** Total random cases over both property files; CI runs 10,000, a nightly run sets more. */
export const PROPERTY_RUNS = Number(process.env.CLOSED_LOOP_RUNS ?? 10_000);
export const PROPERTY_SEED = Number(process.env.CLOSED_LOOP_SEED ?? 9_009);
/**
 * Why the property still fails on today's EMS, or undefined once it holds. While set, the property
 * runs as `it.fails` (the suite stays green and still prints the tally).
 */
export const KNOWN_PROPERTY_FAILURE: string | undefined =
  'estimation (issue #9): caps still flap in steady state (small decreases tracking a tapering or lazy car every cycle) and some random sites stay under 95 % headroom use';
