// What the tree can still carry: per node and phase, the limit less the safety margin, less the
// non-EV load measured there, less every reservation. Kept in whole deci-amps (see numbers.ts).
import type { DecideParams, HeadroomReport, PhaseValues, SiteSnapshot } from './types.ts';
import { ceilDa, finiteOr, floorDa, nonNegative } from './numbers.ts';
import type { SiteIndex } from './site-index.ts';
import type { Slot } from './slot.ts';
import { slotPowerWeight } from './phase-map.ts';

/**
 * measured: grid meter and submeters count. unmetered: static balancing, building load at the
 * connection point is 0 (submeters still count). failsafe: nothing measured is trusted; only the
 * static limits with margin and the EV caps count.
 */
export type LoadMode = 'measured' | 'unmetered' | 'failsafe';

/** Mutable capacity the allocator draws from. */
export interface Pool {
  /** Per constraint (3 × node + phase), deci-amps still free; negative when already overloaded. */
  residual: Float64Array;
  /** Grid import power still free, in units of 0.1 A on one phase at the site voltage. */
  power: number;
}

export interface Capacity {
  pool: Pool;
  /** The pool right after reservations, before any cap: what caps may add in total. */
  initial: Pool;
  /** Limit after margin per constraint, deci-amps. */
  limitDa: Float64Array;
  /** Non-EV load per constraint, deci-amps (rounded up). */
  buildingDa: Float64Array;
  /** Effective import power limit after margin, W, and where it comes from; undefined = none. */
  powerLimitW: number | undefined;
  powerSource: 'grid' | 'signal';
  /** Non-EV import power at the connection point, W, never below 0. */
  buildingPowerW: number;
}

export function safetyMarginOf(params: DecideParams): number {
  return Math.min(0.5, nonNegative(params.grid.safetyMargin));
}

/** The strictest import power limit, W before the margin, and its source. */
function importLimit(snapshot: SiteSnapshot, params: DecideParams): { limitW: number | undefined; source: 'grid' | 'signal' } {
  const gridW = params.grid.maxImportPowerW;
  const signalW = snapshot.signals?.importLimitW;
  let limitW: number | undefined;
  let source: 'grid' | 'signal' = 'grid';
  if (gridW !== undefined && gridW !== null) limitW = nonNegative(gridW);
  if (signalW !== undefined && signalW !== null && (limitW === undefined || nonNegative(signalW) < limitW)) {
    limitW = nonNegative(signalW);
    source = 'signal';
  }
  return { limitW, source };
}

/** Non-EV load per node and site phase, A. */
function buildingLoads(snapshot: SiteSnapshot, index: SiteIndex, slots: readonly Slot[], mode: LoadMode): Float64Array {
  const nodeCount = index.nodeIds.length;
  const building = new Float64Array(nodeCount * 3);
  if (mode === 'failsafe') return building;

  // EV draw under each node, per site phase.
  const evDraw = new Float64Array(nodeCount * 3);
  for (const slot of slots) {
    if (!slot.charger) continue; // an unconfigured charger's draw stays in the building load
    for (const n of index.paths[slot.node]) for (let p = 0; p < 3; p++) evDraw[n * 3 + p] += slot.siteDrawA[p];
  }

  // Submeters: what they measure minus the EV draw under them. A stale submeter still tells more
  // than nothing; the grid meter (or the failsafe) covers the root.
  const byId = new Map<string, number>();
  index.nodeIds.forEach((id, n) => {
    if (n > 0 && !byId.has(id)) byId.set(id, n);
  });
  for (const load of snapshot.circuitLoads ?? []) {
    const n = byId.get(load.circuitId);
    if (n === undefined || !load.currentA) continue;
    for (let p = 0; p < 3; p++) {
      const measured = finiteOr(load.currentA[p], Number.NaN);
      if (Number.isNaN(measured)) continue;
      building[n * 3 + p] = Math.max(building[n * 3 + p], measured - evDraw[n * 3 + p], 0);
    }
  }

  // A node carries at least what its children carry. Children come after their parent in the
  // index, so walking backwards finalizes each node before it is added to its parent.
  const childSums = new Float64Array(nodeCount * 3);
  for (let n = nodeCount - 1; n >= 1; n--) {
    const parent = index.parent[n];
    for (let p = 0; p < 3; p++) {
      const c = n * 3 + p;
      building[c] = Math.max(building[c], childSums[c]);
      if (parent >= 1) childSums[parent * 3 + p] += building[c];
    }
  }

  // The connection point (node 0) and the root circuit (node 1) carry the grid meter's building load.
  for (let p = 0; p < 3; p++) {
    const gridA = mode === 'measured' && snapshot.grid ? Math.max(0, finiteOr(snapshot.grid.currentA[p], 0) - evDraw[p]) : 0;
    const root = Math.max(gridA, building[3 + p]);
    building[3 + p] = root;
    building[p] = root;
  }
  return building;
}

/** Non-EV import power at the connection point, W, never below 0. */
function buildingPower(snapshot: SiteSnapshot, params: DecideParams, slots: readonly Slot[], mode: LoadMode): number {
  if (mode !== 'measured' || !snapshot.grid) return 0;
  const voltageV = finiteOr(params.voltageV, 0);
  let evPowerW = 0;
  for (const slot of slots) if (slot.charger) evPowerW += (slot.siteDrawA[0] + slot.siteDrawA[1] + slot.siteDrawA[2]) * voltageV;
  return Math.max(0, finiteOr(snapshot.grid.powerW, 0) - evPowerW);
}

export function siteCapacity(snapshot: SiteSnapshot, params: DecideParams, index: SiteIndex, slots: readonly Slot[], mode: LoadMode): Capacity {
  const margin = safetyMarginOf(params);
  const nodeCount = index.nodeIds.length;
  const building = buildingLoads(snapshot, index, slots, mode);
  const limitDa = new Float64Array(nodeCount * 3);
  const buildingDa = new Float64Array(nodeCount * 3);
  const residual = new Float64Array(nodeCount * 3);
  for (let n = 0; n < nodeCount; n++) {
    const limitA = index.nodeLimitA[n] * (1 - margin);
    for (let p = 0; p < 3; p++) {
      const c = n * 3 + p;
      limitDa[c] = floorDa(limitA);
      buildingDa[c] = ceilDa(building[c]);
      residual[c] = floorDa(limitA - building[c]);
    }
  }

  const { limitW, source } = importLimit(snapshot, params);
  const voltageV = finiteOr(params.voltageV, 0);
  const buildingPowerW = buildingPower(snapshot, params, slots, mode);
  let power = Number.POSITIVE_INFINITY;
  if (limitW !== undefined) {
    power = voltageV > 0 ? floorDa((limitW * (1 - margin) - buildingPowerW) / voltageV) : 0;
  }

  for (const slot of slots) {
    if (slot.reservedDa <= 0) continue;
    for (const c of slot.cons) residual[c] -= slot.reservedDa;
    power -= slot.reservedDa * slotPowerWeight(slot);
  }

  return {
    pool: { residual, power },
    initial: { residual: Float64Array.from(residual), power },
    limitDa,
    buildingDa,
    powerLimitW: limitW === undefined ? undefined : limitW * (1 - margin),
    powerSource: source,
    buildingPowerW,
  };
}

/** Site-level report (node 0) after the slots' caps: limit, non-EV load and what is left, A per phase. */
export function headroomReport(capacity: Capacity, slots: readonly Slot[]): HeadroomReport {
  const used = [0, 0, 0];
  for (const slot of slots) {
    const da = Math.max(slot.capDa, slot.reservedDa);
    if (da <= 0) continue;
    for (let p = 0; p < 3; p++) if (slot.mask & (1 << p)) used[p] += da;
  }
  const triple = (f: (p: number) => number): PhaseValues => [f(0), f(1), f(2)];
  return {
    limitA: triple((p) => capacity.limitDa[p] / 10),
    buildingA: triple((p) => capacity.buildingDa[p] / 10),
    headroomA: triple((p) => (capacity.limitDa[p] - capacity.buildingDa[p] - used[p]) / 10),
  };
}
