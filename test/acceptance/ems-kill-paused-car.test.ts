// #10 measured case: a car paused by the operator must stay at 0 A after `kill -9` of the EMS, also
// once its TxProfile's duration is over (the measured bug: it started drawing 6 A 58 s after the
// kill, because its TxProfile expired into the connector default set while the connector was idle).
// A 40 A row with two chargers (grid 100 A, building 10 A elsewhere): CP2 charges from the start;
// CP1 stays idle for 20 s (so the EMS gives the idle connector its default), then its car arrives,
// charges, and the operator pauses it through the API. After the kill the chargers' own clocks run
// 20× faster than real time past every profile duration and 2 min more (nobody else reads them while
// the EMS is dead), so the site's 100 ms physics step sees every moment their profiles change, and
// the car acts on any pilot change after its own real response time.
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

describeWithPeer('pymodbus', hasPythonModule('pymodbus'), 'acceptance #10: kill -9 with an operator-paused car', () => {
  const rig = new Rig();
  const pausedCar = new Ev({ name: 'paused', maxA: 32, phases: 3, responseDelayS: 1 });
  const otherCar = new Ev({ name: 'other', maxA: 32, phases: 3, responseDelayS: 2 });
  beforeAll(async () => {
    await rig.start({
      gridMaxA: 100,
      circuits: [{ id: 'row', maxCurrent: ROW_A }],
      chargers: [{ id: 'CP1', circuit: 'row' }, { id: 'CP2', circuit: 'row' }],
      buildingA: [10, 10, 10],
    });
    await rig.charger('CP2').plugIn(otherCar, 'TAG2');
    await until(() => otherCar.drawA >= 6, 'CP2 charging', 45_000);
    await elapse(20_000); // CP1 idle: the EMS sets up its connector default
    await rig.charger('CP1').plugIn(pausedCar, 'TAG1');
    await until(() => pausedCar.drawA >= 6, 'CP1 charging', 45_000);
  }, 180_000);
  afterAll(() => rig.stop());

  it('keeps the paused car at 0 A past every duration and 2 min more of charger time', async () => {
    const paused = await rig.ems.request('PATCH', '/api/v1/connectors/CP1/1/session', { paused: true });
    expect(paused.status).toBe(200);
    await until(() => pausedCar.drawA === 0, 'the paused car at 0 A', 20_000);
    await elapse(8_000); // CP2 takes the freed share
    const cps = rig.site.chargers;
    const killMs = Date.now();
    await rig.ems.killHard();
    const chargerNowMs = cps[0]!.nowMs();
    const lastBoundaryMs = Math.max(chargerNowMs, ...cps.flatMap((cp) => cp.book.boundariesAfter(chargerNowMs)));
    const held = heldAtBoundaries(cps, chargerNowMs, lastBoundaryMs + AFTER_LAST_MS);
    await runChargerClocks(cps, lastBoundaryMs - chargerNowMs + AFTER_LAST_MS, 20);
    await elapse(4_000); // longer than the paused car's response
    const after = rig.site.window(killMs, Date.now());
    const row = figures(after, (s) => s.circuitA.row ?? [0, 0, 0], ROW_A);
    const pausedPilotMaxA = round1(Math.max(...after.map((s) => s.pilotA.CP1!)));
    const pausedDrawMaxA = round1(Math.max(...after.map((s) => s.drawA.CP1!)));
    report('ems-kill-paused-car', {
      pausedPilotMaxA,
      pausedDrawMaxA,
      cp2EndPilotA: round1(rig.charger('CP2').pilotA),
      row,
      chargerTimeRunS: round1((lastBoundaryMs - chargerNowMs + AFTER_LAST_MS) / 1000),
      held: held.map((h) => `${h.atS}s:${h.limitsA.join('/')}`),
      cp1Profiles: rig.charger('CP1').book.profiles.map((p) => `${p.purpose}@${p.stackLevel}:${p.periods[0]?.limit}${p.durationS ? `/${p.durationS}s` : ''}`),
    });
    for (const h of held) {
      expect(h.limitsA[0], `the paused CP1 holds 0 A at +${h.atS} s`).toBe(0);
      expect(h.sumA, `limits held at +${h.atS} s: ${h.limitsA.join('/')}`).toBeLessThanOrEqual(ROW_A);
    }
    expect(pausedPilotMaxA, 'the paused car was never offered current').toBe(0);
    expect(pausedDrawMaxA, 'the paused car never drew').toBe(0);
    expect(row.maxA, 'true row current').toBeLessThanOrEqual(ROW_A);
  }, 90_000);
});
