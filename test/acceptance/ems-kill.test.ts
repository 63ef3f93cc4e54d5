// #10 measured case: the EMS dies (kill -9) while the operator has paused one car, two others
// charge and a charger that refuses profiles (NotSupported, 16 A) charges a car at full current, all
// on a 50 A row (grid 100 A, building 10 A elsewhere). The chargers keep what they were
// sent and evaluate it on their own clocks; the test then moves their clocks past every profile
// duration (and a day on). At every moment a profile changes, and in real time with the cars
// following: the row stays within 50 A, the paused car stays at 0 A, and the charging cars fall back
// to a share, not to 0 A (the measured bug: the paused car drew 6 A 58 s after the kill; two of three
// charging cars fell to 0 A while a static share allowed 9.5 A each).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { Ev } from '../fixtures/independent/ev.ts';
import { until } from '../fixtures/independent/ems-runner.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { elapse, figures, round1 } from '../fixtures/independent/site.ts';
import { report } from './acceptance-report.ts';

const ROW_A = 50;
const DAY_MS = 86_400_000;

describeWithPeer('pymodbus', hasPythonModule('pymodbus'), 'acceptance #10: kill -9 of the EMS with a paused car', () => {
  const rig = new Rig();
  const cars = [1, 2, 3, 4].map((n) => new Ev({ name: `car${n}`, maxA: 32, phases: 3, responseDelayS: [1, 2, 3, 1][n - 1]! }));
  beforeAll(async () => {
    await rig.start({
      gridMaxA: 100,
      circuits: [{ id: 'row', maxCurrent: ROW_A }],
      chargers: [...['CP1', 'CP2', 'CP3'].map((id) => ({ id, circuit: 'row' })), { id: 'DUMB', maxA: 16, profiles: 'not-supported' as const, circuit: 'row' }],
      buildingA: [10, 10, 10],
    });
    await Promise.all(rig.site.chargers.map((cp, i) => cp.plugIn(cars[i]!, `TAG${i + 1}`)));
    await until(() => cars.every((c) => c.drawA >= 6), 'all four cars charging', 45_000);
  }, 120_000);
  afterAll(() => rig.stop());

  it('leaves the chargers safe on their own past every duration: row ≤ 50 A, paused car at 0 A, others charging', async () => {
    const paused = await rig.ems.request('PATCH', '/api/v1/connectors/CP1/1/session', { paused: true });
    expect(paused.status).toBe(200);
    await until(() => cars[0]!.drawA === 0, 'the paused car at 0 A', 20_000);
    await elapse(10_000); // the others take the freed share
    const killMs = Date.now();
    await rig.ems.killHard();
    const cps = rig.site.chargers;
    // Every moment a profile starts or ends on any charger, from now to a day on (charger clocks).
    const now = Date.now();
    const moments = [...new Set(cps.flatMap((cp) => cp.book.boundariesAfter(now)).concat([now, now + DAY_MS]))].sort((a, b) => a - b);
    const worst = moments.map((t) => {
      const limits = cps.map((cp) => Math.min(cp.maxA, cp.limitA(t)));
      return { atS: round1((t - now) / 1000), limits, sum: limits.reduce((a, b) => a + b, 0) };
    });
    // In real time, with the cars following: now, past the longest duration, a day on.
    const longestS = Math.max(0, ...moments.map((t) => (t - now) / 1000).filter((s) => s < DAY_MS / 1000));
    await elapse(6_000);
    for (const cp of cps) cp.clockOffsetMs = (longestS + 10) * 1000;
    await elapse(6_000);
    for (const cp of cps) cp.clockOffsetMs = DAY_MS;
    await elapse(6_000);
    const after = rig.site.window(killMs, Date.now());
    const row = figures(after, (s) => s.circuitA.row ?? [0, 0, 0], ROW_A);
    const pausedMaxA = round1(Math.max(...after.map((s) => s.drawA.CP1!)));
    const endPilots = cps.map((cp) => round1(cp.pilotA));
    report('ems-kill', { row, pausedMaxA, endPilots, longestS: round1(longestS), moments: worst.map((w) => `${w.atS}s:${w.limits.map(round1).join('/')}`) });
    for (const w of worst) {
      expect(w.sum, `sum of limits in force at +${w.atS} s`).toBeLessThanOrEqual(ROW_A);
      expect(w.limits[0], `paused CP1 at +${w.atS} s`).toBe(0);
    }
    expect(row.maxA, 'true row current').toBeLessThanOrEqual(ROW_A);
    expect(pausedMaxA, 'the paused car never drew').toBe(0);
    expect(endPilots[1], 'CP2 falls back to a share, not 0').toBeGreaterThanOrEqual(6);
    expect(endPilots[2], 'CP3 falls back to a share, not 0').toBeGreaterThanOrEqual(6);
  }, 90_000);
});
