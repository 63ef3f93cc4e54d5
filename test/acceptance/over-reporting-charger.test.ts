// #9 measured case, "trusting every report": a charger that reports 3× its real current (one
// Current.Import without a phase holding the sum of its three phases, as some do) made the EMS
// take the building load for 0 and the meter read 79.8 A on a 63 A fuse for 56 s. A 63 A site,
// building 20 A/phase, three cars; CP1 reports the sum. After the cars have started and the
// reaction window, the TRUE grid current must stay within 63 A.
import { afterAll, beforeAll, expect, it, describe } from 'vitest';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { Ev } from '../fixtures/independent/ev.ts';
import { until } from '../fixtures/independent/ems-runner.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { elapse, figures, meanOf } from '../fixtures/independent/site.ts';
import { ACCEPTANCE_ALL, dumpTimeline, traceState, REACTION_WINDOW_MS, report } from './acceptance-report.ts';

const FUSE_A = 63;

// Opt-in (CI time): ACCEPTANCE_ALL=1 or ACCEPTANCE_VARIANTS=1 runs it.
describe.skipIf(!ACCEPTANCE_ALL)('opt-in with ACCEPTANCE_ALL=1', () => {
  describeWithPeer('pymodbus', hasPythonModule('pymodbus'), 'acceptance #9: a charger that reports 3× its current', () => {
    const rig = new Rig();
    let stopTrace = () => undefined as void;
    const cars = [1, 2, 3].map((n) => new Ev({ name: `car${n}`, maxA: 32, phases: 3, responseDelayS: [2, 3, 4][n - 1]! }));
    beforeAll(async () => {
      await rig.start({
        gridMaxA: FUSE_A,
        chargers: [{ id: 'CP1', currentReport: 'sum' as const }, { id: 'CP2' }, { id: 'CP3' }],
        buildingA: [20, 20, 20],
      });
      stopTrace = traceState(rig.ems, 'over-reporting-charger');
      await Promise.all(rig.site.chargers.map((cp, i) => cp.plugIn(cars[i]!, `TAG${i + 1}`)));
      await until(() => cars.every((c) => c.drawA >= 6), 'all three cars charging', 45_000);
    }, 120_000);
    afterAll(() => {
    stopTrace();
    dumpTimeline(rig.site.samples, 'over-reporting-charger', rig.site.chargers);
    return rig.stop();
  });

    it('keeps the true grid within 63 A', async () => {
      const fromMs = Date.now();
      await elapse(REACTION_WINDOW_MS + 30_000);
      const after = rig.site.window(fromMs + REACTION_WINDOW_MS, Date.now());
      const grid = figures(after, (s) => s.gridA, FUSE_A);
      report('over-reporting-charger', { grid, meanGridA: meanOf(after, (s) => s.gridA[0]!), meanDrawA: cars.map((c) => meanOf(after, (s) => s.drawA[`CP${c.name.slice(3)}`]!)) });
      // Finding F2 (#9, s4-peers) saw 64.3 A on the 63 A fuse for 0.6 s about one run in two: the
      // building load counted low while cars ramped (site-view.ts, settled-after-a-raise-chain and
      // lowest-limit-a-response-back fixes). The over-reporting charger is held at its max (over-cap
      // finding), so the strict bar holds by default.
      expect(grid.maxA, 'true grid').toBeLessThanOrEqual(FUSE_A);
    }, 80_000);
  });
});
