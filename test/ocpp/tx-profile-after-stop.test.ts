// A TxProfile and the car leaving cross on the wire (the race the demo showed at its stop): the
// real central system on loopback, a strict fake charger (test/ocpp/fake-charger.ts) that refuses a
// TxProfile for a transaction it no longer runs, and the charger's StopTransaction held exactly
// where the race puts it (profileGate: the charger answers only after it stopped the transaction).
// - A TxProfile planned before the EMS learnt the transaction ended is not sent after it learnt it.
// - One already on the wire when the charger stops the transaction is refused for it: no fault of
//   the charger (no warning), nothing retried, and its stack level not stepped down.
// - One refused before the charger's StopTransaction comes (it queued it): info once, retried; a
//   charger that refuses the TxProfile of a running transaction again is warned about.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectorCap } from '../../optimizer/types.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { SMART_CHARGING_CONFIGURATION } from './fake-charger.ts';
import { capturingLogger, startSystem, testConfig, type System } from './system.ts';

const cap = (connectorId: number, currentA: number): ConnectorCap => ({ chargerId: 'CP001', connectorId, currentA, phases: 3, reason: { kind: 'charger', text: 'test' } });
const purpose = (params: any): string => params.csChargingProfiles.chargingProfilePurpose;
const limitOf = (params: any): number => params.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit;

/** A gate the test opens: the charger answers the held SetChargingProfile only then. */
function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('a TxProfile crossing the end of its transaction', () => {
  let system: System | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  it('is not sent when the EMS knows the transaction ended before the TxProfile could go', async () => {
    const { log, lines } = await capturingLogger();
    system = await startSystem(testConfig(), {}, log);
    let held: ReturnType<typeof gate> | undefined;
    const charger = await system.charger('CP001', {
      // The raise's connector default is held: the raise waits for its answer, and the car leaves meanwhile.
      profileGate: (params) => (held && purpose(params) === 'TxDefaultProfile' && params.connectorId === 1 && limitOf(params) === 20 ? held.promise : undefined),
    });
    const tx = await charger.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps([cap(1, 6)]);
    expect(charger.profiles.get(201)?.profile).toMatchObject({ transactionId: tx, chargingSchedule: { chargingSchedulePeriod: [{ limit: 6 }] } });

    held = gate();
    const applying = system.cs.applyCaps([cap(1, 20)]);
    await charger.waitForCall('SetChargingProfile', (p) => purpose(p) === 'TxDefaultProfile' && limitOf(p) === 20);
    const from = lines.length;
    await charger.stopTransaction(tx);
    expect(system.events['session.ended'].map((e) => e.transactionId)).toEqual([tx]);
    held.open();
    await applying;
    // Either the EMS says it did not send it, or the charger gets it (the fault).
    const raisedForEnded = (p: any) => purpose(p) === 'TxProfile' && p.csChargingProfiles.transactionId === tx && limitOf(p) === 20;
    await waitFor(
      () => lines.slice(from).some((l) => l.msg === 'TxProfile not sent: its transaction ended since the round was planned') || charger.received('SetChargingProfile', raisedForEnded).length > 0,
      'the raise for the ended transaction: dropped by the EMS, or received by the charger',
    );
    expect(charger.received('SetChargingProfile', raisedForEnded)).toEqual([]);
    expect(lines.slice(from).filter((l) => l.level >= 40)).toEqual([]);
  });

  it('refused because the charger stopped the transaction first: no warning, no retry, the stack level kept', async () => {
    const { log, lines } = await capturingLogger();
    system = await startSystem(testConfig(), {}, log);
    let held: ReturnType<typeof gate> | undefined;
    const charger = await system.charger('CP001', {
      // One stack level above the defaults: a refusal taken as "level too high" would step TxProfiles down to 0.
      configuration: SMART_CHARGING_CONFIGURATION.map((k) => (k.key === 'ChargeProfileMaxStackLevel' ? { ...k, value: '1' } : k)),
      profileGate: (params) => (held && purpose(params) === 'TxProfile' && limitOf(params) === 8 ? held.promise : undefined),
    });
    const tx = await charger.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps([cap(1, 10)]);
    expect(charger.profiles.get(201)?.profile).toMatchObject({ transactionId: tx, stackLevel: 1, chargingSchedule: { chargingSchedulePeriod: [{ limit: 10 }] } });

    held = gate();
    const applying = system.cs.applyCaps([cap(1, 8)]);
    await charger.waitForCall('SetChargingProfile', (p) => purpose(p) === 'TxProfile' && limitOf(p) === 8);
    const from = lines.length;
    // The car leaves with the TxProfile on the wire: the charger's StopTransaction goes first, then
    // its answer, a refusal (the transaction it names is over).
    await charger.stopTransaction(tx);
    held.open();
    await applying;
    await waitFor(
      () => lines.slice(from).some((l) => /TxProfile answered after its transaction ended|charger refused a charging profile/.test(l.msg)),
      'the EMS handling the refusal',
    );
    expect(charger.received('SetChargingProfile', (p) => purpose(p) === 'TxProfile' && limitOf(p) === 8).map((c) => c.answeredSeq !== undefined)).toEqual([true]);
    expect(lines.slice(from).filter((l) => l.level >= 40)).toEqual([]);

    // The next car on that connector gets its TxProfile at the same stack level, at once.
    const from2 = charger.calls.length;
    const next = await charger.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps([cap(1, 12)]);
    const sent = charger.calls.slice(from2).filter((c) => c.action === 'SetChargingProfile' && purpose(c.params) === 'TxProfile');
    expect(sent.map((c) => [c.params.csChargingProfiles.transactionId, c.params.csChargingProfiles.stackLevel, limitOf(c.params)])).toEqual([[next, 1, 12]]);
    expect(lines.slice(from).filter((l) => l.level >= 40)).toEqual([]);
  });

  it('refused before the charger says the transaction stopped: info, no warning; refused again while it runs: a warning', async () => {
    const { log, lines } = await capturingLogger();
    system = await startSystem(testConfig(), {}, log);
    let refuse = false;
    const charger = await system.charger('CP001', { profileAnswer: (params) => (refuse && purpose(params) === 'TxProfile' ? 'Rejected' : undefined) });
    const refusedTx = (l: Record<string, any>) => l.level >= 40 && /charger refused a charging profile/.test(l.msg);

    // The car leaves; the charger refuses the cut for the transaction it ended, then says it stopped.
    const tx = await charger.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps([cap(1, 10)]);
    const from = lines.length;
    refuse = true;
    await system.cs.applyCaps([cap(1, 8)]);
    await waitFor(() => lines.slice(from).some((l) => /charger refused (a TxProfile of a running transaction|a charging profile)/.test(l.msg)), 'the EMS handling the refusal');
    await charger.stopTransaction(tx);
    expect(system.events['session.ended'].map((e) => e.transactionId)).toEqual([tx]);
    expect(lines.slice(from).filter((l) => l.level >= 40)).toEqual([]);

    // A charger that refuses the TxProfile of a running transaction twice: warned about.
    refuse = false;
    const next = await charger.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps([cap(1, 10)]);
    refuse = true;
    const from2 = lines.length;
    await system.cs.applyCaps([cap(1, 8)]);
    await waitFor(() => lines.slice(from2).some((l) => /charger refused a TxProfile of a running transaction/.test(l.msg)), 'the first refusal');
    expect(lines.slice(from2).filter(refusedTx)).toEqual([]);
    system.clock.advance(2_000); // past the 1 s backoff
    await system.cs.applyCaps([cap(1, 8)]);
    await waitFor(() => lines.slice(from2).some(refusedTx), 'the warning for the second refusal');
    expect(lines.slice(from2).filter(refusedTx)).toMatchObject([{ connectorId: 1, what: 'TxProfile', answer: 'Rejected', limitA: 8 }]);
    expect(charger.received('SetChargingProfile', (p) => purpose(p) === 'TxProfile' && p.csChargingProfiles.transactionId === next && limitOf(p) === 8)).toHaveLength(2);
  });
});
