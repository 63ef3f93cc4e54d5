import { describe, expect, it } from 'vitest';
import { parsePricePayload, PricePayloadError } from '../../src/tariffs/price-payload.ts';

const opts = { source: 'feed', receivedAtMs: 1_000 };

describe('price feed payloads', () => {
  it('reads a list of intervals as import prices', () => {
    const [s] = parsePricePayload([{ start: '2026-11-24T00:00:00Z', end: '2026-11-24T01:00:00Z', price: 0.21 }], opts);
    expect(s).toMatchObject({ kind: 'price', value: 0.21, startMs: Date.parse('2026-11-24T00:00:00Z'), endMs: Date.parse('2026-11-24T01:00:00Z'), source: 'feed' });
  });

  it('reads import, export and carbon lists', () => {
    const out = parsePricePayload({ prices: [{ start: 0, end: 10, price: 0.3 }], export: [{ start: 0, end: 10, price: 0.1 }], carbon: [{ start: 0, end: 10, value: 420 }] }, opts);
    expect(out.map((s) => [s.kind, s.value, s.text])).toEqual([
      ['price', 0.3, undefined],
      ['price', 0.1, 'export price'],
      ['ghg', 420, undefined],
    ]);
  });

  it('applies a bare current price from reception for an hour', () => {
    expect(parsePricePayload({ price: 0.25 }, opts)[0]).toMatchObject({ startMs: 1_000, endMs: 3_601_000, value: 0.25 });
  });

  it.each([
    [{ prices: 'soon' }, 'prices: expected an array'],
    [[{ start: 'x', end: 5, price: 1 }], 'prices.0.start: not a time'],
    [[{ start: 5, end: 1, price: 1 }], 'prices.0.end: must be after start'],
    [[{ start: 1, end: 5 }], 'prices.0.price: expected a number'],
    [{}, 'no price intervals'],
  ])('rejects %j with a clear message', (payload, message) => {
    expect(() => parsePricePayload(payload, opts)).toThrow(PricePayloadError);
    expect(() => parsePricePayload(payload, opts)).toThrow(message);
  });
});
