// The replay report (DESIGN.md contract) and its readable table.
import type { Kpis } from '../../optimizer/kpi.ts';
import type { ReplayResult } from './replay.ts';

/** The report's KPIs: the DESIGN.md contract keys (plus cost per kWh and carbon), rounded. */
export type ReportKpis = Pick<
  Kpis,
  | 'peakW'
  | 'energyCost'
  | 'demandCharge'
  | 'totalCost'
  | 'energyRequestedWh'
  | 'energyDeliveredWh'
  | 'unmetWh'
  | 'sessionSuccessRate'
  | 'renewableShare'
  | 'utilization'
  | 'limitViolations'
  | 'costPerKWh'
  | 'carbonKg'
>;

export interface SimulateReport {
  kpis: ReportKpis;
  baselines: { uncontrolled: ReportKpis; equalShare: ReportKpis };
  /** Controlled vs uncontrolled, fractions (0.4 = 40 % lower). */
  savings: { peakVsUncontrolled: number; costVsUncontrolled: number; peakVsEqualShare: number; costVsEqualShare: number };
  site: { name: string; currency: string; timezone: string };
  period: { from: string; to: string; sessions: number; stepS: number };
  planner: { enabled: boolean; solver: string; plans: number; failedPlans: number; medianSolveMs: number; maxSolveMs: number };
  sessions: { id: string; requestedWh: number; deliveredWh: number; unmetWh: number }[];
}

const r = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

export function reportKpis(k: Kpis): ReportKpis {
  return {
    peakW: r(k.peakW, 0),
    energyCost: r(k.energyCost, 2),
    demandCharge: r(k.demandCharge, 2),
    totalCost: r(k.totalCost, 2),
    energyRequestedWh: r(k.energyRequestedWh, 0),
    energyDeliveredWh: r(k.energyDeliveredWh, 0),
    unmetWh: r(k.unmetWh, 0),
    sessionSuccessRate: r(k.sessionSuccessRate, 4),
    renewableShare: r(k.renewableShare, 4),
    utilization: r(k.utilization, 4),
    limitViolations: k.limitViolations,
    costPerKWh: r(k.costPerKWh, 4),
    carbonKg: r(k.carbonKg, 2),
  };
}

const cut = (base: number, value: number) => (base > 0 ? r(1 - value / base, 4) : 0);
const median = (xs: number[]) => {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

export function buildReport(
  controlled: ReplayResult,
  uncontrolled: ReplayResult,
  equalShare: ReplayResult,
  meta: { site: SimulateReport['site']; period: SimulateReport['period']; planner: { enabled: boolean; solver: string } },
): SimulateReport {
  const k = controlled.kpis;
  return {
    kpis: reportKpis(k),
    baselines: { uncontrolled: reportKpis(uncontrolled.kpis), equalShare: reportKpis(equalShare.kpis) },
    savings: {
      peakVsUncontrolled: cut(uncontrolled.kpis.peakW, k.peakW),
      costVsUncontrolled: cut(uncontrolled.kpis.totalCost, k.totalCost),
      peakVsEqualShare: cut(equalShare.kpis.peakW, k.peakW),
      costVsEqualShare: cut(equalShare.kpis.totalCost, k.totalCost),
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
    sessions: controlled.sessions.map((s) => ({ id: s.id, requestedWh: r(s.requestedWh, 0), deliveredWh: r(s.deliveredWh, 0), unmetWh: r(s.unmetWh, 0) })),
  };
}

/** A fixed-width table: one row per KPI, one column per strategy. */
export function formatReportTable(report: SimulateReport): string {
  const c = report.site.currency;
  const cols: [string, ReportKpis][] = [
    ['EMS (plan + decide)', report.kpis],
    ['uncontrolled', report.baselines.uncontrolled],
    ['equal share', report.baselines.equalShare],
  ];
  const rows: [string, (k: ReportKpis) => string][] = [
    ['peak demand', (k) => `${(k.peakW / 1000).toFixed(1)} kW`],
    ['energy cost', (k) => `${k.energyCost.toFixed(2)} ${c}`],
    ['demand charge', (k) => `${k.demandCharge.toFixed(2)} ${c}`],
    ['total cost', (k) => `${k.totalCost.toFixed(2)} ${c}`],
    ['cost per kWh', (k) => `${k.costPerKWh.toFixed(3)} ${c}`],
    ['energy delivered', (k) => `${(k.energyDeliveredWh / 1000).toFixed(1)} kWh`],
    ['energy unmet', (k) => `${(k.unmetWh / 1000).toFixed(1)} kWh`],
    ['sessions met', (k) => `${(k.sessionSuccessRate * 100).toFixed(1)} %`],
    ['renewable share', (k) => `${(k.renewableShare * 100).toFixed(1)} %`],
    ['utilization', (k) => `${(k.utilization * 100).toFixed(1)} %`],
    ['limit violations', (k) => String(k.limitViolations)],
  ];
  const widths = [18, ...cols.map(([name]) => Math.max(name.length, 14))];
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  const out = [
    `${report.site.name}: ${report.period.sessions} sessions, ${report.period.from} .. ${report.period.to}`,
    line(['', ...cols.map(([name]) => name)]),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(([label, f]) => line([label, ...cols.map(([, k]) => f(k))])),
    '',
    `peak ${(report.savings.peakVsUncontrolled * 100).toFixed(1)} % lower and total cost ${(report.savings.costVsUncontrolled * 100).toFixed(1)} % lower than uncontrolled` +
      ` (${(report.savings.peakVsEqualShare * 100).toFixed(1)} % / ${(report.savings.costVsEqualShare * 100).toFixed(1)} % vs equal share)`,
    report.planner.enabled
      ? `planner: ${report.planner.solver}, ${report.planner.plans} plans, median ${report.planner.medianSolveMs} ms, max ${report.planner.maxSolveMs} ms, ${report.planner.failedPlans} failed`
      : 'planner: off (decide() alone)',
  ];
  return out.join('\n');
}
