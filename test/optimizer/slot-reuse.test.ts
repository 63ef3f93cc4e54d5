// decide() reuses last cycle's slot objects (optimizer/slot.ts, SlotPool, carried in the memory it
// returns). A reused slot must decide exactly as a new one, whatever changed since the cycle it
// comes from: the charger at its index, the charger list itself (a new site index), the session,
// the car's phases, a pause, a reservation, the failsafe. The pool is not carried by JSON or
// structuredClone, so a cloned memory decides with new slots: both must give the same decision.
// A memory used twice (two decisions from one state) shares one pool: the second must still decide
// as if it had its own. A connector's next hysteresis memory is last cycle's object when every
// field is the same (same-memory.ts): a field it does not compare would carry a stale value.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, initialDecideState } from '../../optimizer/index.ts';
import type { ChargerParams, ConnectorSnapshot, Decision, DecideParams, DecideState, SiteSnapshot } from '../../optimizer/index.ts';
import { arbSite } from './arb-site.ts';
import { MEMORY_FIELDS, sameMemory } from '../../optimizer/same-memory.ts';
import type { ConnectorMemory } from '../../optimizer/types.ts';

/** JSON with object keys sorted, NaN kept apart from null. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
    if (v instanceof Float64Array || v instanceof Int32Array) return Array.from(v);
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

type Change =
  | 'none'
  | 'swap-neighbours'
  | 'new-charger-list'
  | 'charger-becomes-single-phase'
  | 'session-ends'
  | 'session-starts'
  | 'pause'
  | 'reserve'
  | 'no-grid'
  | 'unknown-charger'
  | 'drop-last';

const CHANGES: Change[] = ['none', 'none', 'swap-neighbours', 'new-charger-list', 'charger-becomes-single-phase', 'session-ends', 'session-starts', 'pause', 'reserve', 'no-grid', 'unknown-charger', 'drop-last'];

function apply(change: Change, pick: number, snapshot: SiteSnapshot, params: DecideParams): { snapshot: SiteSnapshot; params: DecideParams } {
  const connectors = [...snapshot.connectors];
  const n = connectors.length;
  const i = n ? pick % n : 0;
  switch (change) {
    case 'swap-neighbours':
      if (n >= 2) [connectors[i], connectors[(i + 1) % n]] = [connectors[(i + 1) % n], connectors[i]];
      break;
    case 'new-charger-list':
      return { snapshot, params: { ...params, chargers: params.chargers.map((c) => ({ ...c })) } };
    case 'charger-becomes-single-phase': {
      const chargers = params.chargers.map((c, k): ChargerParams => (k === pick % Math.max(1, params.chargers.length) ? { ...c, phases: c.phases === 3 ? 1 : 3 } : c));
      return { snapshot, params: { ...params, chargers } };
    }
    case 'session-ends':
      if (n) connectors[i] = { ...connectors[i], session: null, status: 'Available' };
      break;
    case 'session-starts':
      if (n) connectors[i] = { ...connectors[i], status: 'Charging', session: { id: `new-${pick}`, startedAtMs: snapshot.atMs, energyWh: 0, tierRank: 1, paused: false } };
      break;
    case 'pause':
      if (n && connectors[i].session) connectors[i] = { ...connectors[i], session: { ...connectors[i].session!, paused: !connectors[i].session!.paused } };
      break;
    case 'reserve':
      if (n) connectors[i] = { ...connectors[i], reservedA: connectors[i].reservedA ? 0 : 8 };
      break;
    case 'no-grid':
      return { snapshot: { ...snapshot, grid: null }, params };
    case 'unknown-charger':
      if (n) connectors[i] = { ...connectors[i], chargerId: `unknown-${pick}` };
      break;
    case 'drop-last':
      connectors.pop();
      break;
    default:
      break;
  }
  return { snapshot: { ...snapshot, connectors }, params };
}

const arbSteps = fc.array(
  fc.record({ change: fc.constantFrom(...CHANGES), pick: fc.nat(50), dtMs: fc.integer({ min: 300, max: 12_000 }), drawScale: fc.constantFrom(0, 0.4, 1, 1.2) }),
  { minLength: 2, maxLength: 10 },
);

/** The next snapshot: cars draw a share of their last cap, sampled a little before the cycle. */
function advance(snapshot: SiteSnapshot, last: Decision | undefined, atMs: number, drawScale: number): SiteSnapshot {
  const caps = new Map(last?.caps.map((c) => [`${c.chargerId}/${c.connectorId}`, c]));
  const connectors = snapshot.connectors.map((c): ConnectorSnapshot => {
    const cap = caps.get(`${c.chargerId}/${c.connectorId}`);
    const drawn = c.session ? (cap?.currentA ?? 0) * drawScale : 0;
    return { ...c, drawAtMs: atMs - 300, drawA: cap?.phases === 1 ? [drawn, 0, 0] : [drawn, drawn, drawn] };
  });
  return { ...snapshot, atMs, grid: snapshot.grid && { ...snapshot.grid, atMs: atMs - 200 }, connectors };
}

describe('slots reused from the last cycle', () => {
  it('decide exactly as new slots, whatever changed since that cycle', () => {
    fc.assert(
      fc.property(arbSite(), arbSteps, fc.constantFrom(0, 5_000), fc.constantFrom(0, 10_000), (site, steps, carResponseMs, capHoldMs) => {
        let params: DecideParams = { ...site.params, carResponseMs, capHoldMs };
        let snapshot = site.snapshot;
        let reused: DecideState = initialDecideState;
        let fresh: DecideState = initialDecideState;
        let last: Decision | undefined;
        for (const { change, pick, dtMs, drawScale } of steps) {
          ({ snapshot, params } = apply(change, pick, advance(snapshot, last, snapshot.atMs + dtMs, drawScale), params));
          const a = decide(snapshot, params, reused);
          const b = decide(snapshot, params, structuredClone(fresh));
          expect(canonical(a)).toBe(canonical(b));
          reused = a.nextState;
          fresh = b.nextState;
          last = a;
        }
      }),
      { seed: 20261207, numRuns: 200 },
    );
  });

  it('decide the same from a memory used twice (one pool for two decisions)', () => {
    fc.assert(
      fc.property(arbSite(), fc.constantFrom(0, 5_000), ({ snapshot, params }, carResponseMs) => {
        const p = { ...params, carResponseMs };
        const first = decide(snapshot, p, initialDecideState);
        const state = first.nextState;
        const later = advance(snapshot, first, snapshot.atMs + 2_000, 0.5);
        const other = advance({ ...snapshot, connectors: [...snapshot.connectors].reverse() }, first, snapshot.atMs + 3_000, 1);
        const a = decide(later, p, state);
        decide(other, p, state); // overwrites the shared pool's slots
        const again = decide(later, p, state);
        expect(canonical(again)).toBe(canonical(a));
        expect(canonical(a)).toBe(canonical(decide(later, p, structuredClone(state))));
      }),
      { seed: 20261207, numRuns: 100 },
    );
  });

  it('keep last cycle\'s hysteresis memory only when every field is the same', () => {
    const full: ConnectorMemory = { currentA: 16, changedAtMs: 1_000, sessionId: 's1', pausedSinceMs: 2_000, underDrawSinceMs: 3_000, lending: true, byFailsafe: true, smallRaiseSinceMs: 4_000, earlyRestartAtMs: 5_000, rampFromMs: 500 };
    expect(Object.keys(full).sort()).toEqual(Object.keys(MEMORY_FIELDS).sort());
    expect(sameMemory(full, { ...full })).toBe(true);
    for (const field of Object.keys(MEMORY_FIELDS) as (keyof ConnectorMemory)[]) {
      expect(sameMemory(full, { ...full, [field]: undefined }), field).toBe(false);
      expect(sameMemory({ ...full, [field]: undefined }, full), field).toBe(false);
    }
  });
});
