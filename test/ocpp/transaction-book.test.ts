// The transaction book outlives a link and, on SQLite, the process: a 2.0.1 station that comes
// back (reconnect, or EMS restart) is steered by its own transaction id at once, before it sends
// another TransactionEvent; a reused station id after an Ended names a new transaction. A car that
// draws under a refused tag stays reserved across a reconnect and a restart until its connector is free.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectorCap } from '../../optimizer/types.ts';
import { ManualClock } from '../../src/clock.ts';
import { TransactionBook } from '../../src/ocpp/transaction-book.ts';
import { openStorage } from '../../src/storage/open-storage.ts';
import { FakeCharger } from './fake-charger.ts';
import { FakeStation201 } from './fake-station-201.ts';
import { startSystem, T0, type System } from './system.ts';

const cap = (chargerId: string, connectorId: number, currentA: number): ConnectorCap => ({ chargerId, connectorId, currentA, phases: 3, reason: { kind: 'charger', text: 'test' } });
const txProfilesFor = (s: FakeStation201, stationTxId: string) =>
  s.received('SetChargingProfile', (p) => p.chargingProfile.chargingProfilePurpose === 'TxProfile' && p.chargingProfile.transactionId === stationTxId);
const occupied = (s: FakeStation201, evseId: number) => s.call('StatusNotification', { timestamp: new Date().toISOString(), connectorStatus: 'Occupied', evseId, connectorId: 1 });

describe('the transaction book', () => {
  let system: System | undefined;
  const stations: FakeStation201[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(stations.splice(0).map((s) => s.close().catch(() => undefined)));
    await system?.stop();
    system = undefined;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function bootedStation(port: number, stationTx?: { evseId: number; id: string }): Promise<FakeStation201> {
    const s = new FakeStation201(port, 'CP001');
    stations.push(s);
    if (stationTx) s.activeTx.set(stationTx.evseId, stationTx.id);
    await s.connect();
    return s;
  }

  it('steers a reconnected 2.0.1 station by its transaction id before it reports the transaction again', async () => {
    system = await startSystem();
    const first = await bootedStation(system.cs.port);
    const ready = system.cs.whenReady('CP001');
    await first.boot();
    await ready;
    await first.transactionEvent('Started', 'uuid-r1', { evse: { id: 2, connectorId: 1 }, idToken: { idToken: 'GUEST01', type: 'ISO14443' } });
    const transactionId = system.events['session.started'][0]!.transactionId;
    await system.cs.applyCaps([cap('CP001', 2, 16)]);
    expect(txProfilesFor(first, 'uuid-r1')).toHaveLength(1);
    await first.close();

    // Back on a new socket, no boot, no TransactionEvent: only its EVSE reported occupied.
    const again = await bootedStation(system.cs.port, { evseId: 2, id: 'uuid-r1' });
    const setUp = system.cs.whenReady('CP001');
    await occupied(again, 2);
    await setUp;
    expect(system.cs.book.stationIdOf(transactionId)).toBe('uuid-r1');
    expect(system.cs.book.byStationId('CP001', 'uuid-r1')).toBe(transactionId);
    expect(system.cs.book.active('CP001', 2)).toBe(transactionId);
    await system.cs.applyCaps([cap('CP001', 2, 8)]);
    const sent = txProfilesFor(again, 'uuid-r1');
    expect(sent.map((c) => c.params.chargingProfile.chargingSchedule[0].chargingSchedulePeriod[0].limit)).toContain(8);
    expect(again.evseA(2)).toBeLessThanOrEqual(8);
    expect(system.state.connector('CP001', 2)?.profile).toMatchObject({ state: 'accepted', capA: 8 });
    expect(system.events['session.started']).toHaveLength(1);
  });

  it('keeps the station ids in SQLite across a restart, forgets one at its Ended, and a reused id names a new transaction', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ems-book-'));
    dirs.push(dir);
    const path = join(dir, 'ems.sqlite');
    let storage = openStorage(path, new ManualClock(T0));
    system = await startSystem(undefined, { transactions: new TransactionBook(storage.transactions, storage.stationIds) });
    const s = await bootedStation(system.cs.port);
    await s.boot();
    await s.transactionEvent('Started', 'uuid-a', { evse: { id: 1, connectorId: 1 }, idToken: { idToken: 'GUEST01', type: 'ISO14443' } });
    await s.transactionEvent('Started', 'uuid-b', { evse: { id: 2, connectorId: 1 }, idToken: { idToken: 'FLEET01', type: 'ISO14443' } });
    const [a, b] = system.events['session.started'].map((e) => e.transactionId);
    await s.close();
    await system.stop();
    storage.close();

    // The process is gone; a new one opens the same database.
    storage = openStorage(path, new ManualClock(T0));
    system = await startSystem(undefined, { transactions: new TransactionBook(storage.transactions, storage.stationIds) });
    expect(system.events['session.started'].map((e) => [e.connectorId, e.transactionId])).toEqual([
      [1, a],
      [2, b],
    ]);
    expect([system.cs.book.stationIdOf(a!), system.cs.book.stationIdOf(b!)]).toEqual(['uuid-a', 'uuid-b']);
    const again = await bootedStation(system.cs.port, { evseId: 1, id: 'uuid-a' });
    again.activeTx.set(2, 'uuid-b');
    const setUp = system.cs.whenReady('CP001');
    await occupied(again, 1);
    await setUp;
    await system.cs.applyCaps([cap('CP001', 1, 10), cap('CP001', 2, 7)]);
    expect(txProfilesFor(again, 'uuid-a').at(-1)?.params.evseId).toBe(1);
    expect(txProfilesFor(again, 'uuid-b').at(-1)?.params.evseId).toBe(2);
    expect([again.evseA(1), again.evseA(2)]).toEqual([10, 7]);

    // uuid-a ends; the station (after a reboot, say) names a new transaction uuid-a on EVSE 1.
    await again.transactionEvent('Ended', 'uuid-a', { transactionInfo: { transactionId: 'uuid-a', stoppedReason: 'EVDisconnected' } });
    expect(system.cs.book.byStationId('CP001', 'uuid-a')).toBeUndefined();
    expect(storage.stationIds.load().map((r) => r.stationTxId)).toEqual(['uuid-b']);
    await again.transactionEvent('Started', 'uuid-a', { evse: { id: 1, connectorId: 1 }, idToken: { idToken: 'GUEST01', type: 'ISO14443' } });
    const fresh = system.events['session.started'].at(-1)!.transactionId;
    expect(fresh).not.toBe(a);
    expect(system.cs.book.byStationId('CP001', 'uuid-a')).toBe(fresh);
    await again.close();
    await system.stop();
    system = undefined;
    storage.close();
  });
});

describe('a refused tag in the transaction book', () => {
  let system: System | undefined;
  const chargers: FakeCharger[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(chargers.splice(0).map((c) => c.close().catch(() => undefined)));
    await system?.stop();
    system = undefined;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const drawing = (c: FakeCharger, connectorId: number, transactionId: number, currentA: number) =>
    c.call('MeterValues', {
      connectorId,
      transactionId,
      meterValue: [{ timestamp: new Date(T0).toISOString(), sampledValue: [1, 2, 3].map((phase) => ({ value: currentA.toFixed(1), measurand: 'Current.Import', phase: `L${phase}`, unit: 'A' })) }],
    });
  const status = (c: FakeCharger, connectorId: number, value: string) => c.call('StatusNotification', { connectorId, errorCode: 'NoError', status: value, timestamp: new Date(T0).toISOString() });
  const reservedA = (s: System, connectorId: number) => s.state.snapshot(s.clock.nowMs()).connectors.find((c) => c.chargerId === 'CP001' && c.connectorId === connectorId)?.reservedA ?? 0;
  /** CP001 back on a new socket without booting, as after a dropped link or an EMS restart. */
  async function backWithoutBoot(s: System): Promise<FakeCharger> {
    const again = new FakeCharger({ port: s.cs.port, identity: 'CP001', connectors: 2 });
    chargers.push(again);
    await again.connect();
    const setUp = s.cs.whenReady('CP001');
    await status(again, 1, 'Charging');
    await setUp;
    return again;
  }

  it('keeps a car drawing under a refused tag reserved at the charger max across a reconnect, until its connector is free', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    const refused = await charger.call('StartTransaction', { connectorId: 1, idTag: 'NOBODY', meterStart: 0, timestamp: new Date(T0).toISOString() });
    expect(refused.idTagInfo.status).toBe('Invalid');
    await drawing(charger, 1, refused.transactionId, 16);
    expect(reservedA(system, 1)).toBe(32);
    await charger.close();

    const again = await backWithoutBoot(system);
    // The new link knows the refused car draws: still reserved, also after a control round.
    expect(system.cs.book.active('CP001', 1)).toBeUndefined();
    expect(reservedA(system, 1)).toBe(32);
    await system.cs.applyCaps([cap('CP001', 1, 10), cap('CP001', 2, 10)]);
    expect(reservedA(system, 1)).toBe(32);
    // It stops drawing, then the connector is free: nothing reserved, no session ever opened.
    await drawing(again, 1, refused.transactionId, 0);
    expect(reservedA(system, 1)).toBe(0);
    await drawing(again, 1, refused.transactionId, 12);
    expect(reservedA(system, 1)).toBe(32);
    await status(again, 1, 'Available');
    expect(reservedA(system, 1)).toBe(0);
    expect(system.events['session.started']).toHaveLength(0);
  });

  it('keeps it in SQLite across an EMS restart: reserved before the charger is back, a repeated start gets the same id, freed by Available', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ems-refused-'));
    dirs.push(dir);
    const path = join(dir, 'ems.sqlite');
    let storage = openStorage(path, new ManualClock(T0));
    const book = (s: typeof storage) => new TransactionBook(s.transactions, s.stationIds, s.refused);
    system = await startSystem(undefined, { transactions: book(storage) });
    const charger = await system.charger('CP001');
    const start = { connectorId: 1, idTag: 'NOBODY', meterStart: 0, timestamp: new Date(T0).toISOString() };
    const refused = await charger.call('StartTransaction', start);
    await drawing(charger, 1, refused.transactionId, 16);
    expect(storage.refused.load()).toMatchObject([{ chargerId: 'CP001', connectorId: 1, transactionId: refused.transactionId, drawing: true }]);
    await charger.close();
    await system.stop();
    storage.close();

    // A new process on the same database: the connector counts at the charger max from the first cycle on.
    storage = openStorage(path, new ManualClock(T0));
    system = await startSystem(undefined, { transactions: book(storage) });
    expect(reservedA(system, 1)).toBe(32);
    const again = await backWithoutBoot(system);
    expect(reservedA(system, 1)).toBe(32);
    // The charger repeats the start whose answer it lost: the same transaction, still no session.
    expect(await again.call('StartTransaction', start)).toEqual({ transactionId: refused.transactionId, idTagInfo: { status: 'Invalid' } });
    expect(system.events['session.started']).toHaveLength(0);
    await status(again, 1, 'Available');
    expect(reservedA(system, 1)).toBe(0);
    expect(storage.refused.load()).toEqual([]);
    await again.close();
    await system.stop();
    system = undefined;
    storage.close();
  });
});
