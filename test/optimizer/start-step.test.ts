// #9 F7: the building steps up while four cars start (findings.md F7: 10 → 30 A per phase as the
// first car draws on its charger's default; the EMS kept a 10 A building, set 12.4-12.7 A × 4 and the
// true grid reached 77-81 A on the 64 A fuse). A pure decide() replay of the start (see
// start-step-replay.ts): cars with their own response and ramp, chargers at their 32 A default
// until the first profile reaches them, MeterValues every 2-10 s reported late, grid readings a few
// hundred ms old, the step at a random moment of the start.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildingAt, FUSE_A, replayStart, type StartCase } from './start-step-replay.ts';

/** How far below the truth the building load decide() counts may be, A. */
const TOLERANCE_A = 1.5;
/** carResponseMs in the replay's params: after it the step must be in the count. */
const RESPONSE_MS = 5_000;

const arbCar = fc.record({
  plugMs: fc.integer({ min: 1_000, max: 1_500 }),
  responseMs: fc.integer({ min: 1_000, max: 4_500 }),
  rampAps: fc.integer({ min: 5, max: 20 }),
  deliverMs: fc.integer({ min: 100, max: 3_000 }),
  sampleEveryS: fc.integer({ min: 2, max: 10 }),
  sampleOffsetMs: fc.integer({ min: 0, max: 9_000 }),
  reportLagMs: fc.integer({ min: 0, max: 3_000 }),
});

export const arbCase: fc.Arbitrary<StartCase> = fc.record({
  cars: fc.array(arbCar, { minLength: 4, maxLength: 4 }),
  gridDelayMs: fc.integer({ min: 0, max: 900 }),
  buildingBeforeA: fc.integer({ min: 5, max: 15 }),
  buildingAfterA: fc.integer({ min: 20, max: 35 }),
  stepMs: fc.integer({ min: 1_500, max: 9_000 }),
  durationMs: fc.constant(30_000),
  cycleMs: fc.constantFrom(500, 1_000),
  meterEveryMs: fc.constantFrom(500, 1_000),
});

/** The checks: [what, at s, counted/expected] of the first failure, or undefined. */
function check(c: StartCase): string | undefined {
  let failure: string | undefined;
  replayStart(c, (t) => {
    if (failure || t.decision.failsafe) return;
    const sinceStepMs = t.tMs - c.stepMs;
    if (sinceStepMs < RESPONSE_MS + c.gridDelayMs + c.meterEveryMs) return;
    const counted = Math.min(t.decision.headroom.buildingA[0], t.decision.headroom.buildingA[1], t.decision.headroom.buildingA[2]);
    if (counted < t.buildingTrueA - TOLERANCE_A) failure = `building counted ${counted.toFixed(1)} A for ${t.buildingTrueA} A at ${(t.tMs / 1000).toFixed(1)} s (step at ${(c.stepMs / 1000).toFixed(1)} s)`;
    const ifTaken = buildingAt(c, t.tMs) + t.capsA.reduce((a, b) => a + b, 0);
    if (!failure && ifTaken > FUSE_A) failure = `caps ${t.capsA.map((a) => a.toFixed(1)).join('/')} put the site at ${ifTaken.toFixed(1)} A at ${(t.tMs / 1000).toFixed(1)} s`;
  });
  return failure;
}

describe('a building step while the cars start (#9 F7)', () => {
  // Found by the property below (seed 42), the shape of the rig's F7 runs: the building steps 6 → 25 A
  // half a second after the first plug-in, while the chargers' 32 A defaults are still in force and
  // no car has reported a sample. The rise was credited to the four starting cars (they could have
  // ramped that much), the level stayed at 6 A and, once the defaults' holds ran out, the caps were
  // set for a 6 A building: 19 A counted low and 11.2 A above the fuse if the cars take their caps.
  it('does not credit a step to starting cars that have not reported a draw yet', () => {
    const c: StartCase = {
      cars: [
        { plugMs: 1369, responseMs: 4176, rampAps: 8, deliverMs: 1683, sampleEveryS: 2, sampleOffsetMs: 9000, reportLagMs: 90 },
        { plugMs: 1006, responseMs: 4492, rampAps: 8, deliverMs: 2995, sampleEveryS: 8, sampleOffsetMs: 8993, reportLagMs: 3 },
        { plugMs: 1358, responseMs: 1002, rampAps: 10, deliverMs: 2998, sampleEveryS: 10, sampleOffsetMs: 9, reportLagMs: 1924 },
        { plugMs: 1052, responseMs: 2350, rampAps: 8, deliverMs: 520, sampleEveryS: 5, sampleOffsetMs: 8895, reportLagMs: 7 },
      ],
      gridDelayMs: 7,
      buildingBeforeA: 6,
      buildingAfterA: 25,
      stepMs: 1508,
      durationMs: 30_000,
      cycleMs: 500,
      meterEveryMs: 500,
    };
    expect(check(c)).toBeUndefined();
  });

  // Still failing (32 of 200 seeded cases, seed 42; 55 of 200 before the fix above): a step that lands
  // while cars that drew on their defaults are being cut to their first caps (the meter barely
  // moves: the building rises as the cars fall), or while cars that reported 0 A at plug-in ramp up.
  // The bracket then holds both readings, the last level stands, and nothing re-checks it when the
  // cars' next samples arrive (note-s5 #9 "the start-up credit is not re-checked", s6-loop's per-car
  // credit). Worst seen: 21 A counted low.
  it.fails('#9 F7: counts the step as building load once a car response has passed, and the caps fit the fuse with it', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const failure = check(c);
        expect(failure, JSON.stringify(c)).toBeUndefined();
      }),
      { numRuns: 200, seed: 42 },
    );
  });
});
