// Chargers that cannot be capped, chargers that do not answer, and refused tags, against strict
// ocpp-rpc peers (1.6 and 2.0.1 with the official schemas): what the EMS counts them at.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectorCap } from '../../optimizer/types.ts';
import { capturingLogger, startSystem, testConfig, type System } from './system.ts';
import { FakeStation201 } from './fake-station-201.ts';

const cap = (chargerId: string, connectorId: number, currentA: number): ConnectorCap => ({ chargerId, connectorId, currentA, phases: 3, reason: { kind: 'charger', text: 'test' } });

describe('chargers that cannot be capped', () => {
  let system: System;
  const stations: FakeStation201[] = [];

  afterEach(async () => {
    await Promise.all(stations.splice(0).map((s) => s.close().catch(() => undefined)));
    await system?.stop();
  });

  async function station(identity: string, smartCharging: FakeStation201['smartCharging']): Promise<FakeStation201> {
    const s = new FakeStation201(system.cs.port, identity);
    s.smartCharging = smartCharging;
    stations.push(s);
    await s.connect();
    const ready = system.cs.whenReady(identity);
    await s.boot();
    await ready;
    return s;
  }

  const reservedA = (chargerId: string, connectorId: number) =>
    system.state.snapshot(system.clock.nowMs()).connectors.find((c) => c.chargerId === chargerId && c.connectorId === connectorId)?.reservedA;

  it('reserves a 2.0.1 station that answers CALLERROR NotImplemented at its max on every EVSE, idle or not, and asks it once per boot', async () => {
    const { log, lines } = await capturingLogger();
    system = await startSystem(undefined, {}, log);
    const s = await station('CP001', 'not-implemented');
    const profilesAsked = () => s.calls.filter((c) => c.action === 'SetChargingProfile').length;
    expect(profilesAsked()).toBe(1);
    expect(reservedA('CP001', 1)).toBe(32);
    expect(reservedA('CP001', 2)).toBe(32);
    expect(system.state.connector('CP001', 1)?.profile).toMatchObject({ state: 'rejected', uncontrollable: true });
    for (let i = 0; i < 30; i++) {
      await system.cs.applyCaps([cap('CP001', 1, 10), cap('CP001', 2, 0)]);
      system.clock.advance(2_000);
    }
    expect(profilesAsked()).toBe(1);
    const warnings = lines.filter((l) => /cannot be capped/.test(l.msg) && l.level >= 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/smartCharging: false/);
    // The other charger's static share shrank around the 64 A now reserved.
    const cp2 = await system.charger('CP002');
    const floor = cp2.received('SetChargingProfile', (p) => p.csChargingProfiles.chargingProfilePurpose === 'ChargePointMaxProfile' && p.csChargingProfiles.stackLevel === 0)[0];
    expect(floor!.params.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit).toBeLessThanOrEqual(95 - 64);
  });

  it('reads SmartChargingCtrlr.Enabled = false once and sends that station no profile at all', async () => {
    system = await startSystem();
    const s = await station('CP001', 'disabled');
    expect(s.calls.filter((c) => c.action === 'SetChargingProfile')).toHaveLength(0);
    expect(reservedA('CP001', 1)).toBe(32);
    await system.cs.applyCaps([cap('CP001', 1, 10)]);
    expect(s.calls.filter((c) => c.action === 'SetChargingProfile')).toHaveLength(0);
  });

  it('reads SupportedFeatureProfiles once on a 1.6 charger without SmartCharging and reserves it', async () => {
    system = await startSystem();
    const charger = await system.charger('CP002', { configuration: [{ key: 'SupportedFeatureProfiles', readonly: true, value: 'Core,RemoteTrigger' }] });
    expect(charger.received('GetConfiguration')).toHaveLength(1);
    expect(charger.received('SetChargingProfile')).toHaveLength(0);
    expect(reservedA('CP002', 1)).toBe(32);
  });

  it('takes chargers[].smartCharging: false from the config: reserved from connect, never sent a profile', async () => {
    const base = testConfig();
    system = await startSystem({ ...base, chargers: base.chargers.map((c) => (c.id === 'CP002' ? { ...c, smartCharging: false } : c)) });
    const charger = await system.charger('CP002');
    expect(charger.received('SetChargingProfile')).toHaveLength(0);
    expect(reservedA('CP002', 1)).toBe(32);
  });

  it('counts a charger that never answers its profiles at its max until it does', async () => {
    system = await startSystem(undefined, { callTimeoutMs: 300 });
    let silent = true;
    const charger = await system.charger('CP002', { profileAnswer: () => (silent ? 'silent' : undefined) });
    // Its whole setup went unanswered: it holds whatever it held, counted at its max.
    expect(reservedA('CP002', 1)).toBe(32);
    await charger.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps([cap('CP002', 1, 10)]);
    expect(reservedA('CP002', 1)).toBe(32);
    silent = false;
    for (let i = 0; i < 5; i++) {
      system.clock.advance(70_000);
      await system.cs.applyCaps([cap('CP002', 1, 10)]);
    }
    expect(charger.received('SetChargingProfile', (p) => p.csChargingProfiles.chargingProfilePurpose === 'TxProfile').length).toBeGreaterThan(0);
    expect(reservedA('CP002', 1) ?? 0).toBeLessThanOrEqual(10);
  });

  it('finds a charger that ignores its profiles: the car draws above every limit it holds for longer than the response time', async () => {
    const { log, lines } = await capturingLogger();
    system = await startSystem(undefined, { meterSampleIntervalS: 10 }, log);
    const charger = await system.charger('CP002');
    const tx = await charger.startTransaction(1, 'GUEST01', 1000, new Date(system.clock.nowMs()).toISOString());
    await system.cs.applyCaps([cap('CP002', 1, 10)]);
    // Stamped by the charger's clock, which moves with time (readings are judged when they were measured).
    const draw = (a: number) =>
      charger.call('MeterValues', {
        connectorId: 1,
        transactionId: tx,
        meterValue: [{ timestamp: new Date(system.clock.nowMs()).toISOString(), sampledValue: [1, 2, 3].map((p) => ({ value: String(a), measurand: 'Current.Import', phase: `L${p}`, unit: 'A' })) }],
      });
    // One sample above the cap (the car still ramping down) is not enough...
    await draw(25);
    system.clock.advance(10_000);
    await draw(9.5);
    system.clock.advance(10_000);
    expect(system.state.connector('CP002', 1)?.profile?.uncontrollable).toBeUndefined();
    // ...drawing 25 A under a 10 A limit for 30 s is.
    for (let i = 0; i < 4; i++) {
      await draw(25);
      system.clock.advance(10_000);
    }
    expect(system.state.connector('CP002', 1)?.profile).toMatchObject({ uncontrollable: true, reserveA: 32 });
    expect(lines.find((l) => /cannot be capped/.test(l.msg) && l.level === 40)?.reason).toMatch(/ignores charging profiles/);
  });

  it('opens no session for a TransactionEvent whose token is refused, and serves the next one', async () => {
    system = await startSystem();
    const s = await station('CP001', 'yes');
    const refused = await s.transactionEvent('Started', 'tx-bad', { evse: { id: 1, connectorId: 1 }, idToken: { idToken: 'NOBODY', type: 'ISO14443' } });
    expect(refused).toEqual({ idTokenInfo: { status: 'Invalid' } });
    expect(system.events['session.started']).toHaveLength(0);
    await s.transactionEvent('Ended', 'tx-bad', { transactionInfo: { transactionId: 'tx-bad', stoppedReason: 'DeAuthorized' } });
    expect(system.events['session.ended']).toHaveLength(0);
    await s.transactionEvent('Started', 'tx-good', { evse: { id: 1, connectorId: 1 }, idToken: { idToken: 'GUEST01', type: 'ISO14443' } });
    expect(system.events['session.started']).toHaveLength(1);
  });

  it('refuses sessions on an uncontrollable charger while the site cannot afford it (control.uncontrollable: refuse-sessions)', async () => {
    const base = testConfig();
    system = await startSystem({ ...base, control: { ...base.control, uncontrollable: 'refuse-sessions' }, chargers: base.chargers.map((c) => (c.id === 'CP002' ? { ...c, smartCharging: false } : c)) });
    const charger = await system.charger('CP002');
    // No decision yet: the site cannot tell it can afford 32 A.
    expect(await charger.call('Authorize', { idTag: 'GUEST01' })).toEqual({ idTagInfo: { status: 'Blocked' } });
    const headroom = (a: number) => ({ limitA: [95, 95, 95] as [number, number, number], headroomA: [a, a, a] as [number, number, number], buildingA: [0, 0, 0] as [number, number, number], binding: { kind: 'none' as const, text: 'no limit binds' } });
    system.bus.emit('decision', { atMs: system.clock.nowMs(), caps: [], nextState: { connectors: {} }, failsafe: false, headroom: headroom(20) });
    expect(await charger.call('Authorize', { idTag: 'GUEST01' })).toEqual({ idTagInfo: { status: 'Accepted' } });
    system.bus.emit('decision', { atMs: system.clock.nowMs(), caps: [], nextState: { connectors: {} }, failsafe: false, headroom: headroom(-4) });
    expect(await charger.call('Authorize', { idTag: 'GUEST01' })).toEqual({ idTagInfo: { status: 'Blocked' } });
  });
});
