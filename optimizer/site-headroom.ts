// What the tree can still carry: per node and phase, the limit less the safety margin, less the
// non-EV load measured there, less every reservation. Kept in whole deci-amps (see numbers.ts).
import type { DecideParams, HeadroomReport, PhaseValues } from './types.ts';
import { PHASES } from './types.ts';
import type { SiteView } from './site-view.ts';
import { ceilDa, finiteOr, floorDa, formatA, formatKw, nonNegative } from './numbers.ts';
import type { SiteIndex } from './site-index.ts';
import type { Slot } from './slot.ts';
import { slotPowerWeight } from './phase-map.ts';

export type { LoadMode } from './site-view.ts';

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
  /** The pool before reservations: limit less margin less non-EV load. */
  base: Pool;
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

export function siteCapacity(view: SiteView, params: DecideParams, index: SiteIndex, slots: readonly Slot[]): Capacity {
  const margin = safetyMarginOf(params);
  const nodeCount = index.nodeIds.length;
  const building = view.buildingA;
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

  const limitW = view.importLimitW;
  const source = view.importSource;
  const voltageV = finiteOr(params.voltageV, 0);
  const buildingPowerW = view.buildingPowerW;
  let power = Number.POSITIVE_INFINITY;
  if (limitW !== undefined) {
    power = voltageV > 0 ? floorDa((limitW * (1 - margin) - buildingPowerW) / voltageV) : 0;
  }

  const base: Pool = { residual: Float64Array.from(residual), power };
  for (const slot of slots) {
    if (slot.reservedDa <= 0) continue;
    for (const c of slot.cons) residual[c] -= slot.reservedDa;
    power -= slot.reservedDa * slotPowerWeight(slot);
  }

  return {
    pool: { residual, power },
    initial: { residual: Float64Array.from(residual), power },
    base,
    limitDa,
    buildingDa,
    powerLimitW: limitW === undefined ? undefined : limitW * (1 - margin),
    powerSource: source,
    buildingPowerW,
  };
}

/**
 * Site-level report after the slots' caps: limit, non-EV load and what is left per phase at the
 * connection point; the headroom is the tightest of the fuse (node 0 and the root circuit) and
 * the import power limit converted to A per phase (three-phase, at the site voltage).
 */
export function headroomReport(capacity: Capacity, slots: readonly Slot[], index: SiteIndex, params: DecideParams): HeadroomReport {
  const used = [0, 0, 0];
  let usedPowerDa = 0;
  for (const slot of slots) {
    const da = Math.max(slot.capDa, slot.reservedDa, slot.holdDa);
    if (da <= 0) continue;
    for (let p = 0; p < 3; p++) if (slot.mask & (1 << p)) used[p] += da;
    usedPowerDa += da * slot.phases;
  }
  const voltageV = finiteOr(params.voltageV, 0);
  const rootNodes = index.nodeIds.length > 1 ? [0, 1] : [0];
  const headroomA: [number, number, number] = [0, 0, 0];
  let binding: HeadroomReport['binding'] = { kind: 'none', text: 'no limit applies' };
  let tightest = Number.POSITIVE_INFINITY;
  for (let p = 0; p < 3; p++) {
    let least = Number.POSITIVE_INFINITY;
    let which = 0;
    for (const n of rootNodes) {
      const c = n * 3 + p;
      const left = (capacity.limitDa[c] - capacity.buildingDa[c] - used[p]) / 10;
      if (left < least) {
        least = left;
        which = n;
      }
    }
    headroomA[p] = least;
    if (least < tightest) {
      tightest = least;
      const id = index.nodeIds[which];
      binding =
        which === 0
          ? { kind: 'grid-current', phase: PHASES[p], text: `grid connection ${formatA(capacity.limitDa[p] / 10)} on ${PHASES[p]} (after margin)` }
          : { kind: 'circuit', id, phase: PHASES[p], text: `circuit ${id} ${formatA(capacity.limitDa[3 + p] / 10)} on ${PHASES[p]} (after margin)` };
    }
  }
  let headroomW: number | undefined;
  if (capacity.powerLimitW !== undefined) {
    headroomW = capacity.powerLimitW - capacity.buildingPowerW - (usedPowerDa / 10) * voltageV;
    const perPhaseA = voltageV > 0 ? headroomW / (3 * voltageV) : 0;
    const powerText =
      capacity.powerSource === 'signal'
        ? `grid signal import limit ${formatKw(capacity.powerLimitW)} (after margin)`
        : `grid power cap ${formatKw(capacity.powerLimitW)} (after margin)`;
    let lowered = false;
    for (let p = 0; p < 3; p++) {
      if (perPhaseA < headroomA[p]) {
        headroomA[p] = perPhaseA;
        lowered = true;
      }
    }
    if (lowered && perPhaseA <= tightest) binding = { kind: capacity.powerSource === 'signal' ? 'signal' : 'grid-power', text: powerText };
  }
  const triple = (f: (p: number) => number): PhaseValues => [f(0), f(1), f(2)];
  const report: HeadroomReport = {
    limitA: triple((p) => capacity.limitDa[p] / 10),
    buildingA: triple((p) => capacity.buildingDa[p] / 10),
    headroomA: triple((p) => Math.round(headroomA[p] * 10) / 10),
    binding,
  };
  if (headroomW !== undefined) report.headroomW = Math.round(headroomW);
  return report;
}
