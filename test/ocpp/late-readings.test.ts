// #9: the check that a charger obeys its caps (a car drawing above every limit its connector may
// hold for longer than a car and a meter take to follow is a charger that ignores profiles) judged
// a reading against the limit held when the MeterValues arrived, not when it was measured. A
// charger that delivers its readings late (queued behind other calls) was then flagged after a
// cut for readings taken before it, and reserved at its max for good. Now each reading is judged
// at its sampled time (the charger's stamp): real central system, strict charger over loopback,
// the EMS's clock driven by the test, the charger's readings stamped by its own clock.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectorCap } from '../../optimizer/types.ts';
import type { FakeCharger } from './fake-charger.ts';
import { startSystem, T0, type System } from './system.ts';

const cap = (currentA: number): ConnectorCap => ({ chargerId: 'CP002', connectorId: 1, currentA, phases: 3, reason: { kind: 'charger', text: 'test' } });

describe('readings delivered late', () => {
  let system: System | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  /** One MeterValues message: the car drawing `drawA` per phase at charger time T0 + `atS` s. */
  const reading = (charger: FakeCharger, tx: number, atS: number, drawA: number) =>
    charger.call('MeterValues', {
      connectorId: 1,
      transactionId: tx,
      meterValue: [{ timestamp: new Date(T0 + atS * 1000).toISOString(), sampledValue: [1, 2, 3].map((p) => ({ value: String(drawA), measurand: 'Current.Import', phase: `L${p}`, unit: 'A' })) }],
    });

  /** A car charging at 30 A under a 32 A cap from T0, cut to 10 A at T0 + 60 s. */
  async function cutAtSixty(): Promise<{ charger: FakeCharger; tx: number }> {
    system = await startSystem(undefined, { meterSampleIntervalS: 10 });
    const charger = await system.charger('CP002');
    const tx = await charger.startTransaction(1, 'GUEST01', 1000, new Date(T0).toISOString());
    await system.cs.applyCaps([cap(32)]);
    await reading(charger, tx, 0, 30);
    system.clock.advance(60_000);
    expect(await system.cs.applyCaps([cap(10)])).toMatchObject({ unconfirmedDecreases: 0 });
    return { charger, tx };
  }

  const flagged = () => system!.state.connector('CP002', 1)?.profile?.uncontrollable === true;

  it('does not flag a charger whose readings from before a cut arrive after it', async () => {
    const { charger, tx } = await cutAtSixty();
    // Its queue is 40 s behind: for 40 s after the cut it delivers what the car drew before it
    // (30 A under 32 A), then what it drew once it followed (9.5 A under 10 A).
    for (const atS of [30, 40, 50, 60, 70, 80]) {
      system!.clock.advance(10_000);
      await reading(charger, tx, atS, atS <= 60 ? 30 : 9.5);
      expect(flagged(), `after the reading measured at +${atS} s`).toBe(false);
    }
    expect(system!.state.snapshot(system!.clock.nowMs()).connectors.find((c) => c.chargerId === 'CP002')?.reservedA ?? 0).toBeLessThanOrEqual(10);
  });

  it('flags a charger whose car keeps drawing above its cut, its readings late or not', async () => {
    const { charger, tx } = await cutAtSixty();
    // The same queue 40 s behind, but the car never slows down: 30 A measured from +70 s on.
    for (const atS of [30, 40, 50, 60, 70, 80, 90, 100]) {
      system!.clock.advance(10_000);
      await reading(charger, tx, atS, 30);
    }
    expect(flagged()).toBe(true);
  });

  it('flags a charger whose on-time readings show its car above its cut for longer than the response time', async () => {
    const { charger, tx } = await cutAtSixty();
    for (const atS of [65, 75, 85, 95, 105]) {
      system!.clock.set(T0 + atS * 1000);
      await reading(charger, tx, atS, 30);
    }
    expect(flagged()).toBe(true);
  });
});
