// #9 (F7, F8, F11): a car cut to 0 A while the cars start, on an estimate the next readings
// disprove (a ramp counted as building load until the cars' samples show it, the chargers' 32 A
// defaults still reserved), must not sit out the whole 2 min minimum pause while all four fit.
// The start-up replay of start-step-replay.ts with the configured minimum pause (120 s): cars with
// their own response and ramp, chargers at their 32 A default until the first profile reaches
// them, MeterValues every 2-10 s reported late, grid readings a few hundred ms old, and sometimes
// a building step during the start that still leaves room for four minimums.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { replayStart, type StartCase } from './start-step-replay.ts';

/** By then every pause at start-up has had its recheck window (30 s at these settings) and a response. */
const ALL_RUNNING_FROM_MS = 45_000;

const arbCar = fc.record({
  plugMs: fc.integer({ min: 1_000, max: 1_500 }),
  responseMs: fc.integer({ min: 1_000, max: 4_500 }),
  rampAps: fc.integer({ min: 5, max: 20 }),
  deliverMs: fc.integer({ min: 100, max: 3_000 }),
  sampleEveryS: fc.integer({ min: 2, max: 10 }),
  sampleOffsetMs: fc.integer({ min: 0, max: 9_000 }),
  reportLagMs: fc.integer({ min: 0, max: 3_000 }),
});

// Building after the step ≤ 34 A: 60.8 − 34 = 26.8 A, four cars at 6 A fit with 2.8 A to spare.
const arbCase: fc.Arbitrary<StartCase> = fc.record({
  cars: fc.array(arbCar, { minLength: 4, maxLength: 4 }),
  gridDelayMs: fc.integer({ min: 0, max: 900 }),
  buildingBeforeA: fc.integer({ min: 5, max: 15 }),
  buildingAfterA: fc.integer({ min: 5, max: 34 }),
  stepMs: fc.oneof(fc.integer({ min: 1_500, max: 9_000 }), fc.constant(Number.POSITIVE_INFINITY)),
  durationMs: fc.constant(50_000),
  cycleMs: fc.constantFrom(500, 1_000),
  meterEveryMs: fc.constantFrom(500, 1_000),
  minPauseMs: fc.constant(120_000),
});

/** Whether a car is offered less than its minimum at some moment after ALL_RUNNING_FROM_MS, and its car-seconds at 0 A after 20 s. */
function idleAfterStart(c: StartCase): { idleLate: boolean; zeroCarS: number } {
  let idleLate = false;
  let zeroCarS = 0;
  replayStart(c, (t) => {
    const idle = t.capsA.filter((a) => a < 6).length;
    if (t.tMs >= 20_000) zeroCarS += (idle * c.cycleMs) / 1000;
    if (t.tMs >= ALL_RUNNING_FROM_MS && idle > 0) idleLate = true;
  });
  return { idleLate, zeroCarS };
}

describe('a car cut to 0 A at start-up while all four fit (#9 F7/F8/F11)', () => {
  // 150 seeded start-ups. Before the recheck (optimizer/pause-recheck.ts) 139 of them still had a car
  // at 0 A 45 s after the start, 13,615 car-seconds at 0 A after 20 s; with it 2 and 100. Those two
  // (the known rest): a car restarted early is cut again within seconds, while the others' raises
  // are still reserved and the estimate is 2.5 A high as the restarted car ramps (once per 10 min:
  // that second pause runs its 2 min).
  it('is running again once the readings show its minimum fits, not after the 2 min minimum pause', () => {
    const cases = fc.sample(arbCase, { numRuns: 150, seed: 7 });
    let late = 0;
    let zeroCarS = 0;
    for (const c of cases) {
      const out = idleAfterStart(c);
      if (out.idleLate) late++;
      zeroCarS += out.zeroCarS;
    }
    expect(late, 'start-ups with a car below its minimum 45 s after the start').toBeLessThanOrEqual(3);
    expect(zeroCarS, 'car-seconds at 0 A from 20 s on').toBeLessThanOrEqual(200);
  }, 120_000);
});
