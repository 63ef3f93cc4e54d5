import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { LocalTimeZone } from '../../src/tariffs/local-time.ts';
import { Tariff } from '../../src/tariffs/tariff.ts';

const tariffsFrom = (tariffs: unknown) => configSchema.parse({ grid: { maxCurrent: 63 }, tariffs }).tariffs;
const at = (iso: string) => Date.parse(iso);

describe('time-of-use tariff', () => {
  const berlin = new Tariff(
    tariffsFrom({
      currency: 'EUR',
      import: {
        default: 0.18,
        periods: [
          { days: ['hol'], price: 0.12 },
          { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '22:00', months: [10, 11, 12, 1, 2, 3], price: 0.35 },
          { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '22:00', price: 0.32 },
          { days: ['sat', 'sun'], from: '22:00', to: '06:00', price: 0.1 },
        ],
      },
      export: { default: 0.08 },
      holidays: ['2026-12-25'],
    }),
    'Europe/Berlin',
  );

  it('applies the weekday peak in local time, not UTC (CET = UTC+1)', () => {
    // Tue 2026-11-24 06:30 UTC = 07:30 Berlin: peak; 05:30 UTC = 06:30 Berlin: off-peak.
    expect(berlin.importPricePerKWh(at('2026-11-24T06:30:00Z'))).toBe(0.35);
    expect(berlin.importPricePerKWh(at('2026-11-24T05:30:00Z'))).toBe(0.18);
    // 22:00 Berlin is exclusive.
    expect(berlin.importPricePerKWh(at('2026-11-24T20:59:00Z'))).toBe(0.35);
    expect(berlin.importPricePerKWh(at('2026-11-24T21:00:00Z'))).toBe(0.18);
  });

  it('follows the spring DST switch: 07:00 local is 06:00 UTC before it and 05:00 UTC after it', () => {
    // Fri 2026-03-27 (CET) vs Mon 2026-03-30 (CEST).
    expect(berlin.importPricePerKWh(at('2026-03-27T05:59:00Z'))).toBe(0.18);
    expect(berlin.importPricePerKWh(at('2026-03-27T06:00:00Z'))).toBe(0.35);
    expect(berlin.importPricePerKWh(at('2026-03-30T04:59:00Z'))).toBe(0.18);
    expect(berlin.importPricePerKWh(at('2026-03-30T05:00:00Z'))).toBe(0.35);
  });

  it('follows the autumn DST switch and the season boundary (summer price until the end of September)', () => {
    expect(berlin.importPricePerKWh(at('2026-09-30T05:00:00Z'))).toBe(0.32); // Wed 07:00 CEST, summer
    expect(berlin.importPricePerKWh(at('2026-10-26T06:00:00Z'))).toBe(0.35); // Mon 07:00 CET, winter
    expect(berlin.importPricePerKWh(at('2026-10-26T05:59:00Z'))).toBe(0.18);
  });

  it('has 23 local hours on the spring-forward Sunday and 25 on the fall-back one', () => {
    const zone = new LocalTimeZone('Europe/Berlin');
    const spring = zone.startOfDayMs(at('2026-03-29T12:00:00Z'));
    const nextSpring = zone.startOfDayMs(at('2026-03-30T12:00:00Z'));
    expect(spring).toBe(at('2026-03-28T23:00:00Z'));
    expect((nextSpring - spring) / 3_600_000).toBe(23);
    const fall = zone.startOfDayMs(at('2026-10-25T12:00:00Z'));
    const nextFall = zone.startOfDayMs(at('2026-10-26T12:00:00Z'));
    expect((nextFall - fall) / 3_600_000).toBe(25);
  });

  it('bills a listed holiday at the holiday price, even on a weekday', () => {
    // Fri 2026-12-25 10:00 Berlin would be weekday peak.
    expect(berlin.importPricePerKWh(at('2026-12-25T09:00:00Z'))).toBe(0.12);
    expect(berlin.importPricePerKWh(at('2026-12-24T09:00:00Z'))).toBe(0.35);
  });

  it('wraps a period past midnight on the listed days', () => {
    expect(berlin.importPricePerKWh(at('2026-11-28T22:30:00Z'))).toBe(0.1); // Sat 23:30
    expect(berlin.importPricePerKWh(at('2026-11-29T04:00:00Z'))).toBe(0.1); // Sun 05:00
    expect(berlin.importPricePerKWh(at('2026-11-29T05:00:00Z'))).toBe(0.18); // Sun 06:00
  });

  it('prefers a dynamic price (feed or OpenADR PRICE) where one covers the instant', () => {
    const tariff = new Tariff(tariffsFrom({ import: { default: 0.2 }, export: { default: 0.05 } }), 'UTC');
    tariff.setSignals([
      { id: 'p1', source: 'feed', kind: 'price', startMs: 1_000, endMs: 2_000, value: 0.5 },
      { id: 'p2', source: 'openadr', kind: 'price', startMs: 1_500, endMs: 3_000, value: 0.7 },
      { id: 'export-1', source: 'feed', kind: 'price', startMs: 0, endMs: 3_000, value: 0.02, text: 'export' },
      { id: 'g', source: 'feed', kind: 'ghg', startMs: 0, endMs: 3_000, value: 380 },
    ]);
    expect(tariff.importPricePerKWh(500)).toBe(0.2);
    expect(tariff.importPricePerKWh(1_200)).toBe(0.5);
    expect(tariff.importPricePerKWh(1_600)).toBe(0.7);
    expect(tariff.importPricePerKWh(3_000)).toBe(0.2);
    expect(tariff.exportPricePerKWh(1_000)).toBe(0.02);
    expect(tariff.carbonGPerKWh(1_000)).toBe(380);
    expect(tariff.carbonGPerKWh(5_000)).toBe(0);
  });

  it('rejects a malformed period with a clear path', () => {
    const result = configSchema.safeParse({ grid: { maxCurrent: 63 }, tariffs: { import: { default: 0.2, periods: [{ from: '7:00', price: 0.3 }] } } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].path.join('.')).toBe('tariffs.import.periods.0.from');
  });
});
