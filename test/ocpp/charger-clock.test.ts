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
});
