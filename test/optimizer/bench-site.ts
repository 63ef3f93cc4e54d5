// The decide bench's site shape (bench/decide.bench.ts), for tests that compare decisions on it
// (decide-golden, memories-by-index), and the canonical JSON they compare decisions in.
import type { ChargerParams, CircuitNode, ConnectorSnapshot, DecideParams, PhaseRotation, PriorityScheme, SiteSnapshot } from '../../optimizer/index.ts';
import { NOW_MS } from './arb-site.ts';

const ROTATIONS: PhaseRotation[] = ['L1L2L3', 'L2L3L1', 'L3L1L2'];

/** Which cars accept their own maximum (6.0–32.0 A): none, every fourth, or all (the even fill's worst case). */
export type BenchCarLimits = 'none' | 'every-fourth' | 'all';

/**
 * Site → feeders (250 A) → circuits of 10 connectors (63 A) → connectors; 60 % three-phase
 * (16/32 A), 40 % single-phase on rotating phases; 80 % of connectors have a session. At NOW_MS.
 */
export function benchSite(connectorCount: number, priority: PriorityScheme, carLimits: BenchCarLimits = 'every-fourth'): { params: DecideParams; snapshot: SiteSnapshot } {
  const limited = (k: number) => carLimits === 'all' || (carLimits === 'every-fourth' && k % 4 === 0);
  const circuits = Math.ceil(connectorCount / 10);
  const chargers: ChargerParams[] = [];
  const connectors: ConnectorSnapshot[] = [];
  const feeders: CircuitNode[] = [];
  for (let f = 0; f < Math.ceil(circuits / 10); f++) {
    const children: CircuitNode[] = [];
    for (let c = f * 10; c < Math.min(circuits, (f + 1) * 10); c++) {
      const ids: string[] = [];
      for (let k = c * 10; k < Math.min(connectorCount, (c + 1) * 10); k++) {
        const threePhase = k % 5 < 3;
        const id = `CP${String(k).padStart(4, '0')}`;
        ids.push(id);
        chargers.push({ id, connectorCount: 1, maxCurrentA: k % 2 ? 32 : 16, minCurrentA: 6, phases: threePhase ? 3 : 1, phaseRotation: ROTATIONS[k % 3], circuitId: `row-${c}` });
        const drawn = 5 + (k % 7);
        connectors.push({
          chargerId: id,
          connectorId: 1,
          status: k % 5 === 4 ? 'Available' : 'Charging',
          session: k % 5 === 4 ? null : { id: `s${k}`, startedAtMs: NOW_MS - k * 60_000, departureAtMs: NOW_MS + ((k * 7919) % 36_000_000), energyWh: 1000, energyNeedWh: 20_000, socPct: (k * 37) % 100, tierRank: 1 + (k % 3), paused: false, ...(limited(k) ? { carMaxCurrentA: 6 + ((k * 7919) % 261) / 10 } : {}) },
          drawA: threePhase ? [drawn, drawn, drawn] : [drawn, 0, 0],
          drawAtMs: NOW_MS,
        });
      }
      children.push({ id: `row-${c}`, maxCurrentA: 63, chargerIds: ids, children: [] });
    }
    feeders.push({ id: `feeder-${f}`, maxCurrentA: 250, chargerIds: [], children });
  }
  const gridA = Math.max(100, feeders.length * 200);
  const params: DecideParams = {
    voltageV: 230,
    grid: { maxCurrentA: gridA, maxImportPowerW: feeders.length * 120_000, safetyMargin: 0.05, metered: true },
    circuit: { id: 'main', maxCurrentA: gridA, chargerIds: [], children: feeders },
    chargers,
    priority,
    deadbandA: 0.5,
    minPauseMs: 120_000,
    staleAfterMs: 10_000,
    failsafeCurrentA: 6,
    unusedHoldMs: 30_000,
    rampReserveA: 2,
  };
  return { params, snapshot: { atMs: NOW_MS, grid: { atMs: NOW_MS, currentA: [40, 35, 30], powerW: 60_000 }, circuitLoads: [], connectors, signals: {} } };
}

/**
 * JSON with object keys sorted, so only values (not property order) count; typed arrays as arrays.
 * `nanApart`: NaN written as "NaN" rather than null (the decide-golden hashes were recorded without).
 */
export function canonical(value: unknown, nanApart = false): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (nanApart && typeof v === 'number' && Number.isNaN(v)) return 'NaN';
    if (v instanceof Float64Array || v instanceof Int32Array) return Array.from(v);
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}
