// The restart case shared by ems-restart-sigterm.test.ts and ems-restart-sigkill.test.ts (one
// file each, so each stays within about 2 min on a loaded machine).
// #10 measured case: after a restart of the EMS every connector was reserved at 32 A and the
// first-come session was paused for 2 min while later sessions resumed. A 40 A row with three
// chargers (grid 100 A, building 10 A elsewhere), priority fcfs (the default): car1 arrives first,
// then car2 and car3. The EMS is stopped (SIGTERM) and started again on the same config and
// database, as a supervisor restarts it; or it is killed (SIGKILL) and started again. The
// chargers reconnect on their own (no BootNotification: they did not reboot), their cars keep
// charging under the profiles they hold.
// Asserted on the true currents: no car that was charging is offered less than 6 A (paused) at any
// sample, first-come included; the row stays within 40 A; and once the EMS has polled the meter and
// settled, no connector is left reserved at its 32 A max: the cars use the row again (≥ 90 % of
// what they had before) and the EMS's own view reserves no connector above its cap.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { Ev } from '../fixtures/independent/ev.ts';
import { until } from '../fixtures/independent/ems-runner.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { elapse, figures, meanOf, round1, type Sample } from '../fixtures/independent/site.ts';
import { report } from './acceptance-report.ts';

const ROW_A = 40;
const IDS = ['CP1', 'CP2', 'CP3'];
/** After the restart: the meter's first poll, a few control cycles, a MeterValues period, the slowest car. */
const SETTLE_MS = 20_000;
const evTotal = (s: Sample) => IDS.reduce((sum, id) => sum + s.drawA[id]!, 0);

export function restartCase(how: 'SIGTERM' | 'SIGKILL'): void {
  describeWithPeer('pymodbus', hasPythonModule('pymodbus'), `acceptance #10: restart of the EMS (${how})`, () => {
    const rig = new Rig();
    const cars = [1, 2, 3].map((n) => new Ev({ name: `car${n}`, maxA: 32, phases: 3, responseDelayS: [2, 1, 3][n - 1]! }));
    beforeAll(async () => {
      await rig.start({
        gridMaxA: 100,
        circuits: [{ id: 'row', maxCurrent: ROW_A }],
        chargers: IDS.map((id) => ({ id, circuit: 'row' })),
        control: { priority: 'fcfs' },
        buildingA: [10, 10, 10],
      });
      await rig.charger('CP1').plugIn(cars[0]!, 'TAG1');
      await until(() => cars[0]!.drawA >= 6, 'car1 charging', 45_000);
      await elapse(3_000);
      await rig.charger('CP2').plugIn(cars[1]!, 'TAG2');
      await elapse(2_000);
      await rig.charger('CP3').plugIn(cars[2]!, 'TAG3');
      await until(() => cars.every((c) => c.drawA >= 6), 'three cars charging', 45_000);
    }, 180_000);
    afterAll(() => rig.stop());

    it(`after ${how} and a start, pauses nobody and reserves no connector at its max`, async () => {
      await elapse(10_000); // settled on the fcfs shares
      const before = rig.site.window(Date.now() - 5_000, Date.now());
      const beforeEvA = meanOf(before, evTotal);
      const beforePilots = IDS.map((id) => round1(rig.site.samples.at(-1)!.pilotA[id]!));
      const downMs = Date.now();
      if (how === 'SIGTERM') await rig.ems.stop();
      else await rig.ems.killHard();
      await rig.ems.restart();
      const upMs = Date.now();
      await elapse(SETTLE_MS + 8_000);
      const all = rig.site.window(downMs, Date.now());
      const settled = rig.site.window(upMs + SETTLE_MS, Date.now());
      const row = figures(all, (s) => s.circuitA.row ?? [0, 0, 0], ROW_A);
      const lowestPilots = IDS.map((id) => round1(Math.min(...all.map((s) => s.pilotA[id]!))));
      const settledEvA = meanOf(settled, evTotal);
      const state = await rig.ems.request('GET', '/api/v1/state');
      const views = (state.body?.connectors ?? []).map((c: any) => ({ id: c.chargerId, capA: c.capA, reservedA: c.profile?.reservedA, state: c.profile?.state }));
      const perSecond = all.filter((_, i) => i % 10 === 0).slice(0, 40).map((s) => IDS.map((id) => round1(s.pilotA[id]!)).join('/'));
      report(`ems-restart ${how}`, { beforePilots, beforeEvA, lowestPilots, settledEvA, row, downS: round1((upMs - downMs) / 1000), views, pilotsPerSecond: perSecond.join(' ') });
      for (let i = 0; i < IDS.length; i++) expect(lowestPilots[i], `${IDS[i]} (car${i + 1}) never paused`).toBeGreaterThanOrEqual(6);
      expect(row.maxA, 'true row current').toBeLessThanOrEqual(ROW_A);
      expect(settledEvA, 'the cars use the row again').toBeGreaterThanOrEqual(0.9 * beforeEvA);
      // The EMS shows `reservedA` only where a connector may still draw more than its cap.
      for (const v of views) if (typeof v.reservedA === 'number') expect(v.reservedA, `${v.id} still reserved at its max`).toBeLessThan(32);
    }, 180_000);
  });
}
