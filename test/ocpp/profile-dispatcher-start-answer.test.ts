// A 1.6 charger learns a transaction's id from the central system's StartTransaction answer, and
// the EMS answers only once the start is on disk (the store's group commit). The session starts in
// the EMS before that, and a control cycle it triggers ran the dispatcher meanwhile: the first
// TxProfile named an id the charger had not been told, and a strict charger refused it. On a
// loaded machine (the demo at load 30, s13's newcomer run) the retry a cycle later was refused too:
// a backoff, a warning-level "refused" path, and the charger's TxProfile stack level stepped down
// for good, all for a race of the EMS's own making. Over loopback with the real central system and
// dispatcher and a strict charger (test/ocpp/fake-charger.ts refuses a TxProfile for a transaction
// it does not know), the durable write held open:
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectorCap } from '../../optimizer/types.ts';
import { MemoryTransactionStore } from '../../src/state/memory-transaction-store.ts';
import { waitFor } from '../helpers/wait-for.ts';
import type { FakeCharger } from './fake-charger.ts';
import { startSystem, testConfig, type System } from './system.ts';

/** A transaction store whose durable write completes only when the test says so. */
class HeldFlushStore extends MemoryTransactionStore {
  private release: (() => void) | undefined;
  private held: Promise<void> | undefined;
  hold(): void {
    this.held = new Promise((resolve) => (this.release = resolve));
  }
  letGo(): void {
    this.release?.();
    this.held = undefined;
  }
  flushed(): Promise<void> {
    return this.held ?? Promise.resolve();
  }
}

const isTxProfile = (params: any) => params.csChargingProfiles.chargingProfilePurpose === 'TxProfile';
const cap = (currentA: number): ConnectorCap => ({ chargerId: 'CP002', connectorId: 1, currentA, phases: 3, reason: { kind: 'charger', text: 'test' } });

describe('the first TxProfile of a transaction', () => {
  let system: System | undefined;
  let charger: FakeCharger | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
    charger = undefined;
  });

  /** CP002 starts a transaction whose StartTransaction answer waits for the held durable write. */
  async function startWithAnswerHeld(): Promise<{ store: HeldFlushStore; started: Promise<number> }> {
    const store = new HeldFlushStore();
    system = await startSystem(testConfig(), { transactions: store });
    charger = await system.charger('CP002');
    store.hold();
    const started = charger.startTransaction(1, 'GUEST01');
    await waitFor(() => system!.events['session.started'].length > 0, 'the session started in the EMS');
    return { store, started };
  }

  it('goes only after the charger has its StartTransaction answer, and is accepted', async () => {
    const { store, started } = await startWithAnswerHeld();
    // A cycle while the answer waits for the disk: the car's cap goes out as far as it can.
    await system!.cs.applyCaps([cap(16)]);
    expect(charger!.received('SetChargingProfile', isTxProfile)).toEqual([]);
    store.letGo();
    const transactionId = await started;
    // The next cycle, once the answer is out.
    await system!.cs.applyCaps([cap(16)]);
    const tx = await charger!.waitForCall('SetChargingProfile', isTxProfile);
    expect(tx.params.csChargingProfiles.transactionId).toBe(transactionId);
    const profiles = system!.events['profile.status'].filter((s) => s.chargerId === 'CP002' && s.connectorId === 1);
    expect(profiles.filter((s) => /refused/.test(s.detail ?? ''))).toEqual([]);
    expect(profiles.at(-1)).toMatchObject({ state: 'accepted', capA: 16 });
  });

  it('while it waits, the connector default binds the car at no more than its cap', async () => {
    const { store, started } = await startWithAnswerHeld();
    await system!.cs.applyCaps([cap(8)]);
    const defaults = charger!.received('SetChargingProfile', (p) => p.connectorId === 1 && p.csChargingProfiles.chargingProfilePurpose === 'TxDefaultProfile');
    expect(defaults.at(-1)?.params.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit).toBe(8);
    store.letGo();
    await started;
  });
});
