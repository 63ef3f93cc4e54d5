import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { openStorage } from '../../src/storage/open-storage.ts';

const T0 = Date.UTC(2026, 10, 24, 6, 0, 0);

describe('history downsampling', () => {
  it('keeps the exact mean of the samples in every minute and every quarter hour, over the samples that had a value', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ second: fc.integer({ min: 0, max: 1799 }), powerW: fc.option(fc.integer({ min: -50_000, max: 150_000 }), { nil: undefined }) }), {
          selector: (s) => s.second,
          minLength: 1,
          maxLength: 150,
        }),
        (raw) => {
          const samples = [...raw].sort((a, b) => a.second - b.second);
          const store = openStorage(':memory:', new ManualClock(T0));
          try {
            for (const s of samples) store.history.record({ atMs: T0 + s.second * 1000, gridPowerW: s.powerW, evPowerW: 0 });
            store.history.record({ atMs: T0 + 3_600_000, evPowerW: 0 }); // closes every bucket above
            const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
            for (const [stepS, resolution] of [[60, '1m'], [900, '15m']] as const) {
              const expected = new Map<number, number[]>();
              for (const s of samples) {
                const bucket = T0 + Math.floor(s.second / stepS) * stepS * 1000;
                expected.set(bucket, [...(expected.get(bucket) ?? []), ...(s.powerW === undefined ? [] : [s.powerW])]);
              }
              const rows = store.history.query(T0, T0 + 1_800_000, resolution);
              expect(rows.map((r) => r.atMs)).toEqual([...expected.keys()].sort((a, b) => a - b));
              for (const row of rows) {
                const values = expected.get(row.atMs)!;
                if (values.length === 0) expect(row.gridPowerW).toBeUndefined();
                else expect(row.gridPowerW).toBeCloseTo(mean(values), 6);
              }
            }
          } finally {
            store.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
