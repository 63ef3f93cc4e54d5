// #10 measured case: a charger that never answers SetChargingProfile (the call stays pending; it
// lists SmartCharging and answers everything else) powers up on a 40 A row where a car already
// charges at 32 A on a controllable charger (grid 100 A, building 10 A elsewhere). A car is plugged
// into it right after its boot; with no profile stored its pilot offers its max, and its
// MeterValues say 32 A. Until it answers, the EMS must count it at its max: after the reaction
// window from its boot (its car starts faster than any cut can reach the other car), the row stays
// within 40 A for the rest of its setup, over more than three call timeouts (the measured bug: it was
// counted at its computed cap, 21.8 A, during its boot setup while drawing 32 A: 70 A for 28 s).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { Ev } from '../fixtures/independent/ev.ts';
import { until } from '../fixtures/independent/ems-runner.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { elapse, figures, meanOf, round1 } from '../fixtures/independent/site.ts';
import { REACTION_WINDOW_MS, report } from './acceptance-report.ts';

const ROW_A = 40;

describeWithPeer('pymodbus', hasPythonModule('pymodbus'), 'acceptance #10: a charger that never answers SetChargingProfile', () => {
  const rig = new Rig();
  beforeAll(async () => {
    await rig.start({
      gridMaxA: 100,
      circuits: [{ id: 'row', maxCurrent: ROW_A }],
      chargers: [
        { id: 'CP1', circuit: 'row' },
        { id: 'MUTE', profiles: 'silent' as const, circuit: 'row', connectLater: true },
      ],
      buildingA: [10, 10, 10],
    });
    await rig.charger('CP1').plugIn(new Ev({ name: 'car1', maxA: 32, phases: 3, responseDelayS: 2 }), 'TAG1');
    await until(() => (rig.charger('CP1').ev?.drawA ?? 0) >= 30, 'CP1 at 32 A', 60_000);
  }, 180_000);
  afterAll(() => rig.stop());

  it('counts it at its max until it answers: the row stays within 40 A', async () => {
    const mute = rig.charger('MUTE');
    const bootMs = Date.now();
    await mute.connect();
    const plugMs = Date.now();
    await mute.plugIn(new Ev({ name: 'car2', maxA: 32, phases: 3, responseDelayS: 1 }), 'TAG2');
    // Three 10 s call timeouts and more.
    await elapse(40_000);
    const after = rig.site.window(bootMs + REACTION_WINDOW_MS, Date.now());
    const row = figures(after, (s) => s.circuitA.row ?? [0, 0, 0], ROW_A);
    const all = figures(rig.site.window(bootMs, Date.now()), (s) => s.circuitA.row ?? [0, 0, 0], ROW_A);
    const muteDrawA = meanOf(after, (s) => s.drawA.MUTE!);
    report('silent-charger', {
      rowAfterWindow: row,
      rowFromBoot: all,
      muteMeanDrawA: muteDrawA,
      cp1LowestPilotA: round1(Math.min(...after.map((s) => s.pilotA.CP1!))),
      cp1LastPilotA: rig.charger('CP1').pilotA,
      plugAfterBootS: round1((plugMs - bootMs) / 1000),
      unanswered: mute.received.length,
    });
    expect(mute.received.length, 'the EMS did send it profiles').toBeGreaterThan(0);
    expect(muteDrawA, 'its car draws 32 A').toBeGreaterThanOrEqual(30);
    expect(row.maxA, 'true row current after the reaction window').toBeLessThanOrEqual(ROW_A);
  }, 90_000);
});
