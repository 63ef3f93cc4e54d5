import { afterEach, describe, expect, it } from 'vitest';
import { startSystem, testConfig, type System } from './system.ts';

describe('transactions and meter values', () => {
  let system: System;
  afterEach(async () => system?.stop());

  it('authorizes listed tags, refuses unknown ones, and accepts them at the lowest tier when configured', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    expect(await charger.call('Authorize', { idTag: 'FLEET01' })).toEqual({ idTagInfo: { status: 'Accepted' } });
    expect(await charger.call('Authorize', { idTag: 'fleet01' })).toEqual({ idTagInfo: { status: 'Accepted' } });
    expect(await charger.call('Authorize', { idTag: 'STRANGER' })).toEqual({ idTagInfo: { status: 'Invalid' } });
    await system.stop();

    system = await startSystem(testConfig({ control: { acceptUnknownIdTags: true } }));
    const open = await system.charger('CP001');
    expect(await open.call('Authorize', { idTag: 'STRANGER' })).toEqual({ idTagInfo: { status: 'Accepted' } });
    await open.startTransaction(1, 'STRANGER');
    expect(system.events['session.started'][0].tier).toBe('guest');
  });

  it('assigns an integer transaction id and reports the session with tier, departure and energy need', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    const conf = await charger.call('StartTransaction', { connectorId: 2, idTag: 'FLEET01', meterStart: 1200, timestamp: '2026-11-24T09:59:00Z' });
    expect(Number.isInteger(conf.transactionId)).toBe(true);
    expect(conf.idTagInfo).toEqual({ status: 'Accepted' });
    expect(system.events['session.started']).toEqual([
      {
        chargerId: 'CP001',
        connectorId: 2,
        transactionId: conf.transactionId,
        idTag: 'FLEET01',
        tier: 'fleet',
        startedAtMs: Date.parse('2026-11-24T09:59:00Z'),
        meterStartWh: 1200,
        // 07:30 in Berlin (UTC+1 in November) the next morning
        departureAtMs: Date.parse('2026-11-25T06:30:00Z'),
        energyNeedWh: 40000,
        // Stamped before the charger connected: what it offered the car then is not known (its max).
        offeredA: 32,
      },
    ]);
    expect(system.state.connector('CP001', 2)?.session).toMatchObject({ transactionId: conf.transactionId, tier: 'fleet' });
    expect(system.transactions.open()).toMatchObject([{ transactionId: conf.transactionId, chargerId: 'CP001', connectorId: 2 }]);
  });

  it('gives a session the charger’s tier for an unlisted tag, else the lowest tier', async () => {
    system = await startSystem(testConfig({ control: { acceptUnknownIdTags: true } }));
    const staff = await system.charger('CP002');
    const plain = await system.charger('CP001');
    await staff.startTransaction(1, 'SOMEONE');
    await plain.startTransaction(1, 'SOMEONE');
    expect(system.events['session.started'].map((s) => [s.chargerId, s.tier])).toEqual([
      ['CP002', 'staff'],
      ['CP001', 'guest'],
    ]);
  });

  it('answers a repeated StartTransaction with the same id and no second session', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    const req = { connectorId: 1, idTag: 'GUEST01', meterStart: 10, timestamp: '2026-11-24T09:00:00Z' };
    const first = await charger.call('StartTransaction', req);
    const second = await charger.call('StartTransaction', req);
    expect(second.transactionId).toBe(first.transactionId);
    expect(system.events['session.started']).toHaveLength(1);
  });

  it('ends the session on StopTransaction and clears the TxProfile on that connector, only when one was sent', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    const tx = await charger.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps([{ chargerId: 'CP001', connectorId: 1, currentA: 10, phases: 3, reason: { kind: 'charger', text: 't' } }]);
    expect(await charger.stopTransaction(tx, 9000)).toEqual({});
    expect(system.events['session.ended']).toMatchObject([{ chargerId: 'CP001', connectorId: 1, transactionId: tx, meterStopWh: 9000, reason: 'EVDisconnected' }]);
    expect(system.state.connector('CP001', 1)?.session).toBeNull();
    const clear = await charger.waitForCall('ClearChargingProfile');
    expect(clear.params).toEqual({ connectorId: 1, chargingProfilePurpose: 'TxProfile' });
    expect(system.transactions.get(tx)).toMatchObject({ meterStopWh: 9000, stopReason: 'EVDisconnected' });

    // A transaction that never got a TxProfile: nothing to clear, nothing cleared.
    const second = await charger.startTransaction(1, 'GUEST01');
    await charger.stopTransaction(second, 9500);
    await charger.call('Heartbeat', {});
    expect(charger.received('ClearChargingProfile')).toHaveLength(1);
  });

  it('sends no ClearChargingProfile for a TxProfile the charger refused (issue #10)', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001', { profileAnswer: (p) => (p.csChargingProfiles.chargingProfilePurpose === 'TxProfile' ? 'Rejected' : undefined) });
    const capOf = (currentA: number) => [{ chargerId: 'CP001', connectorId: 1, currentA, phases: 3 as const, reason: { kind: 'charger' as const, text: 't' } }];
    const tx = await charger.startTransaction(1, 'GUEST01');
    await system.cs.applyCaps(capOf(10));
    system.clock.advance(5_000);
    await system.cs.applyCaps(capOf(10));
    expect(charger.received('SetChargingProfile', (p) => p.csChargingProfiles.chargingProfilePurpose === 'TxProfile').length).toBeGreaterThanOrEqual(2);
    await charger.stopTransaction(tx, 9000);
    await charger.call('Heartbeat', {});
    expect(system.events['session.ended']).toHaveLength(1);
    expect(charger.received('ClearChargingProfile')).toHaveLength(0);
  });

  it('accepts a StopTransaction for an unknown id without ending anything', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    expect(await charger.call('StopTransaction', { transactionId: 4242, meterStop: 1, timestamp: new Date().toISOString(), idTag: 'GUEST01' })).toEqual({
      idTagInfo: { status: 'Accepted' },
    });
    expect(system.events['session.ended']).toHaveLength(0);
  });

  it('turns per-phase current, power in kW, energy in kWh and SoC into a connector reading', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    const tx = await charger.startTransaction(1, 'GUEST01', 2000);
    await charger.call('MeterValues', {
      connectorId: 1,
      transactionId: tx,
      meterValue: [
        {
          // 30 s before the charger's clock (real time; the EMS runs on a test clock in 2026-11).
          timestamp: new Date(Date.now() - 30_000).toISOString(),
          sampledValue: [
            { value: '15.5', measurand: 'Current.Import', phase: 'L1', unit: 'A' },
            { value: '15.7', measurand: 'Current.Import', phase: 'L2', unit: 'A' },
            { value: '15.2', measurand: 'Current.Import', phase: 'L3', unit: 'A' },
            { value: '10.8', measurand: 'Power.Active.Import', unit: 'kW' },
            { value: '5.5', measurand: 'Energy.Active.Import.Register', unit: 'kWh' },
            { value: '63', measurand: 'SoC', unit: 'Percent', location: 'EV' },
          ],
        },
      ],
    });
    // 30 s old on the EMS's clock too: ages come from the charger's own clock, not from comparing clocks.
    const [reading] = system.events['connector.meter'];
    expect(system.events['connector.meter']).toHaveLength(1);
    expect(reading).toMatchObject({ chargerId: 'CP001', connectorId: 1, currentA: [15.5, 15.7, 15.2], powerW: 10800, energyWh: 5500, socPct: 63 });
    expect(Math.abs(reading!.atMs - (system.clock.nowMs() - 30_000))).toBeLessThan(2_000);
    const connector = system.state.connector('CP001', 1);
    expect(connector?.drawA).toEqual([15.5, 15.7, 15.2]);
    expect(connector?.session).toMatchObject({ energyWh: 3500, socPct: 63 });
  });

  it('drops garbage sampled values and keeps the good ones', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    await charger.call('MeterValues', {
      connectorId: 2,
      meterValue: [
        {
          timestamp: '2026-11-24T09:59:30Z',
          sampledValue: [
            { value: 'NaN', measurand: 'Current.Import', phase: 'L1' },
            { value: '-4', measurand: 'Power.Active.Import' },
            { value: '120', measurand: 'SoC' },
            { value: '7200', measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
          ],
        },
      ],
    });
    expect(system.events['connector.meter']).toEqual([{ chargerId: 'CP001', connectorId: 2, atMs: Date.parse('2026-11-24T09:59:30Z'), energyWh: 7200 }]);
  });

  it('passes connector status to the bus and the state', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    await charger.call('StatusNotification', { connectorId: 2, errorCode: 'NoError', status: 'Charging', timestamp: '2026-11-24T09:59:00Z' });
    await charger.call('StatusNotification', { connectorId: 1, errorCode: 'GroundFailure', status: 'Faulted' });
    expect(system.events['connector.status']).toEqual([
      { chargerId: 'CP001', connectorId: 2, status: 'Charging', atMs: Date.parse('2026-11-24T09:59:00Z') },
      { chargerId: 'CP001', connectorId: 1, status: 'Faulted', atMs: system.clock.nowMs(), errorCode: 'GroundFailure' },
    ]);
    expect(system.state.connector('CP001', 2)?.status).toBe('Charging');
  });

  it('answers DataTransfer with UnknownVendorId and firmware/diagnostics notifications with {}', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    expect(await charger.call('DataTransfer', { vendorId: 'com.example', messageId: 'x', data: '1' })).toEqual({ status: 'UnknownVendorId' });
    expect(await charger.call('FirmwareStatusNotification', { status: 'Idle' })).toEqual({});
    expect(await charger.call('DiagnosticsStatusNotification', { status: 'Idle' })).toEqual({});
  });

  it('knows the open transactions of a persistent store again after a restart', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    const tx = await charger.startTransaction(2, 'FLEET01');
    const transactions = system.transactions;
    await system.stop();
    system = await startSystem(undefined, { transactions });
    expect(system.state.connector('CP001', 2)?.session).toMatchObject({ transactionId: tx, tier: 'fleet' });
  });
});
