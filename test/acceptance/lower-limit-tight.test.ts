// #9 ("a lower limit never pauses cars that still fit at their minimum"): a lower grid limit
// arrives through the operator API while four cars charge on a 64 A site (building 10 A/phase),
// tighter than lower-limit.test.ts's 48 A:
//  1. 38 A per phase (26,220 W at 230 V): 38 × 0.95 − 10 = 26.1 A for four cars, 6.5 A each: all
//     four still fit at their 6 A minimum, so NO car may be paused.
//  2. 32 A per phase (22,080 W): 32 × 0.95 − 10 = 20.4 A: three fit at 6 A, four do not: one car
//     is paused, not everyone (the issue measured every session paused for 2 min).
// After the reaction window the TRUE grid stays within the new limit, and never is every car
// paused. The exact bars (none paused at 38 A, at most one at 32 A) are asserted with
// ACCEPTANCE_STRICT=1: F9 (findings.md), a car that fits is paused for 2 min in 2 runs of 3.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { until } from '../fixtures/independent/ems-runner.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { elapse, round1 } from '../fixtures/independent/site.ts';
import { ACCEPTANCE_STRICT, dumpTimeline, traceState, REACTION_WINDOW_MS, report } from './acceptance-report.ts';
import { CHARGERS, gridFigures, lowestPilots, plugInFour, startSite } from './acceptance-four-cars.ts';

const HOLD_MS = 22_000;

/** Sets an import limit of `limitA` per phase, holds it, and returns the figures; the limit is ended after. */
async function holdLimit(rig: Rig, name: string, limitA: number) {
  const fromMs = Date.now();
  const posted = await rig.ems.request('POST', '/api/v1/signals', { kind: 'import-limit', valueW: limitA * 230 * 3, durationS: 600, source: 'acceptance' });
  expect(posted.status).toBe(201);
  await elapse(HOLD_MS);
  const after = rig.site.window(fromMs + REACTION_WINDOW_MS, Date.now());
  const grid = gridFigures(after, limitA);
  const pilots = lowestPilots(after);
  const lastPilots = Object.fromEntries(CHARGERS.map((id) => [id, round1(after.at(-1)?.pilotA[id] ?? 0)]));
  const paused = Object.values(lastPilots).filter((a) => a < 6).length;
  report(name, { limitA, grid, lowestPilotsAfterWindow: pilots, lastPilots, paused });
  const ended = await rig.ems.request('DELETE', `/api/v1/signals/${posted.body.id}`);
  expect(ended.status).toBe(200);
  return { grid, pilots, paused, lastPilots };
}

describeWithPeer('pymodbus', hasPythonModule('pymodbus'), 'acceptance #9: a tight lower grid limit while four cars charge', () => {
  const rig = new Rig();
  let stopTrace = () => undefined as void;
  beforeAll(async () => {
    await startSite(rig, [10, 10, 10]);
    stopTrace = traceState(rig.ems, 'lower-limit-tight');
    await plugInFour(rig);
    await until(() => rig.site.chargers.every((cp) => (cp.ev?.drawA ?? 0) >= 6), 'all four cars charging', 60_000);
    await elapse(10_000);
  }, 150_000);
  afterAll(() => {
    stopTrace();
    dumpTimeline(rig.site.samples, 'lower-limit-tight', rig.site.chargers);
    return rig.stop();
  });

  it('38 A: all four still fit at 6 A, not everyone paused (strict: none); the grid within 38 A after the window', async () => {
    const { grid, pilots, paused } = await holdLimit(rig, 'lower-limit-38A', 38);
    expect(grid.maxA, 'true grid after the window').toBeLessThanOrEqual(38);
    expect(paused, 'cars paused at the end of the hold').toBeLessThan(4);
    if (ACCEPTANCE_STRICT) for (const [id, a] of Object.entries(pilots)) expect(a, `F9: ${id} offered at least 6 A`).toBeGreaterThanOrEqual(6);
    // Back to the full 50.8 A before the next case (shared by three if one sits out a minimum pause).
    await until(() => rig.site.chargers.reduce((sum, cp) => sum + (cp.ev?.drawA ?? 0), 0) >= 45, 'the cars back at 50.8 A in total', 40_000);
  }, 90_000);

  it('32 A: three fit at 6 A: not everyone paused (strict: one at most); the grid within 32 A after the window', async () => {
    const { grid, paused } = await holdLimit(rig, 'lower-limit-32A', 32);
    expect(grid.maxA, 'true grid after the window').toBeLessThanOrEqual(32);
    expect(paused, 'cars paused at the end of the hold').toBeLessThan(4);
    if (ACCEPTANCE_STRICT) expect(paused, 'F9: cars paused at the end of the hold').toBeLessThanOrEqual(1);
  }, 60_000);
});
