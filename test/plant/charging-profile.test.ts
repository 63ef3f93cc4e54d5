import { describe, expect, it } from 'vitest';
import { compositeLimitsA, connectorLimitA, installProfile, type HeldProfile } from '../../plant/index.ts';

const profile = (fields: Partial<HeldProfile>): HeldProfile => ({
  id: 1,
  connectorId: 1,
  purpose: 'TxDefaultProfile',
  stackLevel: 0,
  kind: 'Absolute',
  unit: 'A',
  periods: [{ startPeriodS: 0, limit: 16 }],
  receivedAtMs: 0,
  ...fields,
});
const ctx = { connectorId: 1, voltageV: 230, phases: 3 };

describe('the composite schedule a plant charger applies', () => {
  it('is unbounded with no profile', () => {
    expect(connectorLimitA([], 0, ctx)).toBe(Infinity);
  });

  it('takes the highest stack level in force within a purpose', () => {
    const held = [profile({ id: 1, stackLevel: 0, periods: [{ startPeriodS: 0, limit: 20 }] }), profile({ id: 2, stackLevel: 2, periods: [{ startPeriodS: 0, limit: 8 }] })];
    expect(connectorLimitA(held, 1000, ctx)).toBe(8);
  });

  it('prefers a TxProfile for the running transaction over the TxDefault, and ignores one for another transaction', () => {
    const held = [profile({ id: 1, periods: [{ startPeriodS: 0, limit: 6 }] }), profile({ id: 2, purpose: 'TxProfile', transactionId: 7, periods: [{ startPeriodS: 0, limit: 25 }] })];
    expect(connectorLimitA(held, 0, { ...ctx, transactionId: 7 })).toBe(25);
    expect(connectorLimitA(held, 0, { ...ctx, transactionId: 8 })).toBe(6);
    expect(connectorLimitA(held, 0, ctx)).toBe(6);
  });

  it("prefers the connector's own default over connector 0's", () => {
    const held = [profile({ id: 1, connectorId: 0, periods: [{ startPeriodS: 0, limit: 10 }] }), profile({ id: 2, connectorId: 1, periods: [{ startPeriodS: 0, limit: 14 }] })];
    expect(connectorLimitA(held, 0, ctx)).toBe(14);
    expect(connectorLimitA(held, 0, { ...ctx, connectorId: 2 })).toBe(10);
  });

  it('expires a profile after its duration into the lower one', () => {
    const held = [profile({ id: 1, periods: [{ startPeriodS: 0, limit: 6 }] }), profile({ id: 2, purpose: 'TxProfile', transactionId: 1, durationS: 60, startScheduleMs: 0, periods: [{ startPeriodS: 0, limit: 30 }] })];
    expect(connectorLimitA(held, 59_999, { ...ctx, transactionId: 1 })).toBe(30);
    expect(connectorLimitA(held, 60_000, { ...ctx, transactionId: 1 })).toBe(6);
  });

  it('waits for an absolute start and counts a relative one from the transaction start', () => {
    const later = [profile({ startScheduleMs: 10_000, periods: [{ startPeriodS: 0, limit: 12 }] })];
    expect(connectorLimitA(later, 9_999, ctx)).toBe(Infinity);
    expect(connectorLimitA(later, 10_000, ctx)).toBe(12);
    const relative = [profile({ kind: 'Relative', periods: [{ startPeriodS: 0, limit: 10 }, { startPeriodS: 30, limit: 20 }] })];
    expect(connectorLimitA(relative, 50_000, { ...ctx, transactionId: 1, txStartMs: 25_000 })).toBe(10);
    expect(connectorLimitA(relative, 55_000, { ...ctx, transactionId: 1, txStartMs: 25_000 })).toBe(20);
  });

  it('turns a W limit into A per phase with the period\'s number of phases', () => {
    const held = [profile({ unit: 'W', periods: [{ startPeriodS: 0, limit: 11_040, numberPhases: 3 }] })];
    expect(connectorLimitA(held, 0, ctx)).toBeCloseTo(16, 6);
  });

  it('replaces a profile with the same id, or the same purpose, stack level and connector', () => {
    let held = installProfile([], profile({ id: 1, periods: [{ startPeriodS: 0, limit: 10 }] }));
    held = installProfile(held, profile({ id: 9, periods: [{ startPeriodS: 0, limit: 20 }] }));
    expect(held).toHaveLength(1);
    expect(connectorLimitA(held, 0, ctx)).toBe(20);
  });

  it('shares a ChargePointMax among the busy connectors', () => {
    const held = [profile({ id: 5, connectorId: 0, purpose: 'ChargePointMaxProfile', periods: [{ startPeriodS: 0, limit: 32 }] })];
    const limits = compositeLimitsA(held, 0, [ctx, { ...ctx, connectorId: 2 }], 32, [true, true]);
    expect(limits[0]! + limits[1]!).toBeCloseTo(32, 6);
    expect(compositeLimitsA(held, 0, [ctx, { ...ctx, connectorId: 2 }], 32, [true, false])[0]).toBe(32);
  });
});
