import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectorCap } from '../../optimizer/types.ts';
import { startSystem, type System } from './system.ts';
import { waitFor } from '../helpers/wait-for.ts';

const cap = (chargerId: string, connectorId: number, currentA: number, phases: 1 | 3 = 3): ConnectorCap => ({
  chargerId,
  connectorId,
  currentA,
  phases,
  reason: { kind: 'charger', text: 'test' },
});

const txProfiles = (params: any) => params.csChargingProfiles.chargingProfilePurpose === 'TxProfile';
const limitOf = (params: any) => params.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit;

describe('applyCaps', () => {
  let system: System;
  afterEach(async () => system?.stop());

  it('sends a TxProfile for the running transaction: its id, a 0.1 A multiple, the configured duration', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    const tx = await charger.startTransaction(1, 'GUEST01');
    const result = await system.cs.applyCaps([cap('CP001', 1, 16.05)]);
    expect(result).toEqual({ sent: 1, unconfirmedDecreases: 0 });
    const [sent] = charger.received('SetChargingProfile', txProfiles);
    expect(sent.params).toEqual({
      connectorId: 1,
      csChargingProfiles: {
        chargingProfileId: 201,
        transactionId: tx,
        stackLevel: 1,
        chargingProfilePurpose: 'TxProfile',
        chargingProfileKind: 'Absolute',
        chargingSchedule: {
          // From the charger's own clock (its timestamps), not the EMS's: 5 s back.
          startSchedule: expect.any(String),
          duration: 300,
          chargingRateUnit: 'A',
          chargingSchedulePeriod: [{ startPeriod: 0, limit: 16, numberPhases: 3 }],
        },
      },
    });
    expect(charger.profiles.get(201)?.profile.transactionId).toBe(tx);
    expect(system.events['profile.status'].filter((s) => s.connectorId === 1 && s.detail === undefined)).toMatchObject([
      { state: 'pending', capA: 16, previousCapA: 31.6 },
      { state: 'accepted', capA: 16 },
    ]);
    expect(system.state.snapshot(system.clock.nowMs()).connectors.find((c) => c.chargerId === 'CP001' && c.connectorId === 1)?.installedCapA).toBe(16);
  });

  it('sends a pause as limit 0 and single-phase caps with numberPhases 1', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    await charger.startTransaction(1, 'GUEST01');
    await charger.startTransaction(2, 'GUEST01');
    await system.cs.applyCaps([cap('CP001', 1, 0), cap('CP001', 2, 7.3, 1)]);
    const sent = charger.received('SetChargingProfile', txProfiles).map((c) => [c.params.connectorId, limitOf(c.params), c.params.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].numberPhases]);
    expect(sent).toEqual([
      [1, 0, 3],
      [2, 7.3, 1],
    ]);
  });

  it('gives an idle connector its cap as a TxDefaultProfile on that connector', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    await system.cs.applyCaps([cap('CP001', 2, 8)]);
    const idle = charger.received('SetChargingProfile', (p) => p.connectorId === 2 && limitOf(p) === 8);
    expect(idle).toHaveLength(1);
    expect(idle[0].params.csChargingProfiles).toMatchObject({ chargingProfileId: 102, chargingProfilePurpose: 'TxDefaultProfile', stackLevel: 0 });
    expect(idle[0].params.csChargingProfiles.chargingSchedule.duration).toBeUndefined();
  });

  it('re-sends only what changed by 0.1 A or more, and refreshes a TxProfile at half its duration', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    await charger.startTransaction(1, 'GUEST01');
    expect((await system.cs.applyCaps([cap('CP001', 1, 16)])).sent).toBe(1);
    expect((await system.cs.applyCaps([cap('CP001', 1, 16)])).sent).toBe(0);
    expect((await system.cs.applyCaps([cap('CP001', 1, 16.09)])).sent).toBe(0);
    expect((await system.cs.applyCaps([cap('CP001', 1, 15.9)])).sent).toBe(1);
    system.clock.advance(149_000);
    expect((await system.cs.applyCaps([cap('CP001', 1, 15.9)])).sent).toBe(0);
    system.clock.advance(1_000);
    expect((await system.cs.applyCaps([cap('CP001', 1, 15.9)])).sent).toBe(1);
    expect(charger.received('SetChargingProfile', txProfiles).map((c) => limitOf(c.params))).toEqual([16, 15.9, 15.9]);
  });

  it('confirms every decrease, on every charger, before any increase goes out', async () => {
    system = await startSystem();
    const gates: (() => void)[] = [];
    let holdDecreases = false;
    const release = () => {
      holdDecreases = false;
      for (const open of gates.splice(0)) open();
    };
    const a = await system.charger('CP001', {
      profileGate: () => (holdDecreases ? new Promise<void>((resolve) => gates.push(resolve)) : undefined),
    });
    const b = await system.charger('CP002');
    await a.startTransaction(1, 'GUEST01');
    await b.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps([cap('CP001', 1, 20), cap('CP002', 1, 10)]);

    // Capacity moves from CP001 to CP002.
    holdDecreases = true;
    const before = b.calls.length;
    const applying = system.cs.applyCaps([cap('CP001', 1, 10), cap('CP002', 1, 20)]);
    // The default goes first on a decrease (never above the TxProfile in force), then the TxProfile.
    const decrease = await a.waitForCall('SetChargingProfile', (p) => p.connectorId === 1 && limitOf(p) === 10);
    expect(b.calls.slice(before)).toEqual([]);
    expect(system.state.connector('CP001', 1)?.profile).toMatchObject({ state: 'pending', capA: 10, previousCapA: 20 });
    release();
    expect(await applying).toEqual({ sent: 2, unconfirmedDecreases: 0 });
    const increase = b.received('SetChargingProfile', (p) => txProfiles(p) && limitOf(p) === 20)[0];
    expect(increase.seq).toBeGreaterThan(decrease.answeredSeq!);
    for (const call of a.received('SetChargingProfile', (p) => p.connectorId === 1 && limitOf(p) === 10)) expect(increase.seq).toBeGreaterThan(call.answeredSeq!);
  });

  it('sends the connector default before the TxProfile, on a decrease and on a raise', async () => {
    // The EMS could die between the two calls. On a decrease the default must not stay above the
    // TxProfile (a paused car would resume at it when the TxProfile expires); on a raise (a resume)
    // the TxProfile must not go first, or a car the EMS meant to charge falls to the old default
    // (0 A after a pause) when it expires, although its static share allows more (issue #10).
    system = await startSystem();
    const charger = await system.charger('CP001');
    await charger.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps([cap('CP001', 1, 16)]);
    const order = (fromSeq: number) =>
      charger.received('SetChargingProfile', (p) => p.connectorId === 1).filter((c) => c.seq > fromSeq).map((c) => [c.params.csChargingProfiles.chargingProfilePurpose, limitOf(c.params)]);
    let seq = charger.calls.at(-1)!.seq;
    await system.cs.applyCaps([cap('CP001', 1, 0)]);
    expect(order(seq)).toEqual([
      ['TxDefaultProfile', 0],
      ['TxProfile', 0],
    ]);
    seq = charger.calls.at(-1)!.seq;
    system.clock.advance(10_000);
    await system.cs.applyCaps([cap('CP001', 1, 12)]);
    expect(order(seq)).toEqual([
      ['TxDefaultProfile', 12],
      ['TxProfile', 12],
    ]);
    // A raise within 2 s of the last one (control.profileMinIntervalMs) waits, the session's default with its TxProfile.
    seq = charger.calls.at(-1)!.seq;
    await system.cs.applyCaps([cap('CP001', 1, 8)]);
    system.clock.advance(1_000);
    await system.cs.applyCaps([cap('CP001', 1, 14)]);
    system.clock.advance(1_000);
    await system.cs.applyCaps([cap('CP001', 1, 14)]);
    expect(order(seq)).toEqual([
      ['TxDefaultProfile', 8],
      ['TxProfile', 8],
      ['TxDefaultProfile', 14],
      ['TxProfile', 14],
    ]);
  });

  it('holds every increase while a decrease is refused, reserves that connector, and retries with backoff', async () => {
    system = await startSystem();
    let refuse = false;
    const a = await system.charger('CP001', { profileAnswer: (p) => (refuse && txProfiles(p) ? 'Rejected' : undefined) });
    const b = await system.charger('CP002');
    await a.startTransaction(1, 'GUEST01');
    await b.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps([cap('CP001', 1, 20), cap('CP002', 1, 10)]);

    refuse = true;
    const before = b.received('SetChargingProfile').length;
    expect(await system.cs.applyCaps([cap('CP001', 1, 10), cap('CP002', 1, 20)])).toEqual({ sent: 1, unconfirmedDecreases: 1 });
    expect(b.received('SetChargingProfile')).toHaveLength(before);
    // The connector still holds its old TxProfile: that stays reserved.
    expect(system.state.connector('CP001', 1)?.profile).toMatchObject({ state: 'accepted', capA: 20, reserveA: 20 });
    expect(system.state.snapshot(system.clock.nowMs()).connectors.find((c) => c.chargerId === 'CP001' && c.connectorId === 1)?.reservedA).toBe(20);

    // Within the first backoff step (1 s) nothing goes to the refusing charger. The next decision
    // already counts its full max as reserved, so the other charger's increase may go out then.
    const refused = a.received('SetChargingProfile', txProfiles).length;
    expect(await system.cs.applyCaps([cap('CP001', 1, 10), cap('CP002', 1, 20)])).toEqual({ sent: 1, unconfirmedDecreases: 0 });
    expect(a.received('SetChargingProfile', txProfiles)).toHaveLength(refused);
    expect(b.received('SetChargingProfile', (p) => txProfiles(p) && limitOf(p) === 20)).toHaveLength(1);

    system.clock.advance(1_000);
    refuse = false;
    expect(await system.cs.applyCaps([cap('CP001', 1, 10), cap('CP002', 1, 20)])).toEqual({ sent: 1, unconfirmedDecreases: 0 });
    expect(system.state.connector('CP001', 1)?.profile).toMatchObject({ state: 'accepted', capA: 10 });
    expect(a.received('SetChargingProfile', txProfiles)).toHaveLength(refused + 1);
  });

  it('never lets the backoff of an old transaction delay the first TxProfile of the next one', async () => {
    system = await startSystem();
    let refusedTx: number | undefined;
    const a = await system.charger('CP001', { profileAnswer: (p) => (txProfiles(p) && p.csChargingProfiles.transactionId === refusedTx ? 'Rejected' : undefined) });
    const first = await a.startTransaction(1, 'GUEST01');
    refusedTx = first;
    // Refused again and again: its backoff grows towards a minute.
    for (let s = 0; s < 40; s++) {
      await system.cs.applyCaps([cap('CP001', 1, 10)]);
      system.clock.advance(1_000);
    }
    await a.stopTransaction(first);
    const second = await a.startTransaction(1, 'GUEST01');
    const before = a.received('SetChargingProfile', (p) => txProfiles(p) && p.csChargingProfiles.transactionId === second).length;
    await system.cs.applyCaps([cap('CP001', 1, 10)]);
    expect(a.received('SetChargingProfile', (p) => txProfiles(p) && p.csChargingProfiles.transactionId === second)).toHaveLength(before + 1);
    expect(system.state.connector('CP001', 1)?.profile).toMatchObject({ state: 'accepted', capA: 10 });
  });

  it('asks a charger that answers NotSupported once: it is uncontrollable, reserved at its max, never asked again', async () => {
    system = await startSystem();
    const a = await system.charger('CP001', { profileAnswer: (p) => (txProfiles(p) ? 'NotSupported' : undefined) });
    await a.startTransaction(1, 'GUEST01');
    const attemptsAt: number[] = [];
    for (let s = 0; s <= 200; s++) {
      const before = a.received('SetChargingProfile', txProfiles).length;
      await system.cs.applyCaps([cap('CP001', 1, 10)]);
      if (a.received('SetChargingProfile', txProfiles).length > before) attemptsAt.push(s);
      system.clock.advance(1_000);
    }
    expect(attemptsAt).toEqual([0]);
    expect(system.state.connector('CP001', 1)?.profile).toMatchObject({ state: 'rejected', uncontrollable: true, reserveA: 32 });
  });

  it('backs off exponentially while a charger keeps refusing, up to a minute', async () => {
    system = await startSystem();
    const a = await system.charger('CP001', { profileAnswer: (p) => (txProfiles(p) ? 'Rejected' : undefined) });
    await a.startTransaction(1, 'GUEST01');
    const attemptsAt: number[] = [];
    for (let s = 0; s <= 200; s++) {
      const before = a.received('SetChargingProfile', txProfiles).length;
      await system.cs.applyCaps([cap('CP001', 1, 10)]);
      if (a.received('SetChargingProfile', txProfiles).length > before) attemptsAt.push(s);
      system.clock.advance(1_000);
    }
    // The first refusal of a new transaction is retried at once (the charger may not have noted it yet).
    expect(attemptsAt).toEqual([0, 1, 2, 4, 8, 16, 32, 64, 124, 184]);
  });

  it('counts an unanswered profile at the higher of old and new once the call times out', async () => {
    system = await startSystem(undefined, { callTimeoutMs: 300 });
    const a = await system.charger('CP001', { profileAnswer: (p) => (txProfiles(p) ? 'silent' : undefined) });
    await a.startTransaction(1, 'GUEST01');
    expect(await system.cs.applyCaps([cap('CP001', 1, 10)])).toEqual({ sent: 1, unconfirmedDecreases: 1 });
    // Installed or not, nobody knows: it counts at the higher of old and new until an answer comes.
    expect(system.state.connector('CP001', 1)?.profile?.state).toBe('pending');
    expect(system.state.connector('CP001', 1)?.profile?.detail).toMatch(/Timeout/i);
  });

  it('rate-limits increases to one connector but never decreases', async () => {
    system = await startSystem();
    const a = await system.charger('CP001');
    await a.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps([cap('CP001', 1, 10)]);
    expect((await system.cs.applyCaps([cap('CP001', 1, 12)])).sent).toBe(1);
    expect((await system.cs.applyCaps([cap('CP001', 1, 14)])).sent).toBe(0);
    expect((await system.cs.applyCaps([cap('CP001', 1, 8)])).sent).toBe(1);
    system.clock.advance(2_000);
    expect((await system.cs.applyCaps([cap('CP001', 1, 14)])).sent).toBe(1);
  });

  it('skips chargers that are offline and sends everything again after they reconnect', async () => {
    system = await startSystem();
    const a = await system.charger('CP001');
    await a.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps([cap('CP001', 1, 10)]);
    const gone = new Promise((resolve) => system.bus.on('charger.disconnected', resolve));
    await a.close();
    await gone;
    expect(await system.cs.applyCaps([cap('CP001', 1, 12)])).toEqual({ sent: 0, unconfirmedDecreases: 0 });

    const again = await system.charger('CP001');
    again.activeTx.set(1, a.activeTx.get(1)!);
    expect((await system.cs.applyCaps([cap('CP001', 1, 10)])).sent).toBe(1);
    expect(again.received('SetChargingProfile', txProfiles).map((c) => limitOf(c.params))).toEqual([10]);
  });

  it('ignores caps for chargers or connectors it does not know', async () => {
    system = await startSystem();
    await system.charger('CP001');
    expect(await system.cs.applyCaps([cap('CP404', 1, 10), cap('CP001', 7, 10)])).toEqual({ sent: 0, unconfirmedDecreases: 0 });
  });

  it('retries at once, without backoff, when a charger refuses the first TxProfile of a transaction it has not noted yet', async () => {
    system = await startSystem();
    let refusals = 1;
    const a = await system.charger('CP001', { profileAnswer: (p) => (txProfiles(p) && refusals-- > 0 ? 'Rejected' : undefined) });
    await a.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps([cap('CP001', 1, 10)]);
    // The default installed at boot still holds, and that is what the state shows.
    // Its default went down to the cap in the same round: that is what holds until the TxProfile goes on.
    expect(system.state.connector('CP001', 1)?.profile).toMatchObject({ state: 'accepted', capA: 10 });
    await system.cs.applyCaps([cap('CP001', 1, 10)]);
    expect(a.received('SetChargingProfile', txProfiles)).toHaveLength(2);
    expect(system.state.connector('CP001', 1)?.profile).toMatchObject({ state: 'accepted', capA: 10 });
  });

  it('does not let a silent charger stall the round: its decrease stays pending and reserved, the others go on', async () => {
    system = await startSystem(undefined, { callTimeoutMs: 10_000, answerWaitMs: 100 });
    let silent = false;
    const a = await system.charger('CP001', { profileAnswer: (p) => (silent && txProfiles(p) ? 'silent' : undefined) });
    const b = await system.charger('CP002');
    await a.startTransaction(1, 'GUEST01');
    await b.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps([cap('CP001', 1, 20), cap('CP002', 1, 10)]);
    // The round waits only answerWaitMs (100 ms) for answers: on a loaded machine they come later.
    await waitFor(() => ['CP001', 'CP002'].every((id) => system.state.connector(id, 1)?.profile?.state === 'accepted'), 'both first caps confirmed');

    silent = true;
    expect(await system.cs.applyCaps([cap('CP001', 1, 10), cap('CP002', 1, 20)])).toEqual({ sent: 1, unconfirmedDecreases: 1 });
    expect(b.received('SetChargingProfile', (p) => txProfiles(p) && limitOf(p) === 20)).toHaveLength(0);
    const snapshot = system.state.snapshot(system.clock.nowMs()).connectors.find((c) => c.chargerId === 'CP001' && c.connectorId === 1);
    expect(snapshot?.reservedA).toBe(20);

    // Still unanswered: not sent again, and no longer holding the others back.
    expect(await system.cs.applyCaps([cap('CP001', 1, 10), cap('CP002', 1, 20)])).toEqual({ sent: 1, unconfirmedDecreases: 0 });
    expect(a.received('SetChargingProfile', (p) => txProfiles(p) && limitOf(p) === 10)).toHaveLength(1);
    // The round waited answerWaitMs (100 ms) for it: on a loaded machine the raise reaches the charger later.
    await waitFor(() => b.received('SetChargingProfile', (p) => txProfiles(p) && limitOf(p) === 20).length > 0, "CP002's raise to 20 A");
    expect(b.received('SetChargingProfile', (p) => txProfiles(p) && limitOf(p) === 20)).toHaveLength(1);
  });
});
