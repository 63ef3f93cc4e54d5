// #9: the grid meter disappears while four cars charge. The Modbus server is killed (its TCP
// connections drop, nothing answers on its port) for 30 s, then starts again on the same port with
// empty (0/0/0) registers until the site fills them, as a meter that lost power does. The building
// stays at 10 A per phase. DESIGN: stale grid data means the failsafe (6 A per session while the
// static fuse tree allows), logged once on entry and once on recovery. Asserted on the TRUE
// currents: the grid stays within the 64 A fuse the whole time, no car is paused, the operator
// sees the failsafe (events), and within 25 s of the meter's return the cars use ≥ 95 % again.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { until } from '../fixtures/independent/ems-runner.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { elapse } from '../fixtures/independent/site.ts';
import { dumpTimeline, traceState, report } from './acceptance-report.ts';
import { BUDGET_A, FUSE_A, gridFigures, lowestPilots, plugInFour, startSite, use } from './acceptance-four-cars.ts';

const OUTAGE_MS = 30_000;

describeWithPeer('pymodbus', hasPythonModule('pymodbus'), 'acceptance #9: the grid meter gone for 30 s while four cars charge', () => {
  const rig = new Rig();
  let stopTrace = () => undefined as void;
  beforeAll(async () => {
    await startSite(rig, [10, 10, 10]);
    stopTrace = traceState(rig.ems, 'meter-outage');
    await plugInFour(rig);
    await until(() => rig.site.chargers.every((cp) => (cp.ev?.drawA ?? 0) >= 6), 'all four cars charging', 60_000);
    await elapse(15_000);
  }, 150_000);
  afterAll(() => {
    stopTrace();
    dumpTimeline(rig.site.samples, 'meter-outage', rig.site.chargers);
    return rig.stop();
  });

  it('holds the fuse and every car through the outage and uses the headroom again after it', async () => {
    const beforeMs = Date.now() - 10_000;
    const goneMs = Date.now();
    // The operator's view while the meter is gone: /api/v1/state, once a second.
    const failsafeSeen: boolean[] = [];
    const watch = setInterval(() => {
      void rig.ems.request('GET', '/api/v1/state').then(({ body }) => failsafeSeen.push(Boolean(body?.site?.failsafe)), () => undefined);
    }, 1000);
    await rig.site.meter.outage(OUTAGE_MS);
    clearInterval(watch);
    const backMs = Date.now();
    await elapse(35_000);
    const headroomBefore = use(rig.site.window(beforeMs, goneMs), BUDGET_A - 10);
    const headroomAfter = use(rig.site.window(backMs + 25_000, Date.now()), BUDGET_A - 10);
    const grid = gridFigures(rig.site.window(beforeMs, Date.now()));
    const pilots = lowestPilots(rig.site.window(goneMs, Date.now()));
    const events = await rig.ems.request('GET', '/api/v1/events');
    const failsafeEvents = (JSON.stringify(events.body).match(/Failsafe (on|off)[^"]*/g) ?? []).slice(0, 6);
    report('meter-outage', { grid, lowestPilots: pilots, failsafeWhileGone: failsafeSeen.some(Boolean), before: headroomBefore, after: headroomAfter, failsafeEvents });
    expect(grid.maxA, 'no phase above the fuse').toBeLessThanOrEqual(FUSE_A);
    for (const [id, a] of Object.entries(pilots)) expect(a, `${id} kept charging (≥ 6 A offered)`).toBeGreaterThanOrEqual(6);
    expect(failsafeSeen.some(Boolean), 'the state API shows the failsafe while the meter is gone').toBe(true);
    expect(headroomAfter.minCarA, 'no car left at 0 A after the return').toBeGreaterThanOrEqual(6);
    expect(headroomAfter.meanEvA, 'the headroom is used again after the meter returns').toBeGreaterThanOrEqual(0.95 * headroomAfter.budgetA);
  }, 120_000);
});
