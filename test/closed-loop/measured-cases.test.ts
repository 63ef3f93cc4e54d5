// Issue #9's measured cases, replayed on the plant against the EMS's real control path. Each
// asserts what the site must show; figures are printed either way. A case marked `knownFailure`
// still fails on today's EMS for the reason given (the estimation work of issue #9, branch
// w9-estimate); it runs as `it.fails` so the suite stays green, and flips to `it` once fixed.
import { describe, expect, it } from 'vitest';
import { closedLoopProblems, figures, MIN_HEADROOM_USE, OVERSHOOT_EPSILON_AS, type Expectations } from './closed-loop-checks.ts';
import { runClosedLoop } from './harness.ts';
import * as cases from './measured-cases.ts';
import type { MeasuredCase } from './measured-cases.ts';
import { createOracleStep } from './oracle-step.ts';

interface Row {
  make: () => MeasuredCase;
  expect: Expectations;
  /** Why it still fails on today's EMS; undefined = must pass. */
  knownFailure?: string;
}

const rows: Row[] = [
  { make: cases.loadStep, expect: { headroom: true } },
  { make: cases.fourCarsWaiting, expect: { headroom: true, noStarving: true } },
  { make: cases.lowerGridLimit, expect: { headroom: true, noPauses: true } },
  { make: cases.fullCar, expect: { headroom: true, fullRelease: true } },
  { make: cases.singlePhaseCar, expect: { headroom: true, noStarving: true } },
  { make: cases.overReportingCharger, expect: {} },
  { make: () => cases.implausibleGridMeter('negative'), expect: {} },
  // Was 408 A·s (77 A on the 63 A fuse from 5.7 to 15.8 s) until the meter plausibility gate: a reading too small to tell from one 100× too small is not trusted until it shows the cars' draw.
  { make: () => cases.implausibleGridMeter('scale'), expect: {} },
  { make: () => cases.implausibleGridMeter('stuck'), expect: {} },
  // The same stuck meter on the product's default control.capHoldMs (0; the harness runs 10 s).
  // Cause, in optimizer/site-view.ts (s6-loop): the building estimate falls to 0 on grid readings
  // below the chargers' sampled draw (the meter stuck at 20 A, the three cars sampled at 13 A each
  // = 39 A from 16 s), while the meter gate calls the same readings suspect only at 22.2 s. Every
  // raise made in between overshoots: with a 10 s hold the raise waits 15 s (until ~25 s) and it
  // passes by luck of timing; with capHoldMs 5 s the caps go to 20 A at 20.2 s and the site reads
  // 72 A on 63 A (43.8 A·s); with 0, 209.1 A·s. A reading below what the cars are sampled drawing
  // (on a site that cannot export) should not lower the building estimate at all.
  {
    make: () => ({ ...cases.implausibleGridMeter('stuck'), ems: { control: { capHoldMs: 0 } } }),
    expect: {},
    knownFailure: '209.1 A·s with control.capHoldMs 0: the building estimate falls on grid readings below the cars\' sampled draw before the meter gate flags them (optimizer/site-view.ts)',
  },
  { make: cases.handover, expect: { headroom: true, noPauses: true } },
  { make: cases.chargerDropOut, expect: { headroom: true, noPauses: true } },
  { make: cases.refusingCharger, expect: { noPauses: true } },
];

describe('the closed loop on the measured cases of issue #9', () => {
  for (const row of rows) {
    const c = row.make();
    const test = row.knownFailure ? it.fails : it;
    test(`${c.name}${row.knownFailure ? ` [known failure: ${row.knownFailure}]` : ''}`, () => {
      const report = runClosedLoop(c.scenario, { ems: c.ems });
      console.info(`${c.name}: ${figures(report)}`);
      expect(closedLoopProblems(report, row.expect)).toEqual([]);
    });
  }
});

// The harness's own check: handed the truth at each decision (as the first wave's instant plants
// did), the same decide() keeps every limit on these cases and uses the headroom. So the failures
// above are the estimation's, and the harness can tell a good controller from a bad one.
describe('the closed-loop harness, with an oracle that hands decide() the truth', () => {
  const oracleRows: [string, () => MeasuredCase][] = [
    ['load step', cases.loadStep],
    ['four cars waiting', cases.fourCarsWaiting],
    ['lower grid limit', cases.lowerGridLimit],
    ['single-phase car', cases.singlePhaseCar],
    ['charger drop-out', cases.chargerDropOut],
  ];
  for (const [name, make] of oracleRows) {
    it(`measures no EMS-caused overshoot and at least 95 percent use: ${name}`, () => {
      const c = make();
      const report = runClosedLoop(c.scenario, { ems: c.ems, createStep: createOracleStep });
      expect(report.emsCausedAs, figures(report)).toBeLessThanOrEqual(OVERSHOOT_EPSILON_AS);
      expect(report.headroomUse, figures(report)).toBeGreaterThanOrEqual(MIN_HEADROOM_USE);
    });
  }

  it('keeps the handover within limits once decide() waits for decreases to reach the cars (handover.ts)', () => {
    const c = cases.handover();
    const report = runClosedLoop(c.scenario, { ems: c.ems, createStep: createOracleStep });
    expect(report.emsCausedAs, figures(report)).toBeLessThanOrEqual(OVERSHOOT_EPSILON_AS);
  });
});
