// Small builders for hand-written sites: one root, named circuits, chargers and sessions.
import { decide, initialDecideState } from '../../optimizer/index.ts';
import type { ChargerParams, CircuitNode, ConnectorSnapshot, Decision, DecideParams, DecideState, SessionSnapshot, SiteSnapshot } from '../../optimizer/types.ts';

export const T0 = 1_800_000_000_000;

export function params(overrides: Partial<DecideParams> & { chargers: ChargerParams[]; circuit: CircuitNode }): DecideParams {
  return {
    voltageV: 230,
    grid: { maxCurrentA: 400, safetyMargin: 0, metered: true },
    priority: 'fcfs',
    deadbandA: 0.5,
    minPauseMs: 120_000,
    staleAfterMs: 10_000,
    failsafeCurrentA: 6,
    unusedHoldMs: 30_000,
    rampReserveA: 2,
    // These scenarios' cars follow a new cap at once; the car response and the handover have
    // their own tests (estimation.test.ts) and the closed loop (test/closed-loop).
    carResponseMs: 0,
    ...overrides,
  };
}

export function charger(id: string, circuitId: string, overrides: Partial<ChargerParams> = {}): ChargerParams {
  return { id, connectorCount: 1, maxCurrentA: 32, minCurrentA: 6, phases: 3, phaseRotation: 'L1L2L3', circuitId, ...overrides };
}

export function circuit(id: string, maxCurrentA: number, chargerIds: string[] = [], children: CircuitNode[] = []): CircuitNode {
  return { id, maxCurrentA, chargerIds, children };
}

export function session(id: string, overrides: Partial<SessionSnapshot> = {}): SessionSnapshot {
  return { id, startedAtMs: T0 - 3_600_000, energyWh: 0, tierRank: 1, paused: false, ...overrides };
}

export function plugged(chargerId: string, s: SessionSnapshot | null, overrides: Partial<ConnectorSnapshot> = {}): ConnectorSnapshot {
  return { chargerId, connectorId: 1, status: s ? 'Charging' : 'Available', session: s, drawA: [0, 0, 0], ...overrides };
}

export function snapshot(connectors: ConnectorSnapshot[], overrides: Partial<SiteSnapshot> = {}): SiteSnapshot {
  return {
    atMs: T0,
    grid: { atMs: T0, currentA: [0, 0, 0], powerW: 0 },
    circuitLoads: [],
    connectors,
    signals: {},
    ...overrides,
  };
}

/** Caps by charger id (single-connector chargers), A. */
export function capsOf(decision: { caps: { chargerId: string; connectorId: number; currentA: number }[] }): Record<string, number> {
  return Object.fromEntries(decision.caps.map((c) => [c.connectorId === 1 ? c.chargerId : `${c.chargerId}/${c.connectorId}`, c.currentA]));
}

export function reasonOf(decision: { caps: { chargerId: string; reason: { text: string } }[] }, chargerId: string): string {
  return decision.caps.find((c) => c.chargerId === chargerId)!.reason.text;
}

/** A grid reading of `buildingA` on every phase at 230 V, taken at `atMs`. */
export function gridWith(atMs: number, buildingA: number): SiteSnapshot['grid'] {
  return { atMs, currentA: [buildingA, buildingA, buildingA], powerW: buildingA * 690 };
}

/** Runs decide() over a time series, carrying the memory, and returns every decision. */
export function decideSeries(p: DecideParams, steps: { atMs: number; snapshot: (atMs: number) => SiteSnapshot }[]): Decision[] {
  let state: DecideState = initialDecideState;
  return steps.map(({ atMs, snapshot: make }) => {
    const decision = decide(make(atMs), p, state);
    state = decision.nextState;
    return decision;
  });
}
