// The grid meter's plausibility gate (optimizer/meter-plausibility.ts), through decide() with
// params.grid.meterGate on: a meter that is suspect or not yet confirmed means the failsafe, and
// the gate says why in a finding that stays the same while the fault lasts.
import { describe, expect, it } from 'vitest';
import { decide, initialDecideState } from '../../optimizer/index.ts';
import type { ConnectorSnapshot, DecideState, Decision, SiteSnapshot } from '../../optimizer/index.ts';
import { judgeMeter, type GateInput } from '../../optimizer/meter-plausibility.ts';
import { charger, circuit, params, plugged, session, T0 } from './scenario.ts';

const gated = params({
  grid: { maxCurrentA: 63, safetyMargin: 0, metered: true, canExport: false, meterGate: true },
  circuit: circuit('main', 63, ['A', 'B']),
  chargers: [charger('A', 'main'), charger('B', 'main')],
  carResponseMs: 5_000,
});

/** Two cars; each sampled drawing `drawA` at `drawAtMs` (none when undefined). */
function cars(drawA: number | undefined, drawAtMs: number): ConnectorSnapshot[] {
  return ['A', 'B'].map((id) => plugged(id, session(id.toLowerCase(), { startedAtMs: T0 - 60_000 }), drawA === undefined ? {} : { drawA: [drawA, drawA, drawA], drawAtMs }));
}

function snap(atMs: number, gridA: number, connectors: ConnectorSnapshot[]): SiteSnapshot {
  return { atMs, grid: { atMs, currentA: [gridA, gridA, gridA], powerW: gridA * 690 }, circuitLoads: [], connectors, signals: {} };
}

/** Runs decide() once a second over `seconds`, the snapshot built per second; returns every decision. */
function run(seconds: number, at: (s: number, atMs: number) => SiteSnapshot, state: DecideState = initialDecideState, fromS = 0): Decision[] {
  const out: Decision[] = [];
  for (let s = fromS; s < fromS + seconds; s++) {
    const d = decide(at(s, T0 + s * 1000), gated, state);
    state = d.nextState;
    out.push(d);
  }
  return out;
}

const keys = (d: Decision) => (d.findings ?? []).map((f) => f.key).filter((k) => k.startsWith('grid-'));

describe('the meter plausibility gate', () => {
  it('trusts a meter below the chargers on a site with PV: the panels may cover the cars (no failsafe on a sunny day)', () => {
    const withPv = { ...gated, grid: { ...gated.grid, canExport: true } };
    let state = initialDecideState;
    const decisions: Decision[] = [];
    // 30 A of cars per phase, 5 A of building, 25 A of PV: the grid reads 10 A, well below the cars.
    for (let s = 0; s < 20; s++) {
      const atMs = T0 + s * 1000;
      const d = decide(snap(atMs, 10, cars(15, atMs - 500)), withPv, state);
      state = d.nextState;
      decisions.push(d);
    }
    expect(decisions.map((d) => d.failsafe)).toEqual(decisions.map(() => false));
    expect(decisions.flatMap(keys)).toEqual([]);
  });

  it('does not trust a meter reading 100× too small: not confirmed before the cars draw, suspect once their MeterValues show it', () => {
    // 20 A of building load read as 0.2 A; the cars get their failsafe 6 A, then sample 6 A each.
    const decisions = run(30, (s, atMs) => snap(atMs, 0.2 + (s >= 5 ? 0.12 : 0), cars(s >= 12 ? 6 : undefined, atMs)));
    expect(decisions.every((d) => d.failsafe)).toBe(true);
    expect(keys(decisions[0]!)).toEqual(['grid-unconfirmed']);
    // One reading below the chargers may be a cut not yet confirmed: suspect once it lasts 3 s.
    expect(keys(decisions[12]!)).toEqual(['grid-implausible']);
    expect(keys(decisions[20]!)).toEqual(['grid-suspect']);
    expect(decisions[20]!.findings![0]!.text).toMatch(/below the 12 A the chargers report/);
    for (const d of decisions) for (const cap of d.caps) expect(cap.currentA).toBeLessThanOrEqual(6);
  });

  it('trusts a meter at once when it reads more than one 100× too small could, and one that agrees with the chargers', () => {
    const busy = run(3, (_s, atMs) => snap(atMs, 20, cars(undefined, 0)));
    expect(busy.map((d) => d.failsafe)).toEqual([false, false, false]);
    // A quiet site (0.5 A): confirmed once the cars' measured 6 A shows on it.
    const quiet = run(10, (s, atMs) => snap(atMs, s < 4 ? 0.5 : 12.5, cars(s < 4 ? undefined : 6, T0 + 4_000)));
    expect(quiet.slice(0, 4).every((d) => d.failsafe)).toBe(true);
    expect(quiet.slice(4).every((d) => !d.failsafe)).toBe(true);
    // No session: nothing to hold back, the small reading is used (idle connectors keep their default).
    const idle = decide(snap(T0, 0.3, []), gated, initialDecideState);
    expect(idle.failsafe).toBe(false);
  });

  it('ignores one reading below the chargers (the last good one stands in), and when it lasts stays suspect while the cars are held low, until the meter moves and agrees again', () => {
    // A trusted meter (10 A of building load + two cars at 26 A)...
    const good = run(5, (_s, atMs) => snap(atMs, 62, cars(26, atMs)));
    expect(good.every((d) => !d.failsafe)).toBe(true);
    // ...drops to 20 A while the cars still sample 26 A each: ignored at first, suspect once it lasts 3 s.
    const drop = run(6, (_s, atMs) => snap(atMs, 20, cars(26, atMs)), good.at(-1)!.nextState, 5);
    expect(drop.slice(0, 3).map((d) => [d.failsafe, keys(d)[0]])).toEqual([[false, 'grid-implausible'], [false, 'grid-implausible'], [false, 'grid-implausible']]);
    expect(drop.slice(3).every((d) => d.failsafe && keys(d)[0] === 'grid-suspect')).toBe(true);
    // The cars, held at their failsafe 6 A, sample 6 A: 20 A is no longer below them, but the meter has not moved.
    const held = run(20, (_s, atMs) => snap(atMs, 20, cars(6, atMs)), drop.at(-1)!.nextState, 11);
    expect(held.every((d) => d.failsafe && keys(d)[0] === 'grid-suspect')).toBe(true);
    // The meter moves and agrees with what the chargers measure: trusted again.
    const back = run(3, (_s, atMs) => snap(atMs, 23, cars(6, atMs)), held.at(-1)!.nextState, 31);
    expect(back.every((d) => !d.failsafe)).toBe(true);
  });

  it('flags a meter that stands still while the chargers measure a large change, only once every car was seen twice', () => {
    const input = (drawsA: number[][], readingA: number, atMs: number): GateInput => ({
      gated: true,
      atMs,
      reading: { atMs, currentA: [readingA, readingA, readingA], powerW: readingA * 690 },
      fuseA: 63,
      voltageV: 230,
      canExport: false,
      evLowA: [0, 0, 0],
      drawStaleMs: 60_000,
      connectors: drawsA.map((draws) => ({ draws, rot: [0, 1, 2], capA: 32, maxA: 32, hasCar: true })),
      hasSessions: true,
    });
    let memory = judgeMeter(input([[], []], 60, T0), undefined).memory;
    // Car A seen twice (10 → 25 A), car B once: B may have moved the other way unseen, no verdict.
    const once = judgeMeter(input([[T0 + 1_000, 10, 10, 10, T0 + 9_000, 25, 25, 25], [T0 + 5_000, 10, 10, 10]], 60, T0 + 10_000), memory);
    expect(once.trusted).toBe(true);
    memory = once.memory;
    // Both seen twice, together +30 A, the meter still at 60 A to the hundredth: stuck.
    const twice = judgeMeter(input([[T0 + 1_000, 10, 10, 10, T0 + 9_000, 25, 25, 25], [T0 + 5_000, 10, 10, 10, T0 + 15_000, 25, 25, 25]], 60, T0 + 16_000), memory);
    expect(twice.trusted).toBe(false);
    expect(twice.key).toBe('grid-suspect');
    expect(twice.why).toMatch(/stands at 60 A on L1 .* moved by 30 A \(stuck\?\)/);
  });

  it('keeps the one-reading checks without the gate: the last good reading stands in while it is fresh', () => {
    const ungated = { ...gated, grid: { ...gated.grid, meterGate: false } };
    const good = decide(snap(T0, 30, cars(10, T0)), ungated, initialDecideState);
    const glitch = decide(snap(T0 + 1_000, -300, cars(10, T0)), ungated, good.nextState);
    expect(glitch.failsafe).toBe(false);
    expect(keys(glitch)).toEqual(['grid-implausible']);
    expect(glitch.nextState.estimate?.meterGate).toBeUndefined();
  });
});
