// #10: after `kill -9` of the EMS each charger falls back to its static share computed with the
// uncontrollable chargers at their max. A 40 A row with a 2.0.1 station that answers
// SetChargingProfile with CALLERROR NotImplemented (12 A, its car charging at 12 A throughout) and
// three 1.6J chargers with cars (grid 100 A, building 10 A elsewhere): the static share of each
// 1.6J charger is about (38 − 12) / 3 = 8.7 A. After the kill the 1.6J chargers' clocks run 20×
// faster than real time past every profile duration and 2 min more (nobody else reads them while
// the EMS is dead). Asserted: at every moment a profile starts or ends, the limits the 1.6J
// chargers hold plus the station's 12 A add up to ≤ 40 A; the true row stays ≤ 40 A; each 1.6J car
// ends at ≥ 6 A, not 0.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { Ev } from '../fixtures/independent/ev.ts';
import { until } from '../fixtures/independent/ems-runner.ts';
import { heldAtBoundaries, runChargerClocks } from '../fixtures/independent/charger-time.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { elapse, figures, round1 } from '../fixtures/independent/site.ts';
import { report } from './acceptance-report.ts';

const ROW_A = 40;
const STATION_MAX_A = 12;
const AFTER_LAST_MS = 130_000;

describeWithPeer('pymodbus', hasPythonModule('pymodbus'), 'acceptance #10: kill -9 next to an uncontrollable 2.0.1 station', () => {
  const rig = new Rig();
  const cars = [1, 2, 3].map((n) => new Ev({ name: `car${n}`, maxA: 32, phases: 3, responseDelayS: [1, 2, 3][n - 1]! }));
  const stationCar = new Ev({ name: 'car4', maxA: 32, phases: 3, responseDelayS: 1 });
  beforeAll(async () => {
    await rig.start({
      gridMaxA: 100,
      circuits: [{ id: 'row', maxCurrent: ROW_A }],
      chargers: ['CP1', 'CP2', 'CP3'].map((id) => ({ id, circuit: 'row' })),
      stations: [{ id: 'ST1', maxA: STATION_MAX_A, circuit: 'row' }],
      idTags: ['TAG1', 'TAG2', 'TAG3', 'TAG4'],
      buildingA: [10, 10, 10],
    });
    await rig.station('ST1').plugIn(stationCar, 'TAG4');
    await Promise.all(cars.map((car, i) => rig.site.chargers[i]!.plugIn(car, `TAG${i + 1}`)));
    await until(() => cars.every((c) => c.drawA >= 6) && stationCar.drawA >= STATION_MAX_A - 0.5, 'four cars charging', 45_000);
  }, 180_000);
  afterAll(() => rig.stop());

  it('holds each 1.6J charger at a share ≥ 6 A and the row within 40 A past every duration', async () => {
    await elapse(10_000);
    const cps = rig.site.chargers;
    const beforePilots = rig.site.points.map((p) => round1(p.pilotA));
    const killMs = Date.now();
    await rig.ems.killHard();
    const chargerNowMs = cps[0]!.nowMs();
    const lastBoundaryMs = Math.max(chargerNowMs, ...cps.flatMap((cp) => cp.book.boundariesAfter(chargerNowMs)));
    const held = heldAtBoundaries(cps, chargerNowMs, lastBoundaryMs + AFTER_LAST_MS);
    await runChargerClocks(cps, lastBoundaryMs - chargerNowMs + AFTER_LAST_MS, 20);
    await elapse(6_000);
    const after = rig.site.window(killMs, Date.now());
    const row = figures(after, (s) => s.circuitA.row ?? [0, 0, 0], ROW_A);
    const endPilots = rig.site.points.map((p) => round1(p.pilotA));
    report('ems-kill-static-share-201', {
      beforePilots,
      endPilots,
      row,
      held: held.map((h) => `${h.atS}s:${h.limitsA.join('/')}+${STATION_MAX_A}`),
    });
    for (const h of held) expect(h.sumA + STATION_MAX_A, `limits held at +${h.atS} s: ${h.limitsA.join('/')} + ${STATION_MAX_A}`).toBeLessThanOrEqual(ROW_A);
    expect(row.maxA, 'true row current').toBeLessThanOrEqual(ROW_A);
    for (let i = 0; i < 3; i++) expect(endPilots[i], `${cps[i]!.id} falls back to a share, not 0`).toBeGreaterThanOrEqual(6);
  }, 90_000);
});
