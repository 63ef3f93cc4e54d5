// #9 measured case: a 64 A site, grid meter at the connection point, four cars charging, priority
// equal; the building load steps from 10 to 40 A per phase and stays there. After the reaction
// window (meter period + control cycle + the slowest car's response, with slack) the TRUE grid
// current, sampled every 100 ms on the independent site, stays within the 64 A fuse.
import { afterAll, expect, it } from 'vitest';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { Ev } from '../fixtures/independent/ev.ts';
import { until } from '../fixtures/independent/ems-runner.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { elapse, figures, meanOf } from '../fixtures/independent/site.ts';
import { REACTION_WINDOW_MS, report } from './acceptance-report.ts';

const FUSE_A = 64;

describeWithPeer('pymodbus', hasPythonModule('pymodbus'), 'acceptance #9: building load step 10 → 40 A on a 64 A fuse, 4 cars', () => {
  const rig = new Rig();
  afterAll(() => rig.stop());

  it('keeps the true grid current within 64 A after the reaction window', async () => {
    await rig.start({
      gridMaxA: FUSE_A,
      chargers: ['CP1', 'CP2', 'CP3', 'CP4'].map((id) => ({ id })),
    });
    const delays = [1.5, 2.5, 3.5, 4];
    await Promise.all(rig.site.chargers.map((cp, i) => cp.plugIn(new Ev({ name: `car${i + 1}`, maxA: 32, phases: 3, responseDelayS: delays[i]! }), `TAG${i + 1}`)));
    await until(() => rig.site.chargers.every((cp) => (cp.ev?.drawA ?? 0) >= 6), 'all four cars charging', 45_000);
    await elapse(10_000);
    const stepMs = Date.now();
    rig.site.buildingA = [40, 40, 40];
    await elapse(35_000);
    const after = rig.site.window(stepMs + REACTION_WINDOW_MS, Date.now());
    const grid = figures(after, (s) => s.gridA, FUSE_A);
    const ev = meanOf(after, (s) => Object.values(s.drawA).reduce((a, b) => a + b, 0));
    report('load-step', { ...grid, meanEvA: ev, caps: rig.site.chargers.map((cp) => cp.received.filter((r) => r.purpose === 'TxProfile').length) });
    expect(grid.maxA, `true grid after the window, EMS log tail:\n${rig.ems.output().slice(-1500)}`).toBeLessThanOrEqual(FUSE_A);
  }, 110_000);
});
