// #10 measured case: after `kill -9` of the EMS the chargers must fall back to the per-charger
// static share, not to 0 A (the measured bug: two of three charging cars fell to a 0 A default
// while the static share allowed 9.5 A each). A 40 A row with four chargers (static share about
// 38 / 4 = 9.5 A after the EMS's margin), three cars charging at about 12.7 A each, the fourth
// charger idle (grid 100 A, building 10 A elsewhere). After the kill the chargers' own clocks run
// 20× faster than real time past every profile duration and 2 min more (nobody else reads them while
// the EMS is dead), so the site's 100 ms physics step sees every moment their profiles change.
// Asserted: at every moment a profile starts or ends, the limits the four chargers hold add up to
// ≤ 40 A (the idle one counts at what a car arriving there would get); the true row current stays
// ≤ 40 A; each charging car ends at a share ≥ 6 A, not 0.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { Ev } from '../fixtures/independent/ev.ts';
import { until } from '../fixtures/independent/ems-runner.ts';
import { heldAtBoundaries, runChargerClocks } from '../fixtures/independent/charger-time.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { elapse, figures, round1 } from '../fixtures/independent/site.ts';
import { report } from './acceptance-report.ts';

const ROW_A = 40;
const AFTER_LAST_MS = 130_000;

describeWithPeer('pymodbus', hasPythonModule('pymodbus'), 'acceptance #10: kill -9 falls back to the static share', () => {
  const rig = new Rig();
  const cars = [1, 2, 3].map((n) => new Ev({ name: `car${n}`, maxA: 32, phases: 3, responseDelayS: [1, 2, 3][n - 1]! }));
  beforeAll(async () => {
    await rig.start({
      gridMaxA: 100,
      circuits: [{ id: 'row', maxCurrent: ROW_A }],
      chargers: ['CP1', 'CP2', 'CP3', 'CP4'].map((id) => ({ id, circuit: 'row' })),
      buildingA: [10, 10, 10],
    });
    await Promise.all(cars.map((car, i) => rig.site.chargers[i]!.plugIn(car, `TAG${i + 1}`)));
    await until(() => cars.every((c) => c.drawA >= 6), 'three cars charging', 45_000);
  }, 180_000);
  afterAll(() => rig.stop());

  it('holds a share ≥ 6 A per charging car and ≤ 40 A in total from the kill past every duration', async () => {
    await elapse(12_000); // the cars settle on their shares (car response + a MeterValues period)
    const cps = rig.site.chargers;
    const beforePilots = cps.map((cp) => round1(cp.pilotA));
    const killMs = Date.now();
    await rig.ems.killHard();
    const chargerNowMs = cps[0]!.nowMs();
    const lastBoundaryMs = Math.max(chargerNowMs, ...cps.flatMap((cp) => cp.book.boundariesAfter(chargerNowMs)));
    const held = heldAtBoundaries(cps, chargerNowMs, lastBoundaryMs + AFTER_LAST_MS);
    await runChargerClocks(cps, lastBoundaryMs - chargerNowMs + AFTER_LAST_MS, 20);
    await elapse(6_000); // the slowest car follows the last change
    const after = rig.site.window(killMs, Date.now());
    const row = figures(after, (s) => s.circuitA.row ?? [0, 0, 0], ROW_A);
    const endPilots = cps.map((cp) => round1(cp.pilotA));
    const lowestPilots = cps.slice(0, 3).map((cp) => round1(Math.min(...after.map((s) => s.pilotA[cp.id]!))));
    report('ems-kill-static-share', {
      beforePilots,
      endPilots,
      lowestPilots,
      row,
      chargerTimeRunS: round1((lastBoundaryMs - chargerNowMs + AFTER_LAST_MS) / 1000),
      held: held.map((h) => `${h.atS}s:${h.limitsA.join('/')}`),
    });
    for (const h of held) expect(h.sumA, `limits held at +${h.atS} s: ${h.limitsA.join('/')}`).toBeLessThanOrEqual(ROW_A);
    expect(row.maxA, 'true row current').toBeLessThanOrEqual(ROW_A);
    for (let i = 0; i < 3; i++) expect(endPilots[i], `${cps[i]!.id} falls back to a share, not 0`).toBeGreaterThanOrEqual(6);
    for (let i = 0; i < 3; i++) expect(cars[i]!.drawA, `car${i + 1} still charges`).toBeGreaterThanOrEqual(6);
  }, 90_000);
});
