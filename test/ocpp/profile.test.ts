import fc from 'fast-check';
import ocppRpc from 'ocpp-rpc';
import schemas16 from 'ocpp-rpc/lib/schemas/ocpp1_6.json' with { type: 'json' };
import { describe, expect, it } from 'vitest';
import { CONSERVATIVE_CAPABILITIES, parseCapabilities } from '../../src/ocpp/capabilities.ts';
import { chargePointMaxProfile, txDefaultProfile, txProfile, wireLimit } from '../../src/ocpp/profile.ts';
import { floorToTenth } from '../../src/ocpp/rounding.ts';

const validator = ocppRpc.createValidator('ocpp1.6', schemas16 as any);
const valid = (payload: unknown) => validator.validate('urn:SetChargingProfile.req', payload);

/** One decimal at most, as text: what a strict peer reads off the wire. */
const oneDecimal = (n: number) => /^\d+(\.\d)?$/.test(JSON.stringify(n));

describe('floorToTenth', () => {
  it.each([
    [16.05, 16],
    [16.1, 16.1],
    [2.3, 2.3],
    [0.7, 0.7],
    [31.99999, 31.9],
    [6, 6],
    [-1, 0],
    [Number.NaN, 0],
  ])('%d becomes %d', (input, expected) => expect(floorToTenth(input)).toBe(expected));

  it('never rounds up, loses less than 0.1 and always reads as one decimal', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ min: 0, max: 1e6, noNaN: true }),
          // right at and next to the tenths, where float error bites
          fc.integer({ min: 1, max: 100_000 }).chain((k) => fc.constantFrom(k / 10, k / 10 - 1e-12, k / 10 + 1e-12, (k / 10) * (1 - 1e-15), k * 0.1)),
        ),
        (x) => {
        const r = floorToTenth(x);
        expect(r).toBeLessThanOrEqual(x);
        expect(x - r).toBeLessThan(0.1 + 1e-9);
        expect(oneDecimal(r)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('charging profiles', () => {
  const caps = { ...CONSERVATIVE_CAPABILITIES, maxStackLevel: 3 };

  it('builds TxProfiles that the official 1.6 schema accepts, limits one decimal, for any cap', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 80, noNaN: true }),
        fc.constantFrom<1 | 3>(1, 3),
        fc.constantFrom<'A' | 'W'>('A', 'W'),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (capA, phases, unit, transactionId) => {
          const req = txProfile(1, transactionId, { capA, phases, voltageV: 230, unit }, Date.parse('2026-11-24T10:00:00Z'), 300, caps);
          expect(valid(req)).toBe(true);
          const limit = req.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit;
          expect(oneDecimal(limit)).toBe(true);
          expect(limit).toBeLessThanOrEqual(unit === 'A' ? capA + 1e-9 : capA * 230 * phases + 1e-6);
        },
      ),
    );
  });

  it('converts to W as A x voltage x phases for chargers that only take Power', () => {
    expect(wireLimit({ capA: 16.05, phases: 3, voltageV: 230, unit: 'W' })).toBe(11040);
    expect(wireLimit({ capA: 10, phases: 1, voltageV: 230, unit: 'W' })).toBe(2300);
  });

  it('counts one phase for W when the car is unknown, so a single-phase car stays within the per-phase cap', () => {
    expect(wireLimit({ capA: 16, phases: 3, voltageV: 230, unit: 'W', car: 'any' })).toBe(3680);
    expect(wireLimit({ capA: 16, phases: 3, voltageV: 230, unit: 'A', car: 'any' })).toBe(16);
  });

  it('puts the failsafe floor on connector 0 and the default on each connector, stack level 0, no duration', () => {
    const nowMs = Date.parse('2026-11-24T10:00:00Z');
    const max = chargePointMaxProfile({ capA: 63.2, phases: 3, voltageV: 230, unit: 'A' }, nowMs);
    const def = txDefaultProfile(2, { capA: 31.6, phases: 3, voltageV: 230, unit: 'A' });
    expect(valid(max)).toBe(true);
    expect(valid(def)).toBe(true);
    expect(max).toMatchObject({ connectorId: 0, csChargingProfiles: { chargingProfilePurpose: 'ChargePointMaxProfile', stackLevel: 0 } });
    expect(def).toMatchObject({ connectorId: 2, csChargingProfiles: { chargingProfilePurpose: 'TxDefaultProfile', stackLevel: 0, chargingProfileId: 102 } });
    expect(max.csChargingProfiles.chargingSchedule.duration).toBeUndefined();
    // No start, no duration: valid from receipt for ever, whatever either clock says.
    expect(def.csChargingProfiles.chargingProfileKind).toBe('Relative');
    expect(def.csChargingProfiles.chargingSchedule.startSchedule).toBeUndefined();
    expect(max.csChargingProfiles.chargingProfileKind).toBe('Relative');
  });

  it('sets the TxProfile one stack level above the floor, or at 0 when the charger allows only 0', () => {
    const nowMs = 0;
    const spec = { capA: 10, phases: 3 as const, voltageV: 230, unit: 'A' as const };
    expect(txProfile(1, 5, spec, nowMs, 300, caps).csChargingProfiles.stackLevel).toBe(1);
    expect(txProfile(1, 5, spec, nowMs, 300, CONSERVATIVE_CAPABILITIES).csChargingProfiles.stackLevel).toBe(0);
  });
});

describe('smart-charging capabilities', () => {
  it('maps Current to A and Power to W and reads the limits', () => {
    const { capabilities, missing } = parseCapabilities({
      configurationKey: [
        { key: 'ChargeProfileMaxStackLevel', readonly: true, value: '8' },
        { key: 'ChargingScheduleAllowedChargingRateUnit', readonly: true, value: 'Power' },
        { key: 'ChargingScheduleMaxPeriods', readonly: true, value: '24' },
        { key: 'MaxChargingProfilesInstalled', readonly: true, value: '10' },
      ],
    });
    expect(capabilities).toEqual({ maxStackLevel: 8, rateUnit: 'W', maxPeriods: 24, maxProfiles: 10 });
    expect(missing).toEqual([]);
    expect(parseCapabilities({ configurationKey: [{ key: 'ChargingScheduleAllowedChargingRateUnit', readonly: true, value: 'Current,Power' }] }).capabilities.rateUnit).toBe('A');
  });

  it('keeps conservative values for unknown or garbled keys', () => {
    const { capabilities, missing } = parseCapabilities({
      configurationKey: [{ key: 'ChargeProfileMaxStackLevel', readonly: true, value: 'lots' }],
      unknownKey: ['ChargingScheduleAllowedChargingRateUnit', 'ChargingScheduleMaxPeriods', 'MaxChargingProfilesInstalled'],
    });
    expect(capabilities).toEqual({ maxStackLevel: 0, rateUnit: 'A', maxPeriods: 1 });
    expect(missing).toHaveLength(4);
  });
});
