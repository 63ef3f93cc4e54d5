// #9 measured case: a single-phase car on a three-phase charger loads one site phase only. A 64 A
// site with an unbalanced building (10 / 30 / 10 A): car 1 charges on one phase (charger L1 = site
// L1), three three-phase cars on the others. Per phase the EMS may hand out 60.8 A (5 % margin):
// L2 leaves 30.8 A for the three 3-phase cars (10.3 A each), and L1 then still has 20 A for the
// single-phase car. Counting it on all three phases either under-uses L1 (it gets 7.7 A) or, if
// its draw is taken off the L2/L3 meter readings, overloads L2. Asserted on the true currents.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { Ev } from '../fixtures/independent/ev.ts';
import { until } from '../fixtures/independent/ems-runner.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { elapse, figures, meanOf, type Sample } from '../fixtures/independent/site.ts';
import { dumpTimeline, traceState, REACTION_WINDOW_MS, report } from './acceptance-report.ts';

const FUSE_A = 64;
const PHASE_BUDGET_A = FUSE_A * 0.95;

describeWithPeer('pymodbus', hasPythonModule('pymodbus'), 'acceptance #9: a single-phase car on a three-phase charger', () => {
  const rig = new Rig();
  let stopTrace = () => undefined as void;
  /** When the last car was plugged in: the start is asserted from a reaction window after it. */
  let pluggedAtMs = 0;
  const single = new Ev({ name: 'phev', maxA: 32, phases: 1, responseDelayS: 2 });
  const threes = [2, 3, 4].map((n) => new Ev({ name: `car${n}`, maxA: 32, phases: 3, responseDelayS: [1.5, 3, 4][n - 2]! }));
  beforeAll(async () => {
    await rig.start({ gridMaxA: FUSE_A, chargers: ['CP1', 'CP2', 'CP3', 'CP4'].map((id) => ({ id })), buildingA: [10, 30, 10] });
    stopTrace = traceState(rig.ems, 'single-phase-car');
    const cars = [single, ...threes];
    await Promise.all(rig.site.chargers.map((cp, i) => cp.plugIn(cars[i]!, `TAG${i + 1}`)));
    pluggedAtMs = Date.now();
    await until(() => cars.every((c) => c.drawA >= 6), 'all four cars charging', 45_000);
  }, 120_000);
  afterAll(() => {
    stopTrace();
    dumpTimeline(rig.site.samples, 'single-phase-car', rig.site.chargers);
    return rig.stop();
  });

  // F3 (#9): one phase reached 72-76 A on the 64 A fuse for 3-5 s while the cars started (session 4).
  // The same start-up overshoot showed on site-64a (four cars at 15.2 and 13.9 A: 70.8 and 64.8 A):
  // the building load was counted low while the cars ramped from 0 after two quick raises (a
  // mid-ramp sample taken as settled). Fixed in site-view.ts; asserted over the whole start here.
  // Session 5 (about one run in ten, 75.6 A for 4.7 s): the meter's first reading is 0/0/0 (registers
  // not filled yet), the 10/30/10 rise is credited to cars held at the chargers' default 32 A, and
  // the caps went to 15.2 A each when the holds expired a cycle before the reading did. Fixed in
  // site-view.ts (drawAt: reachA); replayed without peers in test/optimizer/startup-estimation.test.ts.
  it('keeps every phase within the fuse and gives the single-phase car the room on its phase', async () => {
    const fromMs = Date.now();
    await elapse(REACTION_WINDOW_MS + 22_000);
    const steady = rig.site.window(fromMs + REACTION_WINDOW_MS + 8_000, Date.now());
    const all = rig.site.window(Math.min(fromMs, pluggedAtMs + REACTION_WINDOW_MS), Date.now());
    const threePhaseA = (s: Sample) => s.drawA.CP2! + s.drawA.CP3! + s.drawA.CP4!;
    const singleA = meanOf(steady, (s) => s.drawA.CP1!);
    const l2EvA = meanOf(steady, threePhaseA);
    const grid = figures(all, (s) => s.gridA, FUSE_A);
    report('single-phase-car', { singleA, idealSingleA: PHASE_BUDGET_A - 10 - (PHASE_BUDGET_A - 30), l2EvA, idealL2EvA: PHASE_BUDGET_A - 30, grid, meanGridA: [0, 1, 2].map((p) => meanOf(steady, (s) => s.gridA[p]!)) });
    expect(grid.maxA, 'no phase above the fuse').toBeLessThanOrEqual(FUSE_A);
    expect(l2EvA, 'the three-phase cars use L2').toBeGreaterThanOrEqual(0.95 * (PHASE_BUDGET_A - 30));
    expect(singleA, 'the single-phase car uses the room left on L1').toBeGreaterThanOrEqual(0.95 * (PHASE_BUDGET_A - 10 - (PHASE_BUDGET_A - 30)));
  }, 80_000);
});
