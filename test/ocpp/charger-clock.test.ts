// Schedules start from the charger's own clock, learned from its timestamps; sample times and
// queued messages are older than its clock and must not make the EMS re-send everything.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectorCap } from '../../optimizer/types.ts';
import { startSystem, type System } from './system.ts';

const cap = (currentA: number): ConnectorCap => ({ chargerId: 'CP002', connectorId: 1, currentA, phases: 3, reason: { kind: 'charger', text: 'test' } });

describe("the charger's clock", () => {
  let system: System;
  afterEach(async () => system?.stop());

  it('starts TxProfiles from the charger clock, and old sample times do not trigger re-sends', async () => {
    system = await startSystem();
    const charger = await system.charger('CP002');
    const tx = await charger.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps([cap(10)]);
    const txProfiles = () => charger.received('SetChargingProfile', (p) => p.csChargingProfiles.chargingProfilePurpose === 'TxProfile');
    const start = Date.parse(txProfiles().at(-1)!.params.csChargingProfiles.chargingSchedule.startSchedule);
    // The charger's clock (real time), not the EMS's (a test clock in 2026-11), 5 s back.
    expect(Math.abs(start - (Date.now() - 5_000))).toBeLessThan(10_000);
    const sent = charger.received('SetChargingProfile').length;
    for (const lagS of [10, 30, 50, 3600, 1]) {
      await charger.call('MeterValues', {
        connectorId: 1,
        transactionId: tx,
        meterValue: [{ timestamp: new Date(Date.now() - lagS * 1000).toISOString(), sampledValue: [{ value: '9.0', measurand: 'Current.Import', phase: 'L1', unit: 'A' }] }],
      });
      await system.cs.applyCaps([cap(10)]);
    }
    expect(charger.received('SetChargingProfile')).toHaveLength(sent);
  });

  it('takes an earlier charger clock only when its live timestamps agree on it for a minute, not for a queue flushed after a reconnect', async () => {
    system = await startSystem();
    const charger = await system.charger('CP002');
    const tx = await charger.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps([cap(10)]);
    const sets = () => charger.received('SetChargingProfile').length;
    const meter = (chargerMs: number) =>
      charger.call('MeterValues', {
        connectorId: 1,
        transactionId: tx,
        meterValue: [{ timestamp: new Date(chargerMs).toISOString(), sampledValue: [{ value: '9.0', measurand: 'Current.Import', phase: 'L1', unit: 'A' }] }],
      });
    const lastAgeMs = () => system.clock.nowMs() - system.events['connector.meter'].at(-1)!.atMs;
    const sent = sets();
    // A queue flushed at once: samples an hour old, 10 s apart on its clock. They are an hour old.
    const hourAgo = Date.now() - 3_600_000;
    for (let i = 0; i < 6; i++) await meter(hourAgo + i * 10_000);
    expect(sets()).toBe(sent);
    expect(lastAgeMs()).toBeGreaterThan(3_500_000);

    // The charger's clock goes back an hour (it set itself to a clock an hour behind) and it keeps
    // reporting live: its timestamps advance with our monotonic clock.
    const mono0 = system.clock.monotonicMs();
    const chargerNow = () => hourAgo + (system.clock.monotonicMs() - mono0);
    await meter(chargerNow());
    system.clock.advance(30_000);
    await meter(chargerNow());
    expect(sets(), 'not yet: 30 s of agreement').toBe(sent);
    expect(lastAgeMs()).toBeGreaterThan(3_500_000);
    system.clock.advance(31_000);
    await meter(chargerNow());
    // A minute of agreement: its clock is taken, its readings are fresh, its profiles are sent again from its clock.
    expect(lastAgeMs()).toBeLessThan(1_000);
    await system.cs.applyCaps([cap(10)]);
    expect(sets()).toBeGreaterThan(sent);
    const tx2 = charger.received('SetChargingProfile', (p) => p.csChargingProfiles.chargingProfilePurpose === 'TxProfile').at(-1)!;
    const startMs = Date.parse(tx2.params.csChargingProfiles.chargingSchedule.startSchedule);
    expect(Math.abs(startMs - (chargerNow() - 5_000))).toBeLessThan(10_000);
  });
});
