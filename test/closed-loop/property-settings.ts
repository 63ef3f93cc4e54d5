/** Total random cases over both property files; CI runs 10,000, a nightly run sets more. */
export const PROPERTY_RUNS = Number(process.env.CLOSED_LOOP_RUNS ?? 10_000);
export const PROPERTY_SEED = Number(process.env.CLOSED_LOOP_SEED ?? 9_009);
/**
 * Why the property still fails on today's EMS, or undefined once it holds. While set, the property
 * runs as `it.fails` (the suite stays green and still prints the tally).
 */
export const KNOWN_PROPERTY_FAILURE: string | undefined =
  "headroom, flapping and the last overshoot cases (issue #9): measured 2026-12-06 17:30 on the 10,000 CI cases (main 0fa2577): 1,475 fail; 6 with EMS-caused overshoot (172.6 A·s in all; 16:35: 8 cases, 77.9 A·s; 13:30: 5 cases, 49.6 A·s), 116 with flapping caps (16:35: 86), 1,433 under 95 % headroom use (16:35: 1,193) (short cases: lending waits control.unusedHoldMs; a cut that reaches a car after the charger's apply delay plus the car response, beyond control.carResponseS, over-corrects the building load; the meter gate holds a quiet site's first car at the failsafe share until the meter is confirmed, also when it reads 0.00 A)";
