// decide() reads last cycle's per-connector memories by snapshot index when the connectors come in
// the same order, and by connector key otherwise (optimizer/memories-by-index.ts). Both ways must
// give the same decision: a memory passed through structuredClone (which keeps the `connectors`
// records and drops the index) must decide exactly as the memory itself, whatever happens to the
// connector list between cycles (reordered, one dropped, one listed twice, one added back).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, initialDecideState } from '../../optimizer/index.ts';
import type { ConnectorSnapshot, Decision, DecideParams, DecideState, SiteSnapshot } from '../../optimizer/index.ts';
import { arbSite } from './arb-site.ts';
import { benchSite, canonical } from './bench-site.ts';

type Op = 'same' | 'reverse' | 'drop-first' | 'duplicate-last' | 'rotate';

function reorder(connectors: readonly ConnectorSnapshot[], op: Op): ConnectorSnapshot[] {
  const list = [...connectors];
  if (list.length === 0) return list;
  switch (op) {
    case 'reverse':
      return list.reverse();
    case 'drop-first':
      return list.slice(1);
    case 'duplicate-last':
      return [...list, list[list.length - 1]];
    case 'rotate':
      return [...list.slice(1), list[0]];
    default:
      return list;
  }
}

const arbOps = fc.array(fc.record({ op: fc.constantFrom<Op>('same', 'same', 'reverse', 'drop-first', 'duplicate-last', 'rotate'), dtMs: fc.integer({ min: 500, max: 8_000 }), drawScale: fc.constantFrom(0, 0.5, 1) }), {
  minLength: 2,
  maxLength: 8,
});

type Cycle = { op: Op; dtMs: number; drawScale: number };

/** Runs the cycles twice, memories read by index and by key (structuredClone drops the index), and expects the same decisions. */
function expectSameByIndexAndKey(snapshot: SiteSnapshot, params: DecideParams, cycles: readonly Cycle[]): void {
  let byIndex: DecideState = initialDecideState;
  let byKey: DecideState = initialDecideState;
  let atMs = snapshot.atMs;
  let last: Decision | undefined;
  for (const { op, dtMs, drawScale } of cycles) {
    atMs += dtMs;
    const caps = new Map(last?.caps.map((c) => [`${c.chargerId}/${c.connectorId}`, c.currentA]));
    const connectors = reorder(snapshot.connectors, op).map((c): ConnectorSnapshot => {
      const drawn = c.session ? (caps.get(`${c.chargerId}/${c.connectorId}`) ?? 0) * drawScale : 0;
      return { ...c, drawAtMs: atMs - 300, drawA: [drawn, drawn, drawn] };
    });
    const next: SiteSnapshot = { ...snapshot, atMs, grid: snapshot.grid && { ...snapshot.grid, atMs: atMs - 200 }, connectors };
    const a = decide(next, params, byIndex);
    const b = decide(next, params, structuredClone(byKey));
    expect(canonical(a, true)).toBe(canonical(b, true));
    byIndex = a.nextState;
    byKey = b.nextState;
    last = a;
  }
}

describe('memories by snapshot index', () => {
  it('decide the same as the memories by connector key, whatever the connector list does', () => {
    fc.assert(
      fc.property(arbSite(), arbOps, fc.constantFrom(0, 5_000), fc.constantFrom(0, 10_000), ({ snapshot, params }, ops, carResponseMs, capHoldMs) => {
        expectSameByIndexAndKey(snapshot, { ...params, carResponseMs, capHoldMs }, ops);
      }),
      { seed: 20261206, numRuns: 150 },
    );
  });

  it('decide the same by index and by key on the bench site (200 connectors), its list reordered between cycles', () => {
    const ops: Op[] = ['same', 'same', 'reverse', 'same', 'drop-first', 'duplicate-last', 'rotate', 'same'];
    for (const priority of ['fcfs', 'equal'] as const) {
      const { params, snapshot } = benchSite(200, priority);
      expectSameByIndexAndKey(snapshot, { ...params, capHoldMs: priority === 'equal' ? 15_000 : 0 }, ops.map((op, k) => ({ op, dtMs: 1_000 + (k % 3) * 700, drawScale: [1, 0.9, 0, 1.1, 0.5][k % 5] })));
    }
  });

  it('show the same memories in JSON, in a spread copy and after a record set by hand', () => {
    const [{ snapshot, params }] = fc.sample(arbSite(), { seed: 7, numRuns: 1 });
    const first = decide(snapshot, params, initialDecideState);
    const second = decide({ ...snapshot, atMs: snapshot.atMs + 1_000 }, params, first.nextState);
    const state = second.nextState;
    const keys = snapshot.connectors.map((c) => `${c.chargerId}/${c.connectorId}`).sort();
    expect(Object.keys(state.connectors).sort()).toEqual([...new Set(keys)]);
    expect(Object.keys(JSON.parse(JSON.stringify(state)).estimate.connectors).sort()).toEqual([...new Set(keys)]);
    expect(canonical({ ...state }, true)).toBe(canonical(state, true));
    // A record set by hand replaces the memories (nothing is read from the index any more).
    const estimate = state.estimate!;
    (estimate as { connectors: unknown }).connectors = {};
    expect(estimate.connectors).toEqual({});
    const after = decide({ ...snapshot, atMs: snapshot.atMs + 2_000 }, params, state);
    const fresh = decide({ ...snapshot, atMs: snapshot.atMs + 2_000 }, params, { ...structuredClone(state), estimate: { ...structuredClone(estimate), connectors: {} } });
    expect(canonical(after, true)).toBe(canonical(fresh, true));
  });
});
