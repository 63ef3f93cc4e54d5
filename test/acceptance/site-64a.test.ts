// #9 measured cases on one independent 64 A site: grid meter at the connection point (pymodbus,
// SunSpec 203, the true total within 100 ms), four strict OCPP 1.6J chargers with MeterValues every
// 2–10 s, cars that follow a new limit after 1.5–4 s and ramp at 10 A/s, priority equal, a real
// `ems run`. Everything is asserted on the TRUE currents sampled every 100 ms on the site.
//  1. 54 A free (building 10 A/phase) and four cars: they use ≥ 95 % of what the EMS may hand out
//     (64 A less the 5 % safety margin, less the building), and none sits at 0 A.
//  2. The building load steps from 10 to 40 A per phase and stays: after the reaction window the
//     grid stays within the 64 A fuse.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { Ev } from '../fixtures/independent/ev.ts';
import { until } from '../fixtures/independent/ems-runner.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { elapse, figures, meanOf, round1, type Sample } from '../fixtures/independent/site.ts';
import { dumpTimeline, traceState, REACTION_WINDOW_MS, report } from './acceptance-report.ts';

const FUSE_A = 64;
const MARGIN = 0.05;
const evTotal = (s: Sample) => Object.values(s.drawA).reduce((a, b) => a + b, 0);

describeWithPeer('pymodbus', hasPythonModule('pymodbus'), 'acceptance #9: a 64 A site with four cars', () => {
  const rig = new Rig();
  let stopTrace = () => undefined as void;
  beforeAll(async () => {
    await rig.start({ gridMaxA: FUSE_A, chargers: ['CP1', 'CP2', 'CP3', 'CP4'].map((id) => ({ id })), buildingA: [10, 10, 10] });
    stopTrace = traceState(rig.ems, 'site-64a');
    const delays = [1.5, 2.5, 3.5, 4];
    await Promise.all(rig.site.chargers.map((cp, i) => cp.plugIn(new Ev({ name: `car${i + 1}`, maxA: 32, phases: 3, responseDelayS: delays[i]! }), `TAG${i + 1}`)));
  }, 120_000);
  afterAll(() => {
    stopTrace();
    dumpTimeline(rig.site.samples, 'site-64a', rig.site.chargers);
    return rig.stop();
  });

  it('uses ≥ 95 % of the headroom with 54 A free, no car left at 0 A', async () => {
    const startMs = Date.now();
    await until(() => rig.site.chargers.every((cp) => (cp.ev?.drawA ?? 0) >= 6), 'all four cars charging', 45_000);
    // Steady state: after the start-up transient. Cars ramping between their samples can be taken
    // for building load until each charger's next MeterValues (every 2-10 s here), the building
    // estimate holds its highest reading 5 s, and the give-back reaches the slowest car after its
    // 4 s response and ramp: 10 + 5 + 4 + 1 = 20 s after the last car drew 6 A (session 6, F6/F10:
    // with 12 s the window caught that climb in about one run in five under load, 93.1-94.7 %).
    await elapse(20_000);
    const from = Date.now();
    await elapse(10_000);
    const steady = rig.site.window(from, Date.now());
    const budgetA = FUSE_A * (1 - MARGIN) - 10;
    const meanEvA = meanOf(steady, evTotal);
    const minCarA = round1(Math.min(...steady.flatMap((s) => Object.values(s.drawA))));
    report('headroom-54A', { meanEvA, budgetA, usePct: round1((100 * meanEvA) / budgetA), minCarA, grid: figures(steady, (s) => s.gridA, FUSE_A), startGrid: figures(rig.site.window(startMs, from), (s) => s.gridA, FUSE_A) });
    expect(minCarA, 'no car left at 0 A').toBeGreaterThanOrEqual(6);
    expect(meanEvA).toBeGreaterThanOrEqual(0.95 * budgetA);
  }, 120_000);

  it('keeps the true grid within 64 A after the reaction window when the building steps 10 → 40 A', async () => {
    const stepMs = Date.now();
    rig.site.buildingA = [40, 40, 40];
    await elapse(25_000);
    const during = rig.site.window(stepMs, stepMs + REACTION_WINDOW_MS);
    const after = rig.site.window(stepMs + REACTION_WINDOW_MS, Date.now());
    const grid = figures(after, (s) => s.gridA, FUSE_A);
    report('load-step-10-40', { afterWindow: grid, inWindow: figures(during, (s) => s.gridA, FUSE_A), meanEvA: meanOf(after, evTotal) });
    expect(grid.maxA, `true grid after the window; EMS log tail:\n${rig.ems.output().slice(-1500)}`).toBeLessThanOrEqual(FUSE_A);
  }, 60_000);
});
