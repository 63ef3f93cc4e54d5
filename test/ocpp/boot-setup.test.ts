import { afterEach, describe, expect, it } from 'vitest';
import { FakeCharger } from './fake-charger.ts';
import { capturingLogger, startSystem, testConfig, type System } from './system.ts';

const purpose = (p: any) => p.csChargingProfiles.chargingProfilePurpose;

describe('charger boot setup', () => {
  let system: System;
  afterEach(async () => system?.stop());

  it('reads the smart-charging keys, sets meter sampling and installs the failsafe floor after BootNotification', async () => {
    system = await startSystem(undefined, { meterSampleIntervalS: 15 });
    const charger = await system.charger('CP001');
    const actions = charger.calls.map((c) => c.action);
    expect(actions[0]).toBe('GetConfiguration');
    expect(charger.calls[0].params.key).toEqual([
      'ChargeProfileMaxStackLevel',
      'ChargingScheduleAllowedChargingRateUnit',
      'ChargingScheduleMaxPeriods',
      'MaxChargingProfilesInstalled',
      'SupportedFeatureProfiles',
    ]);
    expect(charger.received('ChangeConfiguration').map((c) => c.params)).toEqual([
      { key: 'MeterValuesSampledData', value: 'Current.Import,Power.Active.Import,Energy.Active.Import.Register,SoC' },
      { key: 'MeterValueSampleInterval', value: '15' },
    ]);
    const profiles = charger.received('SetChargingProfile').map((c) => c.params);
    // 3 connectors (2 + 1) share 95 A: 31.6 A each, floored to 0.1 A.
    expect(profiles).toHaveLength(4);
    expect(profiles[0]).toMatchObject({ connectorId: 0, csChargingProfiles: { chargingProfileId: 1, chargingProfilePurpose: 'ChargePointMaxProfile', stackLevel: 0 } });
    expect(profiles[0].csChargingProfiles.chargingSchedule.chargingSchedulePeriod).toEqual([{ startPeriod: 0, limit: 63.2, numberPhases: 3 }]);
    expect(profiles[0].csChargingProfiles.chargingSchedule.duration).toBeUndefined();
    // Last, once every connector's default holds the share: the lift above the floor, the
    // charger's full max one stack level up, lapsing after the duration.
    expect(profiles[3]).toMatchObject({ connectorId: 0, csChargingProfiles: { chargingProfileId: 2, chargingProfilePurpose: 'ChargePointMaxProfile', stackLevel: 1 } });
    expect(profiles[3].csChargingProfiles.chargingSchedule).toMatchObject({ duration: 300, chargingSchedulePeriod: [{ startPeriod: 0, limit: 64, numberPhases: 3 }] });
    for (const connectorId of [1, 2]) {
      const p = profiles.find((x) => x.connectorId === connectorId && purpose(x) === 'TxDefaultProfile');
      expect(p?.csChargingProfiles.chargingSchedule).toMatchObject({ chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 31.6 }] });
      expect(p?.csChargingProfiles.chargingSchedule.duration).toBeUndefined();
    }
    expect(system.state.connector('CP001', 1)?.profile).toMatchObject({ state: 'accepted', capA: 31.6 });
  });

  it('keeps the sum of every charger’s failsafe floor (ChargePointMaxProfile, stack level 0) within the site limit less the margin', async () => {
    const config = testConfig({
      grid: { maxCurrent: 63, safetyMargin: 0.1 },
      circuits: [{ id: 'main', maxCurrent: 63, children: [{ id: 'row', maxCurrent: 32, chargers: ['CP001'] }], chargers: ['CP002'] }],
    });
    system = await startSystem(config);
    const a = await system.charger('CP001');
    const b = await system.charger('CP002');
    const max = (c: FakeCharger) => c.received('SetChargingProfile', (p) => purpose(p) === 'ChargePointMaxProfile' && p.csChargingProfiles.stackLevel === 0)[0].params.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit;
    expect(max(a) + max(b)).toBeLessThanOrEqual(63 * 0.9);
    expect(max(a)).toBeLessThanOrEqual(32 * 0.9);
    // The row holds CP001's two connectors at 14.4 A each; CP002 gets the rest of the 56.7 A.
    expect(max(a)).toBe(28.8);
    expect(max(b)).toBe(27.9);
  });

  it('falls back to a shorter MeterValuesSampledData list when the charger rejects one', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001', { sampledDataAnswer: (value) => (value.includes('SoC') || value.includes('Power') ? 'Rejected' : 'Accepted') });
    expect(charger.received('ChangeConfiguration', (p) => p.key === 'MeterValuesSampledData').map((c) => c.params.value)).toEqual([
      'Current.Import,Power.Active.Import,Energy.Active.Import.Register,SoC',
      'Current.Import,Power.Active.Import,Energy.Active.Import.Register',
      'Current.Import,Energy.Active.Import.Register',
    ]);
  });

  it('uses conservative defaults when the charger knows none of the keys, and W for a Power-only charger', async () => {
    system = await startSystem();
    const unknown = await system.charger('CP001', { configuration: [] });
    const floor = unknown.received('SetChargingProfile', (p) => purpose(p) === 'TxDefaultProfile')[0].params.csChargingProfiles;
    expect(floor.stackLevel).toBe(0);
    expect(floor.chargingSchedule.chargingRateUnit).toBe('A');

    const powerOnly = await system.charger('CP002', {
      configuration: [{ key: 'ChargingScheduleAllowedChargingRateUnit', readonly: true, value: 'Power' }],
    });
    const schedule = powerOnly.received('SetChargingProfile', (p) => purpose(p) === 'TxDefaultProfile')[0].params.csChargingProfiles.chargingSchedule;
    // 31.6 A x 230 V on one phase: a W limit must hold even for a single-phase car
    expect(schedule).toMatchObject({ chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 7268, numberPhases: 3 }] });
  });

  it('installs the floor again when a charger reconnects without booting', async () => {
    system = await startSystem();
    const first = await system.charger('CP001');
    await first.close();
    const again = new FakeCharger({ port: system.cs.port, identity: 'CP001', connectors: 2 });
    await again.connect();
    const ready = system.cs.whenReady('CP001');
    await again.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' });
    await ready;
    expect(again.received('SetChargingProfile', (p) => purpose(p) === 'ChargePointMaxProfile').map((c) => c.params.csChargingProfiles.stackLevel)).toEqual([0, 1]);
    expect(again.received('SetChargingProfile', (p) => purpose(p) === 'TxDefaultProfile')).toHaveLength(2);
    await again.close();
  });

  it('sets up a charger that says nothing after connecting once the boot wait is over', async () => {
    system = await startSystem(undefined, { bootWaitMs: 50 });
    const charger = new FakeCharger({ port: system.cs.port, identity: 'CP001', connectors: 2 });
    const ready = system.cs.whenReady('CP001');
    await charger.connect();
    await ready;
    expect(charger.received('SetChargingProfile', (p) => purpose(p) === 'ChargePointMaxProfile' && p.csChargingProfiles.stackLevel === 0)).toHaveLength(1);
    await charger.close();
  });

  it('retries a refused ChargePointMaxProfile with backoff until the charger takes it', async () => {
    system = await startSystem();
    let refuse = true;
    const floor = (p: any) => purpose(p) === 'ChargePointMaxProfile' && p.csChargingProfiles.stackLevel === 0;
    const charger = await system.charger('CP001', { profileAnswer: (p) => (refuse && floor(p) ? 'Rejected' : undefined) });
    expect(charger.received('SetChargingProfile', floor)).toHaveLength(1);
    await system.cs.applyCaps([]);
    expect(charger.received('SetChargingProfile', floor)).toHaveLength(1);
    refuse = false;
    system.clock.advance(1_000);
    await system.cs.applyCaps([]);
    await charger.waitForCall('SetChargingProfile', (p) => floor(p) && charger.received('SetChargingProfile', floor).length === 2);
    expect(charger.profiles.get(1)?.profile.stackLevel).toBe(0);
    system.clock.advance(60_000);
    await system.cs.applyCaps([]);
    expect(charger.received('SetChargingProfile', floor)).toHaveLength(2);
  });

  it('never logs that the static share caps a charger whose floor was refused', async () => {
    const { log, lines } = await capturingLogger();
    system = await startSystem(undefined, {}, log);
    // It names no stack level (so a refused lift means it has no second one) and refuses both.
    const charger = await system.charger('CP001', {
      configuration: [{ key: 'SupportedFeatureProfiles', readonly: true, value: 'Core,SmartCharging' }],
      profileAnswer: (p) => (purpose(p) === 'ChargePointMaxProfile' ? 'Rejected' : undefined),
    });
    for (let i = 0; i < 3; i++) {
      system.clock.advance(2_000);
      await system.cs.applyCaps([]);
    }
    expect(charger.received('SetChargingProfile', (p) => purpose(p) === 'ChargePointMaxProfile').length).toBeGreaterThanOrEqual(2);
    const claims = lines.filter((l) => /static (safe )?share/.test(l.msg));
    expect(claims, JSON.stringify(claims)).toEqual([]);
    expect(lines.some((l) => /floor/.test(l.msg) && l.level >= 40)).toBe(true);
  });

  it('refreshes the lift above the floor at half its duration, so it lapses only when the EMS stops', async () => {
    system = await startSystem();
    const lift = (p: any) => p.csChargingProfiles.chargingProfileId === 2;
    const charger = await system.charger('CP001');
    system.clock.advance(149_000);
    await system.cs.applyCaps([]);
    expect(charger.received('SetChargingProfile', lift)).toHaveLength(1);
    system.clock.advance(1_000);
    await system.cs.applyCaps([]);
    await charger.waitForCall('SetChargingProfile', (p) => lift(p) && charger.received('SetChargingProfile', lift).length === 2);
    expect(charger.received('SetChargingProfile', lift).at(-1)!.params.csChargingProfiles.chargingSchedule.startSchedule).toBe('2026-11-24T10:02:25.000Z');
  });

  it('leaves a charger that allows only stack level 0 at its static share, and tries a lift when the level is unknown', async () => {
    system = await startSystem();
    const level0 = await system.charger('CP001', { configuration: [{ key: 'ChargeProfileMaxStackLevel', readonly: true, value: '0' }] });
    expect(level0.received('SetChargingProfile', (p) => p.csChargingProfiles.chargingProfileId === 2)).toHaveLength(0);
    const unknown = await system.charger('CP002', { configuration: [], profileAnswer: (p) => (p.csChargingProfiles.chargingProfileId === 2 ? 'Rejected' : undefined) });
    expect(unknown.received('SetChargingProfile', (p) => p.csChargingProfiles.chargingProfileId === 2)).toHaveLength(1);
    system.clock.advance(120_000);
    await system.cs.applyCaps([]);
    expect(unknown.received('SetChargingProfile', (p) => p.csChargingProfiles.chargingProfileId === 2)).toHaveLength(1);
  });

  it('asks a charger to report its connectors again when the stored sessions need reconciling', async () => {
    system = await startSystem();
    const charger = await system.charger('CP001');
    system.bus.emit('charger.reconcile', { chargerId: 'CP001', atMs: system.clock.nowMs(), openTransactionIds: [3] });
    const trigger = await charger.waitForCall('TriggerMessage');
    expect(trigger.params).toEqual({ requestedMessage: 'StatusNotification' });
  });

  it('sends that TriggerMessage only after the boot setup when asked as the charger connects', async () => {
    system = await startSystem();
    system.bus.on('charger.connected', ({ chargerId, atMs }) => system!.bus.emit('charger.reconcile', { chargerId, atMs, openTransactionIds: [] }));
    const charger = await system.charger('CP001');
    const trigger = await charger.waitForCall('TriggerMessage');
    const lastFloor = charger.received('SetChargingProfile').at(-1)!;
    expect(trigger.seq).toBeGreaterThan(lastFloor.seq);
  });

  it('does not raise a connector default on reconnect above what the control loop had set', async () => {
    system = await startSystem();
    const first = await system.charger('CP001');
    await system.cs.applyCaps([{ chargerId: 'CP001', connectorId: 2, currentA: 0, phases: 3, reason: { kind: 'idle', text: 'site full' } }]);
    await first.close();
    const again = new FakeCharger({ port: system.cs.port, identity: 'CP001', connectors: 2 });
    await again.connect();
    const ready = system.cs.whenReady('CP001');
    await again.boot();
    await ready;
    const defaults = again.received('SetChargingProfile', (p) => purpose(p) === 'TxDefaultProfile').map((c) => [c.params.connectorId, c.params.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit]);
    expect(defaults).toEqual([
      [1, 31.6],
      [2, 0],
    ]);
    await again.close();
  });
});
