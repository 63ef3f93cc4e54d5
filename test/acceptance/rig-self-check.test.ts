// The rig can fail: an EMS that cannot see the building (configured without the grid meter, i.e.
// static balancing of the whole 64 A among the cars) is run through the load step, and the true
// grid current must be seen above the fuse. Opt-in (ACCEPTANCE_VARIANTS=1): it proves the rig,
// not the EMS.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { Ev } from '../fixtures/independent/ev.ts';
import { until } from '../fixtures/independent/ems-runner.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { elapse, figures } from '../fixtures/independent/site.ts';
import { REACTION_WINDOW_MS, report } from './acceptance-report.ts';

const FUSE_A = 64;

if (process.env.ACCEPTANCE_VARIANTS === '1') {
  describeWithPeer('pymodbus', hasPythonModule('pymodbus'), 'acceptance rig self-check: a blind EMS is caught', () => {
    const rig = new Rig();
    beforeAll(async () => {
      await rig.start({ gridMaxA: FUSE_A, meter: false, chargers: ['CP1', 'CP2', 'CP3', 'CP4'].map((id) => ({ id })), buildingA: [10, 10, 10] });
      await Promise.all(rig.site.chargers.map((cp, i) => cp.plugIn(new Ev({ name: `car${i + 1}`, maxA: 32, phases: 3, responseDelayS: 2 }), `TAG${i + 1}`)));
      await until(() => rig.site.chargers.every((cp) => (cp.ev?.drawA ?? 0) >= 6), 'all four cars charging', 60_000);
      await elapse(8_000);
    }, 120_000);
    afterAll(() => rig.stop());

    it('sees the true grid above 64 A after the step', async () => {
      const stepMs = Date.now();
      rig.site.buildingA = [40, 40, 40];
      await elapse(REACTION_WINDOW_MS + 5_000);
      const grid = figures(rig.site.window(stepMs + REACTION_WINDOW_MS, Date.now()), (s) => s.gridA, FUSE_A);
      report('rig-self-check', grid);
      expect(grid.maxA).toBeGreaterThan(FUSE_A);
    }, 40_000);
  });
}
it.skipIf(process.env.ACCEPTANCE_VARIANTS !== '1')('the rig self-check is opt-in: ACCEPTANCE_VARIANTS=1', () => undefined);
