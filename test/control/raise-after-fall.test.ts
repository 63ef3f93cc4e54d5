// Cap hysteresis after the building load falls (optimizer/decide.ts + sustained-raise.ts): the
// building estimate itself holds its high readings for buildingHoldMs, so the peak memory adds only
// the rest of capHoldMs. A raise after a fall waits capHoldMs in all (it waited capHoldMs +
// buildingHoldMs, 15 s: the closed-loop property's short cases lost their steady state to it).
import { describe, expect, it } from 'vitest';
import { decide, initialDecideState } from '../../optimizer/index.ts';
import type { DecideParams, DecideState, SiteSnapshot } from '../../optimizer/types.ts';

const T0 = 1_800_000_000_000;

const params: DecideParams = {
  voltageV: 230,
  grid: { maxCurrentA: 63, safetyMargin: 0, metered: true },
  circuit: { id: 'main', maxCurrentA: 63, chargerIds: ['CP1'], children: [] },
  chargers: [{ id: 'CP1', connectorCount: 1, maxCurrentA: 32, minCurrentA: 6, phases: 3, phaseRotation: 'L1L2L3', circuitId: 'main' }],
  priority: 'equal',
  deadbandA: 0.5,
  minPauseMs: 120_000,
  staleAfterMs: 10_000,
  failsafeCurrentA: 6,
  unusedHoldMs: 30_000,
  rampReserveA: 2,
  carResponseMs: 5_000,
  buildingHoldMs: 5_000,
  capHoldMs: 10_000,
};

/** The car draws its cap (sampled every cycle); the building is 45 A until `fallAtMs`, then 20 A. */
function run(fallAtMs: number, untilMs: number): { atMs: number; capA: number }[] {
  let state: DecideState = initialDecideState;
  let capA = 6;
  const out: { atMs: number; capA: number }[] = [];
  for (let t = 0; t <= untilMs; t += 1_000) {
    const atMs = T0 + t;
    const building = t < fallAtMs ? 45 : 20;
    const snapshot: SiteSnapshot = {
      atMs,
      grid: { atMs, currentA: [building + capA, building + capA, building + capA], powerW: (building + capA) * 3 * 230 },
      circuitLoads: [],
      connectors: [{ chargerId: 'CP1', connectorId: 1, status: 'Charging', session: { id: 's1', startedAtMs: T0 - 60_000, paused: false, energyWh: 0, tierRank: 0 }, drawA: [capA, capA, capA], drawAtMs: atMs - 100, installedCapA: capA }],
      signals: {},
    };
    const d = decide(snapshot, params, state);
    state = d.nextState;
    capA = d.caps[0]!.currentA;
    out.push({ atMs: t, capA });
  }
  return out;
}

describe('a raise after the building load falls', () => {
  it('comes capHoldMs after the fall, not capHoldMs + buildingHoldMs', () => {
    const fallAtMs = 60_000;
    const series = run(fallAtMs, 90_000);
    const before = series.find((s) => s.atMs === fallAtMs - 1_000)!.capA;
    expect(before).toBeLessThan(20);
    const raised = series.find((s) => s.atMs >= fallAtMs && s.capA >= 30);
    expect(raised, JSON.stringify(series.slice(55, 80))).toBeDefined();
    expect(raised!.atMs - fallAtMs).toBeLessThanOrEqual(params.capHoldMs! + 1_000);
    // Nothing moved before the building estimate's own hold had passed.
    expect(series.filter((s) => s.atMs >= fallAtMs && s.atMs < fallAtMs + params.buildingHoldMs!).every((s) => s.capA === before)).toBe(true);
  });
});
