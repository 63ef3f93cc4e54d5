// Counterexamples the "stays within limits over a series of cycles" property found, as fixed cases.
// Both were the property's model lagging the estimation semantics of optimizer/site-view.ts (see
// the commit message): a car keeps the phases it was measured on for its session, and a grid
// reading beyond what the fuse allows is ignored.
import { describe, expect, it } from 'vitest';
import { decide, initialDecideState } from '../../optimizer/index.ts';
import type { ConnectorSnapshot, DecideParams, SiteSnapshot } from '../../optimizer/index.ts';
import { params as scenarioParams } from './scenario.ts';
import { measuredPhases, phasesWithMemory, violations } from './site-model.ts';

const T0 = 1_800_000_000_000;

function params(over: Partial<DecideParams['grid']> = {}): DecideParams {
  return scenarioParams({
    grid: { maxCurrentA: 40, safetyMargin: 0, metered: false, ...over },
    circuit: { id: 'main', maxCurrentA: 30, chargerIds: ['CP01', 'CP02'], children: [] },
    chargers: [
      { id: 'CP01', connectorCount: 1, maxCurrentA: 32, minCurrentA: 6, phases: 3, phaseRotation: 'L2L1L3', circuitId: 'main' },
      { id: 'CP02', connectorCount: 1, maxCurrentA: 32, minCurrentA: 6, phases: 1, phaseRotation: 'L1L2L3', circuitId: 'main' },
    ],
  });
}

function connectors(atMs: number, cp01DrawA: number): ConnectorSnapshot[] {
  return [
    {
      chargerId: 'CP01',
      connectorId: 1,
      status: 'Charging',
      session: { id: 's0', startedAtMs: T0 - 3_600_000, energyWh: 0, tierRank: 1, paused: false },
      drawA: [cp01DrawA, 0, 0],
      drawAtMs: atMs,
      reservedA: 10,
    },
    {
      chargerId: 'CP02',
      connectorId: 1,
      status: 'Charging',
      session: { id: 's1', startedAtMs: T0 - 1_800_000, energyWh: 0, tierRank: 1, paused: false },
      drawA: [0, 0, 0],
      drawAtMs: atMs,
    },
  ];
}

describe('decide() regressions from the series property', () => {
  it('keeps a car measured on one phase on that phase while it draws nothing, within every limit', () => {
    const p = params();
    const first: SiteSnapshot = { atMs: T0, grid: null, circuitLoads: [], connectors: connectors(T0, 12), signals: {} };
    const one = decide(first, p, initialDecideState);
    const second: SiteSnapshot = { ...first, atMs: T0 + 60_000, connectors: connectors(T0 + 60_000, 0) };
    const two = decide(second, p, one.nextState);
    // CP01 (L2L1L3) was measured on its L1 = site L2: its 10 A reservation and cap stay there.
    const learned = measuredPhases(first.connectors[0], first, p);
    expect(learned).toEqual([1]);
    expect(two.caps.find((c) => c.chargerId === 'CP01')!.phases).toBe(1);
    const phasesOf = (c: ConnectorSnapshot) => phasesWithMemory(c, p, c.chargerId === 'CP01' ? learned : undefined);
    expect(violations(second, p, two.caps, true, phasesOf)).toEqual([]);
  });

  it('ignores a grid reading beyond what the fuse allows and stays within the static limits', () => {
    const p = params({ metered: true });
    const first: SiteSnapshot = { atMs: T0, grid: { atMs: T0, currentA: [100, 0, 0], powerW: 0 }, circuitLoads: [], connectors: connectors(T0, 0), signals: {} };
    const one = decide(first, p, initialDecideState);
    // 150 A: beyond what a 40 A fuse allows (3× or +100 A), and the last plausible reading is older
    // than staleAfterMs: failsafe.
    const second: SiteSnapshot = { ...first, atMs: T0 + 60_000, grid: { atMs: T0 + 60_000, currentA: [150, 0, 0], powerW: 0 }, connectors: connectors(T0 + 60_000, 0) };
    const two = decide(second, p, one.nextState);
    expect(two.failsafe).toBe(true);
    expect(two.findings?.map((f) => f.key)).toContain('grid-implausible');
    expect(violations(second, p, two.caps, false)).toEqual([]);
  });
});
