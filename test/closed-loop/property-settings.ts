/** Total random cases over both property files; CI runs 10,000, a nightly run sets more. */
export const PROPERTY_RUNS = Number(process.env.CLOSED_LOOP_RUNS ?? 10_000);
export const PROPERTY_SEED = Number(process.env.CLOSED_LOOP_SEED ?? 9_009);
/**
 * Why the property still fails on today's EMS, or undefined once it holds. While set, the property
 * runs as `it.fails` (the suite stays green and still prints the tally).
 */
export const KNOWN_PROPERTY_FAILURE: string | undefined =
  'headroom and the last overshoot cases (issue #9): measured 2026-12-06 13:30 on the 10,000 CI cases: 1,330 fail; 5 with EMS-caused overshoot (49.6 A·s in all, was 95 cases and 1,463 A·s), 61 with flapping caps, 1,309 under 95 % headroom use (short cases: lending waits control.unusedHoldMs; a cut that reaches a car after the charger\'s apply delay plus the car response, beyond control.carResponseS, over-corrects the building load)';
