// #9 (session 5's CI failure, F3): a grid meter that powers up with the site reads 0/0/0 for its
// first seconds (a Modbus server whose registers are not filled yet). Here it reads 0/0/0 from the
// moment it starts until 10 s after four cars have plugged in and started, on the unbalanced
// 10/30/10 A building of the single-phase case. The cars plugging in are the only outside change:
// from a reaction window after it (as in single-phase-car.test.ts: until then the chargers' own
// 15.2 A defaults rule) the TRUE grid may never exceed the 64 A fuse on any phase, also while the
// meter still reads 0; in steady state (30–40 s after it reads) the cars use ≥ 95 % of what L2
// leaves (60.8 − 30 A).
// ACCEPTANCE_STRICT=1 also asks that no car is left at 0 A (F8: one car paused for 2 min in 1 run
// of 2, while all four fit at 7.7 A).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { until } from '../fixtures/independent/ems-runner.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { elapse } from '../fixtures/independent/site.ts';
import { ACCEPTANCE_STRICT, dumpTimeline, traceState, REACTION_WINDOW_MS, report } from './acceptance-report.ts';
import { BUDGET_A, FUSE_A, gridFigures, plugInFour, startSite, use } from './acceptance-four-cars.ts';

const BLANK_MS = 10_000;
const BUILDING_A: [number, number, number] = [10, 30, 10];

describeWithPeer('pymodbus', hasPythonModule('pymodbus'), 'acceptance #9: a grid meter reading 0/0/0 for 10 s while four cars start', () => {
  const rig = new Rig();
  let stopTrace = () => undefined as void;
  let pluggedAtMs = 0;
  beforeAll(async () => {
    rig.site.meter.blankUntilMs = Infinity;
    await startSite(rig, BUILDING_A);
    stopTrace = traceState(rig.ems, 'meter-blank-start');
    const plugging = plugInFour(rig);
    pluggedAtMs = Date.now();
    rig.site.meter.blankUntilMs = pluggedAtMs + BLANK_MS;
    await plugging;
  }, 150_000);
  afterAll(() => {
    stopTrace();
    dumpTimeline(rig.site.samples, 'meter-blank-start', rig.site.chargers);
    return rig.stop();
  });

  it('keeps every phase within the fuse from the first car on, then uses L2 once the meter reads', async () => {
    await until(() => rig.site.chargers.every((cp) => (cp.ev?.drawA ?? 0) >= 6), 'all four cars charging', 60_000);
    const aliveMs = Math.max(Date.now(), rig.site.meter.blankUntilMs);
    await elapse(aliveMs - Date.now() + 40_000);
    // Steady state 30–40 s after the meter reads; 15–25 s after it the EMS may still be giving
    // back its own start-up cut (F6 shape: 93.2 % in 1 run of 3), asserted with ACCEPTANCE_STRICT=1.
    const steady = rig.site.window(aliveMs + 30_000, Date.now());
    const early = use(rig.site.window(aliveMs + 15_000, aliveMs + 25_000), BUDGET_A - BUILDING_A[1]);
    const whole = rig.site.window(pluggedAtMs + REACTION_WINDOW_MS, Date.now());
    const blank = rig.site.window(pluggedAtMs + REACTION_WINDOW_MS, pluggedAtMs + BLANK_MS);
    const grid = gridFigures(whole);
    const headroom = use(steady, BUDGET_A - BUILDING_A[1]);
    const start = gridFigures(rig.site.window(pluggedAtMs, pluggedAtMs + REACTION_WINDOW_MS));
    report('meter-blank-start', { grid, inPlugInWindow: start, blankAfterWindow: gridFigures(blank), ...headroom, earlyUsePct: early.usePct, firstCarAtS: firstDrawS(rig, pluggedAtMs) });
    expect(grid.maxA, 'no phase above the fuse after the plug-in window').toBeLessThanOrEqual(FUSE_A);
    if (ACCEPTANCE_STRICT) expect(headroom.minCarA, 'F8: no car left at 0 A').toBeGreaterThanOrEqual(6);
    if (ACCEPTANCE_STRICT) expect(early.meanEvA, 'F6: use 15–25 s after the meter reads').toBeGreaterThanOrEqual(0.95 * early.budgetA);
    expect(headroom.meanEvA, 'the cars use what L2 leaves').toBeGreaterThanOrEqual(0.95 * headroom.budgetA);
  }, 150_000);
});

/** Seconds from plug-in until the first car drew ≥ 1 A (for the figures). */
function firstDrawS(rig: Rig, fromMs: number): number | null {
  const s = rig.site.samples.find((x) => x.tMs >= fromMs && Object.values(x.drawA).some((a) => a >= 1));
  return s ? Math.round((s.tMs - fromMs) / 100) / 10 : null;
}
