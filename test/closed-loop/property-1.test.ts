// The closed-loop property (issue #9), half 1 of the CI count: random fuse trees, chargers, cars,
// timings, meter periods and building steps; 0 EMS-caused violations, ≥ 95 % headroom use in steady
// state, no flapping. CLOSED_LOOP_RUNS sets the total count (default 10,000; more for a nightly run).
import { describe, expect, it } from 'vitest';
import { describeTally, shrinkAndSave, tallyCases } from './property-run.ts';
import { KNOWN_PROPERTY_FAILURE, PROPERTY_RUNS, PROPERTY_SEED } from './property-settings.ts';

const seed = PROPERTY_SEED + 1 * 1_000_003;
const runs = Math.ceil(PROPERTY_RUNS / 2);
const test = KNOWN_PROPERTY_FAILURE ? it.fails : it;

describe('the closed loop over random sites', () => {
  test(`keeps every limit, uses the headroom and does not flap (${runs} cases, seed ${seed})${KNOWN_PROPERTY_FAILURE ? ` [known failure: ${KNOWN_PROPERTY_FAILURE}]` : ''}`, { timeout: 3_600_000 }, () => {
    const tally = tallyCases(seed, runs);
    console.info(describeTally(tally));
    if (tally.firstFailure) console.info(`first failure: ${tally.firstFailure.problems.join('; ')} | ${tally.firstFailure.figures} | knobs ${JSON.stringify(tally.firstFailure.knobs)}`);
    if (tally.failing > 0) console.info(shrinkAndSave(seed, runs, KNOWN_PROPERTY_FAILURE));
    expect(tally.failing, describeTally(tally)).toBe(0);
  });
});
