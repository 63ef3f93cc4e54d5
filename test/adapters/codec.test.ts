import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { implausibility } from '../../adapters/reading-check.ts';
import { parseJsonPath, selectJsonPath } from '../../adapters/mqtt/json-path.ts';
import { TopicValueParser } from '../../adapters/mqtt/topic-value.ts';
import { planReads } from '../../adapters/modbus/read-plan.ts';
import { decodeRegister, encodeRegister, type RegisterType } from '../../adapters/modbus/register-codec.ts';
import { decodeModel, sunSpecReading } from '../../adapters/modbus/sunspec-decode.ts';
import { sunSpecModel } from '../../adapters/modbus/sunspec-image.ts';

describe('register codec', () => {
  it.each<[RegisterType, number[]]>([
    ['int16', [0x8000]], ['uint16', [0xffff]], ['int32', [0x8000, 0]], ['uint32', [0xffff, 0xffff]],
    ['acc32', [0, 0]], ['float32', [0x7fc0, 0]], ['uint64', [0xffff, 0xffff, 0xffff, 0xffff]],
  ])('decodes the %s not-implemented marker as unknown, never 0', (type, regs) => {
    expect(decodeRegister(regs, 0, type)).toBeNull();
  });

  it('reads 32-bit values in either word order', () => {
    expect(decodeRegister([0x0001, 0x0002], 0, 'int32', 'msw')).toBe(0x00010002);
    expect(decodeRegister([0x0002, 0x0001], 0, 'int32', 'lsw')).toBe(0x00010002);
    expect(decodeRegister(encodeRegister(-1234.5, 'float32', 'lsw'), 0, 'float32', 'lsw')).toBe(-1234.5);
  });

  it('round-trips integers through encode and decode', () => {
    fc.assert(fc.property(fc.integer({ min: -0x7fffffff, max: 0x7fffffff }), fc.constantFrom<'msw' | 'lsw'>('msw', 'lsw'), (v, order) => {
      expect(decodeRegister(encodeRegister(v, 'int32', order), 0, 'int32', order)).toBe(v);
    }));
  });
});

describe('read planning', () => {
  it('batches contiguous registers and never reads more than 125 at once', () => {
    const plan = planReads([
      { unitId: 1, fc: 4, address: 0, count: 2 }, { unitId: 1, fc: 4, address: 2, count: 2 },
      { unitId: 1, fc: 4, address: 0x34, count: 2 }, { unitId: 1, fc: 3, address: 0, count: 2 },
      { unitId: 2, fc: 3, address: 0, count: 300 },
    ]);
    expect(plan).toEqual([
      { unitId: 1, fc: 3, address: 0, count: 2 }, { unitId: 1, fc: 4, address: 0, count: 4 }, { unitId: 1, fc: 4, address: 0x34, count: 2 },
      { unitId: 2, fc: 3, address: 0, count: 125 }, { unitId: 2, fc: 3, address: 125, count: 125 }, { unitId: 2, fc: 3, address: 250, count: 50 },
    ]);
  });

  it('covers every requested register exactly with reads of at most 125', () => {
    const range = fc.record({ unitId: fc.integer({ min: 1, max: 2 }), fc: fc.constantFrom<3 | 4>(3, 4), address: fc.integer({ min: 0, max: 1000 }), count: fc.integer({ min: 1, max: 200 }) });
    fc.assert(fc.property(fc.array(range, { maxLength: 12 }), (ranges) => {
      const plan = planReads(ranges);
      const covered = new Set(plan.flatMap((r) => Array.from({ length: r.count }, (_, i) => `${r.unitId}:${r.fc}:${r.address + i}`)));
      const wanted = new Set(ranges.flatMap((r) => Array.from({ length: r.count }, (_, i) => `${r.unitId}:${r.fc}:${r.address + i}`)));
      expect(covered).toEqual(wanted);
      for (const r of plan) expect(r.count).toBeLessThanOrEqual(125);
    }));
  });
});

describe('SunSpec decoding', () => {
  it('applies scale factors and leaves a value unknown when its scale factor is not implemented', () => {
    const block = sunSpecModel({ id: 203, values: { W: 4200, AphA: 6.1, AphB: 6, AphC: 6.2 }, scaleFactors: { 6: -1, 22: 2 } });
    expect(decodeModel(203, block).W).toBe(4200);
    block[22] = 0x8000;
    const m = decodeModel(203, block);
    expect(m.W).toBeNull();
    expect(m.AphA).toBe(6.1);
    expect(sunSpecReading('grid-meter', new Map([[203, m]])).powerW).toBeUndefined();
  });

  it('reads a single-phase meter as L1 only', () => {
    const m = decodeModel(201, sunSpecModel({ id: 201, values: { W: 2300, AphA: 10 }, raw: { 4: 0x8000, 5: 0x8000 } }));
    expect(sunSpecReading('grid-meter', new Map([[201, m]])).currentA).toEqual([10, 0, 0]);
  });
});

describe('MQTT payloads', () => {
  it.each([
    ['1234.5', {}, 1234.5],
    ['{"W": 812}', { jsonPath: '$.W' }, 812],
    ['{"ENERGY":{"Power":1850}}', { jsonPath: '$.ENERGY.Power' }, 1850],
    ['{"value": 72.5}', {}, 72.5],
    ['{"values":[1,2,3]}', { jsonPath: '$.values[2]', scale: 1000 }, 3000],
    ['2.5', { scale: -1000 }, -2500],
  ])('reads %s', (payload, spec, expected) => {
    expect(new TopicValueParser(spec).parse(payload)).toBe(expected);
  });

  it('reads Victron\'s {"value": null} as unknown', () => {
    expect(new TopicValueParser({}).parse('{"value": null}')).toBeNull();
  });

  it.each([['{"W": '], ['hello'], ['{"X": 1}'], [''], ['{"W": "NaN"}'], ['{"W": true}']])('rejects %j with a reason', (payload) => {
    expect(() => new TopicValueParser({ jsonPath: '$.W' }).parse(payload)).toThrow(/./);
  });

  it('parses JSON paths', () => {
    expect(parseJsonPath('$.a.b[1]')).toEqual(['a', 'b', 1]);
    expect(selectJsonPath({ a: { b: [5, 6] } }, ['a', 'b', 1])).toBe(6);
    expect(() => parseJsonPath('a.b')).toThrow();
  });
});

describe('plausibility', () => {
  const base = { deviceId: 'x', role: 'battery' as const, atMs: 0 };
  it.each([
    [{ socPct: 140 }, /state of charge 140/],
    [{ powerW: 1e9 }, /power 1000000000 W/],
    [{ currentA: [1, Number.NaN, 1] as [number, number, number] }, /L2 current/],
    [{ energyImportWh: -5 }, /negative/],
  ])('rejects %j', (values, reason) => {
    expect(implausibility({ ...base, ...values })).toMatch(reason);
  });
  it('accepts a normal reading', () => {
    expect(implausibility({ ...base, socPct: 55, powerW: -3000, currentA: [4, 4, 4] })).toBeNull();
  });
});
