// #9: the building load steps while the cars start. Four cars plug in on a 64 A site with a 10 A
// building; as soon as the first car draws (the EMS is raising the others, the cars are ramping
// from 0) the building steps to 30 A per phase and stays (plant.md: compressors, kitchens, lifts:
// 5–50 A per phase in under a second). The EMS cannot foresee the step, so it gets the reaction
// window (meter poll + cycle + the slowest car + charger step: 8 s); after it the TRUE grid stays
// within the fuse, and in steady state the cars use ≥ 95 % of the 30.8 A left (60.8 − 30), none at
// 0 A. Before the step nothing outside changed: the grid stays within the fuse then too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { until } from '../fixtures/independent/ems-runner.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { elapse } from '../fixtures/independent/site.ts';
import { ACCEPTANCE_ALL, dumpTimeline, traceState, REACTION_WINDOW_MS, report } from './acceptance-report.ts';
import { BUDGET_A, FUSE_A, gridFigures, plugInFour, startSite, use } from './acceptance-four-cars.ts';

const STEP_TO_A = 30;

// #9 F7, fixed in session 12 (optimizer/site-view.ts): 71.7-80.8 A after the window in every run of
// sessions 6-11. The cars wait at 0 A next to the connectors' idle default, so their chargers say
// SuspendedEVSE (pilot off): such a car can only come down from then on and explains no rise of the
// reading, and the building draws at least its power over the voltage in current (this meter's power
// register shows the step a reading after its currents). Earlier fixes (session 6: a rise next to a
// car without a sample is building load; session 9: no rise credit for a car within carResponseMs of
// its session start) held it but paused new cars elsewhere and were dropped. Opt-in (ACCEPTANCE_ALL=1)
// for CI time, as full-car and handover.
describe.skipIf(!ACCEPTANCE_ALL)('opt-in with ACCEPTANCE_ALL=1', () => {
describeWithPeer('pymodbus', hasPythonModule('pymodbus'), 'acceptance #9: a building load step while four cars start', () => {
  const rig = new Rig();
  let stopTrace = () => undefined as void;
  let pluggedAtMs = 0;
  beforeAll(async () => {
    await startSite(rig, [10, 10, 10]);
    stopTrace = traceState(rig.ems, 'load-step-during-start');
    const plugging = plugInFour(rig);
    pluggedAtMs = Date.now();
    await plugging;
  }, 150_000);
  afterAll(() => {
    stopTrace();
    dumpTimeline(rig.site.samples, 'load-step-during-start', rig.site.chargers);
    return rig.stop();
  });

  // #9 F7 (findings.md): the step was credited to the starting cars; the caps were set for a 10 A
  // building (12.4 A each) while the meter already read 30 A, and the grid reached 77.4 and
  // 80.8 A, 4.2–4.6 s above the fuse after the window.
  it('#9 F7: keeps the true grid within 64 A after the reaction window and shares the 30.8 A left', async () => {
    await until(() => rig.site.chargers.some((cp) => (cp.ev?.drawA ?? 0) >= 1), 'the first car drawing', 60_000);
    const stepMs = Date.now();
    rig.site.buildingA = [STEP_TO_A, STEP_TO_A, STEP_TO_A];
    const rampingAtStep = rig.site.chargers.map((cp) => Math.round((cp.ev?.drawA ?? 0) * 10) / 10);
    await elapse(35_000);
    const before = gridFigures(rig.site.window(pluggedAtMs, stepMs));
    const inWindow = gridFigures(rig.site.window(stepMs, stepMs + REACTION_WINDOW_MS));
    const after = gridFigures(rig.site.window(stepMs + REACTION_WINDOW_MS, Date.now()));
    const headroom = use(rig.site.window(stepMs + 25_000, Date.now()), BUDGET_A - STEP_TO_A);
    report('load-step-during-start', { stepAtS: Math.round((stepMs - pluggedAtMs) / 100) / 10, rampingAtStep, before, inWindow, after, ...headroom });
    expect(before.maxA, 'before the step').toBeLessThanOrEqual(FUSE_A);
    expect(after.maxA, `after the window; EMS log tail:\n${rig.ems.output().slice(-1500)}`).toBeLessThanOrEqual(FUSE_A);
    expect(headroom.minCarA, 'no car left at 0 A').toBeGreaterThanOrEqual(6);
    expect(headroom.meanEvA, 'the cars use the 30.8 A left').toBeGreaterThanOrEqual(0.95 * headroom.budgetA);
  }, 120_000);
});
});
