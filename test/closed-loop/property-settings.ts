/** Total random cases over both property files; CI runs 10,000, a nightly run sets more. */
export const PROPERTY_RUNS = Number(process.env.CLOSED_LOOP_RUNS ?? 10_000);
export const PROPERTY_SEED = Number(process.env.CLOSED_LOOP_SEED ?? 9_009);
/**
 * Why the property still fails on today's EMS, or undefined once it holds. While set, the property
 * runs as `it.fails` (the suite stays green and still prints the tally).
 */
export const KNOWN_PROPERTY_FAILURE: string | undefined =
  'estimation (issue #9): measured 2026-12-06 on 5,000 cases (seed 1009012): 651 fail; 47 with EMS-caused overshoot (929 A·s in all; a load step while cars ramp, corrected one car response past the reaction window), 129 with flapping caps, 558 under 95 % headroom use (lending waits control.unusedHoldMs, 30 s, in 45 s cases)';
