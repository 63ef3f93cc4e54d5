import { describe, expect, it } from 'vitest';
import { parseMeterValues } from '../../src/ocpp/meter-values.ts';

const at = '2026-11-24T10:00:00Z';
const atMs = Date.parse(at);
const one = (sampledValue: any[], phases: 1 | 3 = 3) => parseMeterValues([{ timestamp: at, sampledValue }], phases, Date.parse);

describe('meter values', () => {
  it('reads the default measurand as the energy register in Wh', () => {
    expect(one([{ value: '1234.5' }]).readings).toEqual([{ atMs, energyWh: 1234.5 }]);
  });

  it.each([
    [[{ value: '7.4', measurand: 'Power.Active.Import', unit: 'kW' }], { powerW: 7400 }],
    [[{ value: '7400', measurand: 'Power.Active.Import' }], { powerW: 7400 }],
    [[{ value: '12', measurand: 'Energy.Active.Import.Register', unit: 'kWh' }], { energyWh: 12000 }],
    [
      [
        { value: '2300', measurand: 'Power.Active.Import', phase: 'L1-N' },
        { value: '2200', measurand: 'Power.Active.Import', phase: 'L2-N' },
      ],
      { powerW: 4500 },
    ],
    [[{ value: '55.5', measurand: 'SoC', unit: 'Percent' }], { socPct: 55.5 }],
    [[{ value: '16', measurand: 'Current.Import', phase: 'L2' }], { currentA: [0, 16, 0] }],
    [[{ value: '16', measurand: 'Current.Import' }], { currentA: [16, 16, 16] }],
  ])('reads %j', (samples, expected) => {
    expect(one(samples).readings).toEqual([{ atMs, ...expected }]);
  });

  it('puts a current without a phase on L1 only for a single-phase charger', () => {
    expect(one([{ value: '10', measurand: 'Current.Import' }], 1).readings[0].currentA).toEqual([10, 0, 0]);
  });

  it.each([
    [{ value: 'abc', measurand: 'Current.Import', phase: 'L1' }, /not a number/],
    [{ value: '', measurand: 'Power.Active.Import' }, /not a number/],
    [{ value: '-3', measurand: 'Current.Import', phase: 'L1' }, /out of range/],
    [{ value: '1e12', measurand: 'Power.Active.Import' }, /out of range/],
    [{ value: '101', measurand: 'SoC' }, /out of range/],
    [{ value: '5', measurand: 'Current.Import', unit: 'kW' }, /unit kW/],
    [{ value: '5', measurand: 'Current.Import', phase: 'N' }, /phase N/],
    [{ value: '-1', measurand: 'Energy.Active.Import.Register' }, /negative/],
  ])('drops %j', (sample, why) => {
    const { readings, dropped } = one([sample]);
    expect(readings).toEqual([]);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatch(why);
  });

  it('ignores measurands it does not use and signed data', () => {
    expect(one([{ value: '230', measurand: 'Voltage' }, { value: 'AAAA', format: 'SignedData' }]).readings).toEqual([]);
  });

  it('places each entry where the caller puts its timestamp on our clock, and orders entries by time', () => {
    // The caller (ChargerLink.chargerTime) places a timestamp by the charger's own clock; here an hour later.
    const result = parseMeterValues(
      [
        { timestamp: '2030-01-01T00:00:00Z', sampledValue: [{ value: '1' }] },
        { timestamp: '2026-11-24T09:00:00Z', sampledValue: [{ value: '2' }] },
      ],
      3,
      (timestamp) => Date.parse(timestamp) + 3_600_000,
    );
    expect(result.readings).toEqual([
      { atMs: Date.parse('2026-11-24T10:00:00Z'), energyWh: 2 },
      { atMs: Date.parse('2030-01-01T01:00:00Z'), energyWh: 1 },
    ]);
  });
});
