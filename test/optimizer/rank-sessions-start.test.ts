// rankSessions() starts its sort from last cycle's order (decide() passes it) to be fast; the order
// it returns must not depend on where it started: the same as with no starting order, for every
// scheme, with ties on every key, a connector listed twice and ids that do not compare (bad input).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rankSessions } from '../../optimizer/rank-sessions.ts';
import type { Rankable } from '../../optimizer/rank-sessions.ts';
import type { PriorityScheme, SessionSnapshot } from '../../optimizer/index.ts';

const T0 = 1_800_000_000_000;
const HOUR = 3_600_000;

interface Item extends Rankable {
  name: number;
}

const arbItem = fc.record({
  chargerId: fc.constantFrom('A', 'B', 'C'),
  connectorId: fc.integer({ min: 1, max: 2 }),
  /** Bad input (the schema rejects it): no charger id, or a connector id that is not a number. */
  badId: fc.constantFrom('none', 'none', 'none', 'none', 'none', 'charger', 'connector'),
  hasSession: fc.boolean(),
  startedAtMs: fc.constantFrom(T0 - 2 * HOUR, T0 - HOUR, Number.NaN),
  departureAtMs: fc.option(fc.constantFrom(T0 + HOUR / 2, T0 + 2 * HOUR, T0 + 20 * HOUR), { nil: undefined }),
  energyNeedWh: fc.option(fc.constantFrom(0, 10_000, 60_000), { nil: undefined }),
  socPct: fc.option(fc.constantFrom(20, 70), { nil: undefined }),
  tierRank: fc.constantFrom(1, 2, Number.NaN),
  maxDa: fc.constantFrom(160, 320),
  phases: fc.constantFrom(1 as const, 3 as const),
});

/** A session with the fields the item has (absent ones left out, as the snapshot leaves them out). */
function session(name: number, r: { startedAtMs: number; departureAtMs?: number; energyNeedWh?: number; socPct?: number; tierRank: number }): SessionSnapshot {
  const out: SessionSnapshot = { id: `s${name}`, startedAtMs: r.startedAtMs, energyWh: 1000, tierRank: r.tierRank, paused: false };
  if (r.departureAtMs !== undefined) out.departureAtMs = r.departureAtMs;
  if (r.energyNeedWh !== undefined) out.energyNeedWh = r.energyNeedWh;
  if (r.socPct !== undefined) out.socPct = r.socPct;
  return out;
}

const arbCase = fc.record({
  raw: fc.array(arbItem, { minLength: 0, maxLength: 12 }),
  withBadIds: fc.boolean(),
  scheme: fc.constantFrom<PriorityScheme>('fcfs', 'departure', 'equal', 'soc', 'tier'),
  start: fc.array(fc.integer({ min: -1, max: 13 }), { maxLength: 16 }),
});

describe('rankSessions from a starting order', () => {
  it('returns the order it returns without one, whatever the starting order', () => {
    fc.assert(
      fc.property(arbCase, ({ raw, withBadIds, scheme, start }) => {
        const items: Item[] = raw.map((r, name) => ({
          name,
          connector: {
            chargerId: withBadIds && r.badId === 'charger' ? (undefined as unknown as string) : r.chargerId,
            connectorId: withBadIds && r.badId === 'connector' ? Number.NaN : r.connectorId,
          },
          session: r.hasSession ? session(name, r) : null,
          maxDa: r.maxDa,
          phases: r.phases,
        }));
        const plain = rankSessions(items, scheme, T0, 230).map((i) => i.name);
        const reversed = items.map((_, i) => items.length - 1 - i);
        expect(rankSessions(items, scheme, T0, 230, start).map((i) => i.name)).toEqual(plain);
        expect(rankSessions(items, scheme, T0, 230, reversed).map((i) => i.name)).toEqual(plain);
        expect(rankSessions(items, scheme, T0, 230, plain.map((name) => name)).map((i) => i.name)).toEqual(plain);
        expect([...plain].sort((a, b) => a - b)).toEqual(items.filter((i) => i.session).map((i) => i.name));
      }),
      { seed: 20261207, numRuns: 400 },
    );
  });
});
