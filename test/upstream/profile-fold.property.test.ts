// The folding of the CSMS's profiles into the EMS's, checked against an independent evaluation:
// at every moment the folded profile is never above the EMS's limit nor above the CSMS's.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csmsLimitAt, foldRequest, keptProfile, limitAt, type KeptProfile } from '../../src/upstream/profile-fold.ts';

const T0 = Date.parse('2026-11-24T10:00:00Z');
const units = { voltageV: 230 };

const limit = fc.integer({ min: 0, max: 640 }).map((n) => n / 10);

const csmsReq = fc
  .record({
    purpose: fc.constantFrom('ChargePointMaxProfile', 'TxDefaultProfile', 'TxProfile'),
    connectorId: fc.integer({ min: 1, max: 2 }),
    id: fc.integer({ min: 1, max: 50 }),
    stackLevel: fc.integer({ min: 0, max: 3 }),
    kind: fc.constantFrom('Absolute', 'Relative', 'Recurring'),
    startOffsetS: fc.integer({ min: -7200, max: 7200 }),
    durationS: fc.option(fc.integer({ min: 60, max: 20_000 }), { nil: undefined }),
    unit: fc.constantFrom('A', 'W'),
    periods: fc.array(fc.tuple(fc.integer({ min: 1, max: 20_000 }), limit, fc.constantFrom(1, 3)), { minLength: 0, maxLength: 4 }),
    first: limit,
  })
  .map((r) => ({
    connectorId: r.purpose === 'ChargePointMaxProfile' ? 0 : r.connectorId,
    csChargingProfiles: {
      chargingProfileId: r.id,
      stackLevel: r.stackLevel,
      chargingProfilePurpose: r.purpose,
      chargingProfileKind: r.kind,
      ...(r.kind === 'Recurring' ? { recurrencyKind: 'Daily' } : {}),
      chargingSchedule: {
        ...(r.kind !== 'Relative' ? { startSchedule: new Date(T0 + r.startOffsetS * 1000).toISOString() } : {}),
        ...(r.durationS !== undefined ? { duration: r.durationS } : {}),
        chargingRateUnit: r.unit,
        chargingSchedulePeriod: [
          { startPeriod: 0, limit: r.unit === 'W' ? r.first * 690 : r.first },
          ...[...new Map(r.periods.map(([s, l, n]) => [s, { startPeriod: s, limit: r.unit === 'W' ? l * 690 : l, numberPhases: n }])).values()],
        ],
      },
    },
  }));

const emsReq = fc
  .record({ connectorId: fc.integer({ min: 0, max: 2 }), limit, durationS: fc.option(fc.integer({ min: 60, max: 3600 }), { nil: undefined }), tx: fc.boolean() })
  .map((r) => ({
    connectorId: r.connectorId,
    csChargingProfiles: {
      chargingProfileId: r.connectorId === 0 ? 1 : 100 + r.connectorId,
      stackLevel: r.tx && r.connectorId > 0 ? 1 : 0,
      chargingProfilePurpose: r.connectorId === 0 ? 'ChargePointMaxProfile' : r.tx ? 'TxProfile' : 'TxDefaultProfile',
      chargingProfileKind: 'Absolute',
      ...(r.tx && r.connectorId > 0 ? { transactionId: 7 } : {}),
      chargingSchedule: {
        startSchedule: new Date(T0 - 5_000).toISOString(),
        ...(r.durationS !== undefined ? { duration: r.durationS } : {}),
        chargingRateUnit: 'A',
        chargingSchedulePeriod: [{ startPeriod: 0, limit: r.limit, numberPhases: 3 }],
      },
    },
  }));

describe('folding CSMS profiles into the EMS profiles', () => {
  it('never lets the charger hold more than the EMS cap or the CSMS limit, at any moment', () => {
    fc.assert(
      fc.property(emsReq, fc.array(csmsReq, { maxLength: 5 }), fc.array(fc.integer({ min: 0, max: 86_400 }), { minLength: 5, maxLength: 20 }), (ems, csms, probesS) => {
        const kept = csms.map((r) => keptProfile(r, T0)!).filter((p: KeptProfile) => p.purpose !== 'tx' || p.connectorId > 0);
        const folded = foldRequest(ems, kept, T0, units);
        const mine = keptProfile(ems, T0)!;
        const theirs = keptProfile(folded, T0)!;
        const slot = ems.connectorId;
        const relevant = slot === 0 ? kept.filter((p) => p.purpose === 'max') : kept;
        expect(theirs.periods[0]!.startS).toBe(0);
        for (const probeS of [0, ...probesS]) {
          const atMs = T0 - 5_000 + probeS * 1000;
          const emsLimit = limitAt(mine, atMs);
          const held = limitAt(theirs, atMs);
          if (!emsLimit) {
            expect(held).toBeUndefined();
            continue;
          }
          expect(held).toBeDefined();
          expect(held!.limit).toBeLessThanOrEqual(emsLimit.limit + 1e-9);
          // Within the 24 h the fold looks ahead, the CSMS limit in force binds too.
          if (probeS * 1000 < 24 * 3_600_000 && theirs.periods.length < 24) {
            const csmsLimit = csmsLimitAt(relevant, slot, atMs, 'A', 3, units);
            expect(held!.limit).toBeLessThanOrEqual(csmsLimit + 1e-9);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('leaves the EMS profile untouched when no CSMS profile is kept', () => {
    fc.assert(
      fc.property(emsReq, (ems) => {
        expect(foldRequest(ems, [], T0, units)).toBe(ems);
      }),
    );
  });

  it('a constant CSMS limit gives one period at the minimum of both', () => {
    const ems = {
      connectorId: 1,
      csChargingProfiles: {
        chargingProfileId: 101,
        stackLevel: 0,
        chargingProfilePurpose: 'TxDefaultProfile',
        chargingProfileKind: 'Absolute',
        chargingSchedule: { startSchedule: new Date(T0 - 5000).toISOString(), chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 16, numberPhases: 3 }] },
      },
    };
    const csms = keptProfile(
      {
        connectorId: 0,
        csChargingProfiles: {
          chargingProfileId: 9,
          stackLevel: 0,
          chargingProfilePurpose: 'TxDefaultProfile',
          chargingProfileKind: 'Relative',
          chargingSchedule: { chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 6900 }] },
        },
      },
      T0 - 60_000,
    )!;
    expect(foldRequest(ems, [csms], T0, units).csChargingProfiles.chargingSchedule.chargingSchedulePeriod).toEqual([{ startPeriod: 0, limit: 10, numberPhases: 3 }]);
  });
});
