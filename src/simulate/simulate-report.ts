// The replay report (DESIGN.md contract) and its readable table. Honest by construction: the
// demand charge is prorated to the replayed period (and the report says so), cost per kWh
// delivered and unmet energy stand side by side, and a saving is only headlined against a
// baseline that delivered no more energy than the EMS did.
import { costPerKWhDelivered, prorateDemandCharge, type Kpis } from '../../optimizer/kpi.ts';
import type { ReplayResult } from './replay.ts';

/** The KPI keys the report carries (the DESIGN.md contract keys plus cost per kWh and carbon). */
const REPORT_KEYS = [
  'peakW', 'energyCost', 'demandCharge', 'totalCost', 'energyRequestedWh', 'energyDeliveredWh', 'unmetWh', 'sessionSuccessRate',
  'renewableShare', 'utilization', 'limitViolations', 'costPerKWh', 'carbonKg',
] as const;

/**
 * The report's KPIs: optimizer/kpi.ts's figures (demand charge prorated to the replayed period,
 * see SimulateReport.demandCharge), rounded, with cost per kWh delivered and the worst line current
 * over its fuse.
 */
export type ReportKpis = Pick<Kpis, (typeof REPORT_KEYS)[number]> & {
  /** Total cost (energy + prorated demand charge) per kWh delivered to cars. */
  costPerKWhDelivered: number;
  /** Worst exact line current above its fuse, A (0: none). */
  worstOverA: number;
  /** On the site plant: A·s above any limit, measured on the plant (see SimulateReport.model). */
  overLimit?: { controllerAs: number; afterOutsideChangeAs: number; episodes: number };
  /** On the site plant: the highest true current on L1, L2, L3 at the connection point, A (phasor sums with line-to-line chargers). */
  peakLineA?: [number, number, number];
};

export interface Comparison {
  /** True when the EMS delivered at least as much energy as the baseline (within 0.1 %). */
  sameEnergy: boolean;
  peakCut: number;
  totalCostCut: number;
  costPerKWhDeliveredCut: number;
  /** EMS minus baseline, Wh (negative: the EMS delivered less). */
  deliveredDeltaWh: number;
  text: string;
}

export interface SimulateReport {
  kpis: ReportKpis;
  baselines: { uncontrolled: ReportKpis; equalShare: ReportKpis; roundRobin?: ReportKpis };
  /** The offline optimum: the LP with perfect knowledge of every session, building load and PV. */
  lpOptimum?: ReportKpis & { note: string };
  /** Fractions (0.4 = 40 % lower). Only meaningful where the comparison says sameEnergy. */
  savings: { peakVsUncontrolled: number; costVsUncontrolled: number; peakVsEqualShare: number; costVsEqualShare: number };
  comparisons: { uncontrolled: Comparison; equalShare: Comparison; roundRobin?: Comparison };
  /** One honest line: what the EMS saved where it delivered as much, or what it did not deliver. */
  headline: string;
  demandCharge: { pricePerKW: number; replayedDays: number; monthDays: number; factor: number; note: string };
  site: { name: string; currency: string; timezone: string };
  period: { from: string; to: string; sessions: number; stepS: number };
  planner: { enabled: boolean; solver: string; plans: number; failedPlans: number; medianSolveMs: number; maxSolveMs: number };
  knowledge: { departuresKnown: number; needsKnown: number; note: string };
  /** How the site was modelled: the plant (cars and chargers with their own timing) or the instant model. */
  model: { name: 'plant' | 'instant'; note: string };
  replayMs: number;
  sessions: { id: string; requestedWh: number; deliveredWh: number; unmetWh: number }[];
}

const r = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
/** Average days in a billing month. */
export const MONTH_DAYS = 30.44;

/** Digits each figure is rounded to in the report. */
const DIGITS: Record<Exclude<keyof ReportKpis, 'overLimit' | 'peakLineA'>, number> = {
  peakW: 0, energyCost: 2, demandCharge: 2, totalCost: 2, energyRequestedWh: 0, energyDeliveredWh: 0, unmetWh: 0, sessionSuccessRate: 4,
  renewableShare: 4, utilization: 4, limitViolations: 0, costPerKWh: 4, carbonKg: 2, costPerKWhDelivered: 4, worstOverA: 2,
};

export function reportKpis(k: Kpis, prorate: number, worstOverA = 0, plant?: ReplayResult['plant']): ReportKpis {
  const billed = prorateDemandCharge(k, prorate);
  const out = { costPerKWhDelivered: costPerKWhDelivered(billed), worstOverA } as ReportKpis;
  for (const key of REPORT_KEYS) out[key] = billed[key];
  for (const key of Object.keys(DIGITS) as (keyof typeof DIGITS)[]) out[key] = r(out[key], DIGITS[key]);
  if (plant) {
    out.overLimit = { controllerAs: plant.emsCausedAs, afterOutsideChangeAs: plant.outsideAs, episodes: plant.episodes };
    out.peakLineA = [r(plant.peakLineA[0], 2), r(plant.peakLineA[1], 2), r(plant.peakLineA[2], 2)];
  }
  return out;
}

const cut = (base: number, value: number) => (base > 0 ? r(1 - value / base, 4) : 0);
const pct = (x: number) => `${(Math.abs(x) * 100).toFixed(1)} %`;
const median = (xs: number[]) => {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

export function compare(ems: ReportKpis, base: ReportKpis, name: string, currency: string): Comparison {
  const deliveredDeltaWh = ems.energyDeliveredWh - base.energyDeliveredWh;
  const sameEnergy = deliveredDeltaWh >= -Math.max(1_000, 0.001 * base.energyRequestedWh);
  const peakCut = cut(base.peakW, ems.peakW);
  const totalCostCut = cut(base.totalCost, ems.totalCost);
  const costPerKWhDeliveredCut = cut(base.costPerKWhDelivered, ems.costPerKWhDelivered);
  const lowerHigher = (x: number) => `${pct(x)} ${x >= 0 ? 'lower' : 'higher'}`;
  const text = sameEnergy
    ? `vs ${name}: total cost ${lowerHigher(totalCostCut)} and peak ${lowerHigher(peakCut)}, delivering ${deliveredDeltaWh > 1_000 ? `${(deliveredDeltaWh / 1000).toFixed(1)} kWh more` : 'the same energy'}`
    : `vs ${name}: delivers ${(-deliveredDeltaWh / 1000).toFixed(1)} kWh less (unmet ${(ems.unmetWh / 1000).toFixed(1)} vs ${(base.unmetWh / 1000).toFixed(1)} kWh); cost per kWh delivered ${ems.costPerKWhDelivered.toFixed(3)} vs ${base.costPerKWhDelivered.toFixed(3)} ${currency}, no saving claimed`;
  return { sameEnergy, peakCut, totalCostCut, costPerKWhDeliveredCut, deliveredDeltaWh: r(deliveredDeltaWh, 0), text };
}

export interface ReportInputs {
  controlled: ReplayResult;
  uncontrolled: ReplayResult;
  equalShare: ReplayResult;
  roundRobin?: ReplayResult;
  lpOptimum?: { kpis: Kpis; note: string };
  meta: {
    site: SimulateReport['site'];
    period: SimulateReport['period'];
    planner: { enabled: boolean; solver: string };
    demandChargePerKW: number;
    knowledge: { departuresKnown: number; needsKnown: number };
  };
}

export function buildReport({ controlled, uncontrolled, equalShare, roundRobin, lpOptimum, meta }: ReportInputs): SimulateReport {
  const replayedDays = Math.max(0, (Date.parse(meta.period.to) - Date.parse(meta.period.from)) / 86_400_000);
  const factor = Math.min(1, replayedDays / MONTH_DAYS);
  const kpis = reportKpis(controlled.kpis, factor, controlled.worstOverA, controlled.plant);
  const unc = reportKpis(uncontrolled.kpis, factor, uncontrolled.worstOverA, uncontrolled.plant);
  const eq = reportKpis(equalShare.kpis, factor, equalShare.worstOverA, equalShare.plant);
  const rr = roundRobin ? reportKpis(roundRobin.kpis, factor, roundRobin.worstOverA, roundRobin.plant) : undefined;
  const c = meta.site.currency;
  const comparisons = {
    uncontrolled: compare(kpis, unc, 'uncontrolled', c),
    equalShare: compare(kpis, eq, 'equal share', c),
    ...(rr ? { roundRobin: compare(kpis, rr, 'round robin', c) } : {}),
  };
  const headline = comparisons.uncontrolled.sameEnergy
    ? `EMS: total cost ${pct(comparisons.uncontrolled.totalCostCut)} ${comparisons.uncontrolled.totalCostCut >= 0 ? 'lower' : 'higher'} and peak ${pct(comparisons.uncontrolled.peakCut)} ${comparisons.uncontrolled.peakCut >= 0 ? 'lower' : 'higher'} than uncontrolled charging, with the same energy delivered`
    : `EMS: ${((kpis.energyDeliveredWh / Math.max(1, kpis.energyRequestedWh)) * 100).toFixed(1)} % of the requested energy delivered (uncontrolled: ${((unc.energyDeliveredWh / Math.max(1, unc.energyRequestedWh)) * 100).toFixed(1)} %, ignoring every limit); cost per kWh delivered ${kpis.costPerKWhDelivered.toFixed(3)} vs ${unc.costPerKWhDelivered.toFixed(3)} ${c}`;
  return {
    kpis,
    baselines: { uncontrolled: unc, equalShare: eq, ...(rr ? { roundRobin: rr } : {}) },
    ...(lpOptimum ? { lpOptimum: { ...reportKpis(lpOptimum.kpis, factor), note: lpOptimum.note } } : {}),
    savings: {
      peakVsUncontrolled: comparisons.uncontrolled.peakCut,
      costVsUncontrolled: comparisons.uncontrolled.totalCostCut,
      peakVsEqualShare: comparisons.equalShare.peakCut,
      costVsEqualShare: comparisons.equalShare.totalCostCut,
    },
    comparisons,
    headline,
    demandCharge: {
      pricePerKW: meta.demandChargePerKW,
      replayedDays: r(replayedDays, 2),
      monthDays: MONTH_DAYS,
      factor: r(factor, 4),
      note:
        meta.demandChargePerKW > 0
          ? `demand charge prorated to the replayed ${replayedDays.toFixed(1)} days: ${(factor * 100).toFixed(1)} % of a month's charge on each strategy's peak`
          : 'no demand charge in the tariff',
    },
    site: meta.site,
    period: meta.period,
    planner: {
      ...meta.planner,
      plans: controlled.plans,
      failedPlans: controlled.failedPlans,
      medianSolveMs: r(median(controlled.planSolveMs), 1),
      maxSolveMs: r(Math.max(0, ...controlled.planSolveMs), 1),
    },
    knowledge: {
      ...meta.knowledge,
      note: 'the EMS knew departures and needs only where the sessions file says so (departureKnown / energyKnown), else idTag schedules, tier defaults and SoC; car power learned from draw; building load and PV forecast from the configured curves or learned in the replay, the replayed truth deviating from them (seeded)',
    },
    model: controlled.plant
      ? {
          name: 'plant',
          note: `on the site plant: chargers apply profiles after their own delay and report MeterValues every 10-60 s, cars follow after 1-4 s, ramp, taper above 80 % and stop when full; limit violations are measured on the plant's true currents (A·s over a limit, split into what the controller caused and what followed an outside change within ${(controlled.plant.reactionWindowMs / 1000).toFixed(1)} s); --ideal gives the instant model`,
        }
      : { name: 'instant', note: 'instant model (--ideal): caps act within the step and cars draw min(cap, their max) until full; violations are computed from that, not measured on a plant' },
    replayMs: r(controlled.wallMs, 0),
    sessions: controlled.sessions.map((s) => ({ id: s.id, requestedWh: r(s.requestedWh, 0), deliveredWh: r(s.deliveredWh, 0), unmetWh: r(s.unmetWh, 0) })),
  };
}

/** A fixed-width table: one row per KPI, one column per strategy. */
export function formatReportTable(report: SimulateReport): string {
  const c = report.site.currency;
  const cols: [string, ReportKpis][] = [
    ['EMS', report.kpis],
    ['uncontrolled', report.baselines.uncontrolled],
    ['equal share', report.baselines.equalShare],
    ...(report.baselines.roundRobin ? ([['round robin', report.baselines.roundRobin]] as [string, ReportKpis][]) : []),
    ...(report.lpOptimum ? ([['LP optimum', report.lpOptimum]] as [string, ReportKpis][]) : []),
  ];
  const rows: [string, (k: ReportKpis) => string][] = [
    ['energy delivered', (k) => `${(k.energyDeliveredWh / 1000).toFixed(1)} kWh`],
    ['energy unmet', (k) => `${(k.unmetWh / 1000).toFixed(1)} kWh`],
    ['share delivered', (k) => `${((k.energyDeliveredWh / Math.max(1, k.energyRequestedWh)) * 100).toFixed(1)} %`],
    ['cost per kWh deliv.', (k) => `${k.costPerKWhDelivered.toFixed(3)} ${c}`],
    ['total cost', (k) => `${k.totalCost.toFixed(2)} ${c}`],
    ['energy cost', (k) => `${k.energyCost.toFixed(2)} ${c}`],
    ['demand charge *', (k) => `${k.demandCharge.toFixed(2)} ${c}`],
    ['peak demand', (k) => `${(k.peakW / 1000).toFixed(1)} kW`],
    ['sessions met', (k) => `${(k.sessionSuccessRate * 100).toFixed(1)} %`],
    ['renewable share', (k) => `${(k.renewableShare * 100).toFixed(1)} %`],
    ['limit violations', (k) => String(k.limitViolations)],
    ...(report.kpis.overLimit
      ? ([
          ['A·s over, controller', (k) => `${k.overLimit?.controllerAs ?? 0}`],
          ['A·s over, outside', (k) => `${k.overLimit?.afterOutsideChangeAs ?? 0}`],
          ['peak line current', (k) => (k.peakLineA ? `${k.peakLineA.map((a) => a.toFixed(1)).join('/')} A` : '-')],
        ] as [string, (k: ReportKpis) => string][])
      : []),
  ];
  const widths = [20, ...cols.map(([name, k]) => Math.max(name.length, 13, ...rows.map(([, f]) => f(k).length)))];
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  const out = [
    `${report.site.name}: ${report.period.sessions} sessions, ${report.period.from} .. ${report.period.to}, ${report.period.stepS} s steps`,
    line(['', ...cols.map(([name]) => name)]),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(([label, f]) => line([label, ...cols.map(([, k]) => f(k))])),
    `* ${report.demandCharge.note}`,
    '',
    report.headline,
    ...Object.values(report.comparisons).map((cmp) => `  ${cmp.text}`),
    ...(report.lpOptimum ? [`  LP optimum (${report.lpOptimum.note}): EMS delivers ${((report.kpis.energyDeliveredWh / Math.max(1, report.lpOptimum.energyDeliveredWh)) * 100).toFixed(1)} % of its energy`] : []),
    report.planner.enabled
      ? `planner: ${report.planner.solver}, ${report.planner.plans} plans solved, median ${report.planner.medianSolveMs} ms, max ${report.planner.maxSolveMs} ms, ${report.planner.failedPlans} failed; replay ${(report.replayMs / 1000).toFixed(1)} s`
      : `planner: off (control step alone); replay ${(report.replayMs / 1000).toFixed(1)} s`,
    `knowledge: ${report.knowledge.departuresKnown} of ${report.period.sessions} departures and ${report.knowledge.needsKnown} needs told to the EMS`,
    `model: ${report.model.note}`,
  ];
  return out.join('\n');
}
