// The offline optimum: the horizon LP over the whole replayed period with perfect knowledge of every
// session (arrival, departure, need, the car's own max power), of the building load and of PV. Slot
// averages, no minimum current: an upper bound on what any controller could deliver under the same
// limits (after the safety margin), and the cheapest way to do it.
import type { Config } from '../../config/schema.ts';
import type { Kpis } from '../../optimizer/kpi.ts';
import { powerWeightOf } from '../../optimizer/phase-map.ts';
import type { PlanInput, PlanSession } from '../../optimizer/plan-types.ts';
import type { LpSolver } from '../planner/lp-solver.ts';
import { planCircuits, priorityWeights, siteImportLimitW, type PlannerSession } from '../planner/plan-input.ts';
import { solvePlan } from '../planner/solve-plan.ts';
import { Tariff } from '../tariffs/tariff.ts';
import type { ReplaySession } from './replay-sessions.ts';
import { SiteTruth } from './site-truth.ts';

export interface LpOptimum {
  kpis: Kpis;
  note: string;
  solveMs: number;
}

export async function lpOptimum(
  config: Config,
  sessions: readonly ReplaySession[],
  solver: LpSolver,
  options: { stepMs: number; seed?: number; idealSite?: boolean; slotMs?: number; timeLimitMs?: number },
): Promise<LpOptimum | undefined> {
  if (!sessions.length) return undefined;
  const tariff = new Tariff(config.tariffs, config.site.timezone);
  const slotMs = options.slotMs ?? 15 * 60_000;
  const stepMs = options.stepMs;
  const startMs = Math.floor(Math.min(...sessions.map((s) => s.arrivalMs)) / stepMs) * stepMs;
  const endMs = Math.max(...sessions.map((s) => s.departureMs));
  const slotCount = Math.ceil((endMs - startMs) / slotMs);
  // The same truth as the replay: same seed, queried in the same order (step by step, building then PV).
  const truth = new SiteTruth(config, tariff.zone, options.seed ?? 1, !options.idealSite);
  const baseLoadW = new Array<number>(slotCount).fill(0);
  const pvW = new Array<number>(slotCount).fill(0);
  const counts = new Array<number>(slotCount).fill(0);
  for (let t = startMs; t < endMs; t += stepMs) {
    const slot = Math.min(slotCount - 1, Math.floor((t - startMs) / slotMs));
    baseLoadW[slot] += truth.buildingW(t);
    pvW[slot] += truth.pvW(t);
    counts[slot]++;
  }
  for (let i = 0; i < slotCount; i++) {
    baseLoadW[i] = counts[i] ? baseLoadW[i] / counts[i] : 0;
    pvW[i] = counts[i] ? pvW[i] / counts[i] : 0;
  }
  const chargers = new Map(config.chargers.map((c) => [c.id, c]));
  const idTags = new Map(config.idTags.map((t) => [t.idTag, t]));
  const plannerSessions: PlannerSession[] = sessions.map((s) => {
    const tier = idTags.get(s.idTag)?.tier ?? chargers.get(s.chargerId)?.tier ?? 'guest';
    return { key: s.id, chargerId: s.chargerId, arrivalAtMs: s.arrivalMs, departureAtMs: s.departureMs, energyWh: 0, energyNeedWh: s.energyWh, tier, tierRank: config.control.tiers[tier] ?? 0 };
  });
  const weights = priorityWeights(plannerSessions, config.control.priority);
  const planSessions: PlanSession[] = sessions.map((s) => {
    const charger = chargers.get(s.chargerId)!;
    const carPhases = charger.phases === 1 ? powerWeightOf(charger) : (s.phases ?? 3);
    return {
      key: s.id,
      arrivalAtMs: s.arrivalMs,
      departureAtMs: s.departureMs,
      energyNeedWh: s.energyWh,
      maxPowerW: Math.min(s.maxPowerW, charger.maxCurrent * config.site.voltage * carPhases),
      priorityWeight: weights.get(s.id) ?? 1,
    };
  });
  const mid = (t: number) => startMs + t * slotMs + slotMs / 2;
  const input: PlanInput = {
    startMs,
    slotMs,
    slotCount,
    importPricePerKWh: Array.from({ length: slotCount }, (_, t) => tariff.importPricePerKWh(mid(t))),
    exportPricePerKWh: Array.from({ length: slotCount }, (_, t) => tariff.exportPricePerKWh(mid(t))),
    carbonGPerKWh: Array.from({ length: slotCount }, (_, t) => tariff.carbonGPerKWh(mid(t))),
    baseLoadW,
    pvW,
    importLimitW: new Array(slotCount).fill(siteImportLimitW(config)),
    exportLimitW: new Array(slotCount).fill(config.grid.maxExportPower ?? Infinity),
    demandChargePerKW: tariff.demandChargePerKW,
    peakSoFarW: 0,
    carbonPricePerKg: config.planner?.carbonPricePerKg ?? 0,
    unmetPenaltyPerKWh: config.planner?.unmetPenaltyPerKWh ?? 100,
    circuits: planCircuits(config, plannerSessions, baseLoadW.map((w, t) => w - pvW[t])),
    voltageV: config.site.voltage,
    fairShortfall: config.control.priority === 'equal',
    sessions: planSessions,
  };
  const started = performance.now();
  const plan = await solvePlan(input, solver, options.timeLimitMs ?? 120_000);
  const solveMs = performance.now() - started;
  if (plan.status !== 'optimal') return undefined;
  const h = slotMs / 3_600_000;
  const requestedWh = sessions.reduce((sum, s) => sum + s.energyWh, 0);
  let deliveredWh = 0;
  let met = 0;
  plan.sessions.forEach((p, i) => {
    const got = Math.min(p.plannedWh, planSessions[i].energyNeedWh);
    deliveredWh += got;
    if (planSessions[i].energyNeedWh - got < 100) met++;
  });
  let importWh = 0;
  let exportWh = 0;
  let evWh = 0;
  let pvUsedWh = 0;
  for (let t = 0; t < slotCount; t++) {
    const g = plan.gridW[t];
    if (g >= 0) importWh += g * h;
    else exportWh -= g * h;
    let ev = 0;
    for (const p of plan.sessions) ev += p.powerW[t];
    evWh += ev * h;
    pvUsedWh += Math.min(pvW[t], baseLoadW[t] + ev) * h;
  }
  const consumedWh = importWh + pvUsedWh;
  const kpis: Kpis = {
    peakW: plan.peakW,
    energyCost: plan.energyCost,
    demandCharge: plan.demandCharge,
    totalCost: plan.energyCost + plan.demandCharge,
    energyRequestedWh: requestedWh,
    energyDeliveredWh: deliveredWh,
    unmetWh: Math.max(0, requestedWh - deliveredWh),
    sessionSuccessRate: sessions.length ? met / sessions.length : 1,
    renewableShare: consumedWh > 0 ? pvUsedWh / consumedWh : 0,
    utilization: 0,
    limitViolations: plan.overloadWh > 1 ? 1 : 0,
    costPerKWh: importWh > 0 ? plan.energyCost / (importWh / 1000) : 0,
    evEnergyWh: evWh,
    gridImportWh: importWh,
    gridExportWh: exportWh,
    carbonKg: 0,
    sessions: sessions.length,
  };
  return { kpis, note: `perfect knowledge, ${slotMs / 60_000}-min slot averages, no minimum current, solved in ${(solveMs / 1000).toFixed(1)} s`, solveMs };
}
