// #9 power-up: the chargers of a 40 A row boot with their cars waiting, and each car's session
// starts while its charger's boot setup is still running (capabilities, failsafe floor, connector
// default, the charger-wide lift, meter sampling). Session 10 traced the EMS seeing those sessions
// with their connectors still reserved at the charger's 32 A max, although the charger had
// confirmed its floor and default (12.6 A): the setup reported its connectors only when it was
// through, and held nothing the floor bounded. Each car counted at 32 A for a car response, the
// three waited at 0 A for ~5 s. Here, at the boundary the control loop reads (the site state's
// snapshot), with the real central system and a strict charger over loopback whose answers are
// held where the race puts them:
// - a car that starts once the charger confirmed its floor (before the lift goes out) counts at
//   what the floor and default let it draw, not at the charger's max;
// - a car whose session started before the charger confirmed any limit (its StartTransaction
//   stamped then, delivered later) counts at the max until a decision has recorded it (the car
//   may have been offered its max and follows the lower limit only a car response later).
import { afterEach, describe, expect, it } from 'vitest';
import type { Decision } from '../../optimizer/types.ts';
import { ChargerHoldings, type ProfileSlot } from '../../src/ocpp/charger-holdings.ts';
import { MemoryHoldingsStore } from '../../src/ocpp/holdings-store.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { FakeCharger } from './fake-charger.ts';
import { startSystem, testConfig, T0, type System } from './system.ts';

const ROW = testConfig({
  grid: { maxCurrent: 40, safetyMargin: 0.05 },
  chargers: ['CP1', 'CP2', 'CP3'].map((id) => ({ id, connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3 })),
});
/** The static share of each: 40 A less 5 %, over three chargers. */
const SHARE_A = 12.6;

const purpose = (params: any): string => params.csChargingProfiles.chargingProfilePurpose;
const isLift = (params: any) => purpose(params) === 'ChargePointMaxProfile' && params.csChargingProfiles.stackLevel > 0;
const isFloor = (params: any) => purpose(params) === 'ChargePointMaxProfile' && params.csChargingProfiles.stackLevel === 0;

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** What the control loop would count the connector at now (the snapshot's reservation), with its session. */
function counted(system: System, chargerId: string) {
  const c = system.state.snapshot(system.clock.nowMs()).connectors.find((x) => x.chargerId === chargerId)!;
  return { reservedA: c.reservedA ?? 0, session: c.session !== null };
}

describe('a car that starts while its charger is being set up after a boot', () => {
  let system: System | undefined;
  let charger: FakeCharger | undefined;
  afterEach(async () => {
    await charger?.close().catch(() => undefined);
    await system?.stop();
    system = undefined;
    charger = undefined;
  });

  it('counts at what the confirmed floor and default let it draw, not at the charger max', async () => {
    system = await startSystem(ROW);
    const lift = gate();
    charger = new FakeCharger({ port: system.cs.port, identity: 'CP1', profileGate: (p) => (isLift(p) ? lift.promise : undefined) });
    await charger.connect();
    await charger.boot();
    // The floor and the connector default are answered; the lift is on the wire, the setup not through.
    await charger.waitForCall('SetChargingProfile', isLift);
    system.clock.advance(200);
    await charger.startTransaction(1, 'GUEST01', 1000, new Date().toISOString());
    await waitFor(() => counted(system!, 'CP1').session, 'the session in the site state');
    expect(counted(system, 'CP1').reservedA).toBeLessThanOrEqual(SHARE_A + 0.05);
    lift.open();
    await system.cs.whenReady('CP1');
    expect(counted(system, 'CP1').reservedA).toBeLessThanOrEqual(SHARE_A + 0.05);
  });

  it('counts at the floor once it is confirmed, while the connector default is still on the wire', async () => {
    system = await startSystem(ROW);
    const held = gate();
    charger = new FakeCharger({ port: system.cs.port, identity: 'CP1', profileGate: (p) => (purpose(p) === 'TxDefaultProfile' ? held.promise : undefined) });
    await charger.connect();
    await charger.boot();
    await charger.waitForCall('SetChargingProfile', (p) => purpose(p) === 'TxDefaultProfile');
    system.clock.advance(200);
    await charger.startTransaction(1, 'GUEST01', 1000, new Date().toISOString());
    await waitFor(() => counted(system!, 'CP1').session, 'the session in the site state');
    expect(counted(system, 'CP1').reservedA).toBeLessThanOrEqual(SHARE_A + 0.05);
    held.open();
    await system.cs.whenReady('CP1');
  });

  it('counts a car stamped before the charger confirmed any limit at the max until a decision has seen it', async () => {
    system = await startSystem(ROW);
    const floor = gate();
    charger = new FakeCharger({ port: system.cs.port, identity: 'CP1', profileGate: (p) => (isFloor(p) ? floor.promise : undefined) });
    await charger.connect();
    await charger.boot();
    await charger.waitForCall('SetChargingProfile', isFloor);
    // The charger's clock as the EMS learns it (a StatusNotification stamped now).
    const chargerNow = Date.now();
    await charger.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Preparing', timestamp: new Date(chargerNow).toISOString() });
    system.clock.advance(2_000);
    floor.open();
    await system.cs.whenReady('CP1');
    // Confirmed 2 s after the car started: its StartTransaction, stamped then, comes only now.
    await charger.startTransaction(1, 'GUEST01', 1000, new Date(chargerNow + 1_000).toISOString());
    await waitFor(() => counted(system!, 'CP1').session, 'the session in the site state');
    expect(system.events['session.started'].at(-1)?.offeredA).toBe(32);
    expect(counted(system, 'CP1').reservedA).toBe(32);
    // A decision on that snapshot recorded it (the optimizer keeps it for a car response); then it goes.
    system.bus.emit('decision', { atMs: system.clock.nowMs(), caps: [], nextState: undefined as never, failsafe: false, headroom: undefined as never } as Decision);
    expect(counted(system, 'CP1').reservedA).toBeLessThanOrEqual(SHARE_A + 0.05);
  });
});

describe('the failsafe floor as a bound while a charger is set up', () => {
  const settings = { chargerId: 'CP1', connectors: 1, maxA: 32, shareA: SHARE_A, liftDurationMs: 300_000 };
  const confirm = (slot: ProfileSlot, limitA: number, atMs: number, durationMs?: number) => {
    slot.begin({ limitA, phases: 3, sentAtMs: atMs, ...(durationMs === undefined ? {} : { expiresAtMs: atMs + durationMs }) });
    slot.accepted();
  };

  it('bounds a connector with no confirmed default only until a lift may be in force', () => {
    const held = new ChargerHoldings(settings);
    held.reconnected(true);
    expect(held.holdA(1, undefined, 0)).toBe(32);
    confirm(held.floor, SHARE_A, 0);
    expect(held.holdA(1, undefined, 100)).toBe(SHARE_A);
    held.lift.begin({ limitA: 32, phases: 3, sentAtMs: 200, expiresAtMs: 200 + 300_000 });
    expect(held.holdA(1, undefined, 200)).toBe(32);
  });

  it('keeps a lift held before a boot possible until its duration ends', () => {
    const held = new ChargerHoldings(settings);
    held.reconnected(true);
    confirm(held.floor, SHARE_A, 0);
    confirm(held.lift, 32, 0, 300_000);
    held.reconnected(true);
    confirm(held.floor, SHARE_A, 1_000);
    expect(held.holdA(1, undefined, 2_000)).toBe(32);
    expect(held.holdA(1, undefined, 300_001)).toBe(SHARE_A);
  });

  it('counts a lift an earlier EMS process recorded for one lift duration after a restart', () => {
    const store = new MemoryHoldingsStore();
    const sink = { save: (slot: string, limitA: number) => store.save({ chargerId: 'CP1', slot, limitA }), remove: (slot: string) => store.remove('CP1', slot) };
    const first = new ChargerHoldings(settings, sink);
    first.reconnected(true);
    confirm(first.lift, 32, 0, 300_000);
    expect(store.load()).toContainEqual({ chargerId: 'CP1', slot: 'lift:0', limitA: 32 });
    // The EMS restarts 10 s later; the charger boots and confirms its floor.
    const restarted = new ChargerHoldings(settings, sink);
    restarted.restore(store.load(), 10_000);
    restarted.reconnected(true);
    confirm(restarted.floor, SHARE_A, 11_000);
    expect(restarted.holdA(1, undefined, 12_000)).toBe(32);
    expect(restarted.holdA(1, undefined, 310_001)).toBe(SHARE_A);
  });
});
