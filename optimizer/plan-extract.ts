// Turns a solver's column values back into a Plan, recomputing every cost term from the input.
import type { LpResult } from './lp-model.ts';
import type { PlanLayout } from './plan-model.ts';
import type { Plan, PlanInput, PlanStatus } from './plan-types.ts';

const round = (x: number, digits = 6) => Math.round(x * 10 ** digits) / 10 ** digits;

export function emptyPlan(input: PlanInput, status: PlanStatus, detail?: string): Plan {
  return {
    startMs: input.startMs,
    slotMs: input.slotMs,
    slotCount: input.slotCount,
    status,
    sessions: [],
    gridW: [],
    batteryW: [],
    peakW: 0,
    energyCost: 0,
    demandCharge: 0,
    unmetPenalty: 0,
    objective: Number.NaN,
    overloadWh: 0,
    detail,
  };
}

export function extractPlan(input: PlanInput, layout: PlanLayout, result: LpResult): Plan {
  if (result.status !== 'optimal') return emptyPlan(input, result.status === 'time-limit' ? 'time-limit' : result.status === 'error' ? 'error' : 'infeasible', result.detail);
  const x = result.colValue;
  const h = layout.hours;
  const T = input.slotCount;
  const sessions = input.sessions.map((s, i) => {
    const powerW = Array.from({ length: T }, (_, t) => {
      const col = layout.power[i][t];
      return col < 0 ? 0 : round(Math.max(0, x[col]) * 1000, 3);
    });
    const plannedWh = powerW.reduce((sum, p) => sum + p * h, 0);
    const presence = Array.from(layout.presence[i], (f) => round(f));
    return { key: s.key, steer: s.steer !== false, maxPowerW: s.maxPowerW, priorityWeight: s.priorityWeight, ...(s.maxAssumed ? { maxAssumed: true } : {}), powerW, ...(presence.some((f) => f > 0 && f < 1) ? { presence } : {}), plannedWh, unmetWh: Math.max(0, s.energyNeedWh - plannedWh) };
  });
  const gridW = layout.grid.map((g, t) => round((x[g] - x[layout.exported[t]]) * 1000, 3));
  const headroomW = gridW.map((w, t) => Math.max(0, Math.max(0, input.importLimitW[t] ?? Infinity) - w));
  const batteryW = layout.charge.map((bc, t) => round((x[layout.discharge[t]] - x[bc]) * 1000, 3));
  let energyCost = 0;
  let overloadWh = 0;
  for (let t = 0; t < T; t++) {
    const netKW = x[layout.grid[t]] - x[layout.exported[t]];
    energyCost += netKW * h * (netKW >= 0 ? input.importPricePerKWh[t] : input.exportPricePerKWh[t]);
    overloadWh += x[layout.overload[t]] * h * 1000;
  }
  const peakW = Math.max(input.peakSoFarW, ...gridW);
  let unmetPenalty = 0;
  input.sessions.forEach((s, i) => {
    const cols = layout.unmet[i];
    cols.forEach((u, k) => (unmetPenalty += x[u] * input.unmetPenaltyPerKWh * Math.max(1, s.priorityWeight) * (1 + k / cols.length)));
  });
  return {
    startMs: input.startMs,
    slotMs: input.slotMs,
    slotCount: T,
    status: 'optimal',
    sessions,
    gridW,
    headroomW,
    batteryW,
    peakW,
    energyCost,
    demandCharge: (peakW / 1000) * input.demandChargePerKW,
    unmetPenalty,
    objective: result.objective,
    overloadWh,
  };
}

/**
 * The planned power for the slot containing atMs, per steered session key (W); empty when no slot
 * covers it. A car planned to be there for part of the slot only (it arrives, or is planned to be
 * done before it leaves, within it) gets its power while there: the slot's average over its share.
 * Given the average instead, a car planned to charge flat out until a departure in mid-slot was
 * held to a fraction of its power in its last quarter hour (public hub on the plant: ~0.4 kWh short
 * per short stay).
 */
export function planTargetsAt(plan: Plan, atMs: number): Map<string, number> {
  const targets = new Map<string, number>();
  if (plan.status !== 'optimal') return targets;
  const t = Math.floor((atMs - plan.startMs) / plan.slotMs);
  if (t < 0 || t >= plan.slotCount) return targets;
  for (const s of plan.sessions) {
    if (!s.steer) continue;
    const f = s.presence?.[t] ?? 1;
    targets.set(s.key, f > 0 && f < 1 ? s.powerW[t] / f : s.powerW[t]);
  }
  return targets;
}
