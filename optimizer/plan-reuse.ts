// Whether the plan in force still answers a new planning question, so that the LP is not solved
// again when nothing that matters has changed (issue #11). Pure.
//
// The live planner re-plans every slot and on every arrival, departure, steering change, signal and
// car limit learnt; most slot re-plans ask the same question as the plan before, a slot later. The
// previous plan, cut to start at the slot that holds the new start, is kept when, against the input
// it was SOLVED with (never against a plan that was itself reused, so small differences cannot add
// up over many slots):
// - the same settings (slot length, horizon, prices per kWh and kW, penalties, voltage, fairness);
// - per overlapping slot the same import and export prices, carbon and import/export limits, and
//   the base load less PV within a tolerance (the forecast up to a tolerance);
// - the month's peak so far not lower (a new month) and, with a demand charge, not above what the plan
//   already counted on by more than the forecast's tolerance;
// - the same cars, each with the same arrival; a departure within 2 min (or up to a slot later for
//   a car the plan fills: the plan's margin before it shrank); the same max power (within a
//   tolerance; the control reads it from the plan too) and never below what the plan gives it;
//   and a remaining need no more than 75 Wh behind what the plan expected (its need when solved less what the plan gave it since) nor more than the
//   tolerance ahead of it;
// - a car that left is dropped only when the plan gave it nothing more;
// - priority weights may differ only when the plan shorted nobody (no unmet term is active);
// - no car stays past the previous plan's horizon, and the slots past it hold no base load above
//   the plan's peak (there the old plan knows nothing);
// - no battery (its plan depends on the whole horizon; a site with one re-solves every time).
// Anything else is a new question: the caller solves.
import type { Plan, PlanCircuit, PlanInput, SessionPlan } from './plan-types.ts';

export interface PlanReuseTolerance {
  /** Base load less PV per slot may differ by this share of the slot's import limit... */
  netLoadFraction: number;
  /** ...or by this much, whichever is more, W. */
  netLoadMinW: number;
  /** A car ahead of its plan (less left than the plan expects) by up to this share of its solved need... */
  needFraction: number;
  /** ...or by this much, whichever is more, Wh (also: a car that left with this much planned for later is a change). */
  needMinWh: number;
  /**
   * A car behind its plan by more than this, Wh, is a new question: the plan counts on the energy
   * it planned to have delivered, and what a car lags by would be missing at its departure
   * (plan-input.ts plans each car's need plus a margin of 150 Wh and 1 %: half that margin).
   */
  behindMaxWh: number;
  /** A car's departure may move by this much, ms. */
  departureMs: number;
  /** A car's max power may differ by this share. */
  maxPowerFraction: number;
}

/**
 * Measured on the generated workplace month and the public hub (bench/RESULTS.md, s7-replay):
 * about a percent of the site's limit is what the persistence correction of the building load moves
 * between two slots; a car lags its plan by a few hundred Wh a slot on the plant (ramp, deadband).
 */
export const DEFAULT_PLAN_REUSE_TOLERANCE: PlanReuseTolerance = {
  netLoadFraction: 0.02,
  netLoadMinW: 500,
  needFraction: 0.03,
  needMinWh: 300,
  behindMaxWh: 75,
  departureMs: 120_000,
  maxPowerFraction: 0.03,
};

export type PlanReuse = { reuse: true; plan: Plan } | { reuse: false; reason: string };

const same = (a: number | undefined, b: number | undefined, eps = 1e-9) => a === b || (a !== undefined && b !== undefined && Math.abs(a - b) <= eps * Math.max(1, Math.abs(a), Math.abs(b)));

/** The plan from its slot `k` on (k whole slots after its start). */
export function slicePlan(plan: Plan, k: number): Plan {
  if (k <= 0) return plan;
  const cut = <T>(xs: readonly T[] | undefined) => (xs ? xs.slice(k) : undefined);
  const sessions: SessionPlan[] = plan.sessions.map((s) => {
    const powerW = s.powerW.slice(k);
    const h = plan.slotMs / 3_600_000;
    const plannedWh = powerW.reduce((sum, p) => sum + p * h, 0);
    return { ...s, powerW, ...(s.presence ? { presence: s.presence.slice(k) } : {}), plannedWh };
  });
  const headroomW = cut(plan.headroomW);
  return {
    ...plan,
    startMs: plan.startMs + k * plan.slotMs,
    slotCount: Math.max(0, plan.slotCount - k),
    sessions,
    gridW: plan.gridW.slice(k),
    ...(headroomW ? { headroomW } : {}),
    batteryW: plan.batteryW.slice(k),
  };
}

/** Energy the plan gives session `s` from its start until `untilMs`, Wh. */
function plannedUntilWh(plan: Plan, s: SessionPlan, untilMs: number): number {
  const h = plan.slotMs / 3_600_000;
  let wh = 0;
  for (let t = 0; t < s.powerW.length; t++) {
    const from = plan.startMs + t * plan.slotMs;
    if (from >= untilMs) break;
    const share = Math.min(1, (untilMs - from) / plan.slotMs);
    wh += s.powerW[t]! * h * share;
  }
  return wh;
}

function circuitsMatch(a: readonly PlanCircuit[], b: readonly PlanCircuit[], kept: ReadonlySet<string>, k: number, toleranceA: (t: number) => number): string | undefined {
  if (a.length !== b.length) return 'the fuses that can bind changed';
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.id !== y.id || !same(x.maxCurrentA, y.maxCurrentA)) return `fuse ${y.id} changed`;
    const xs = x.loads.filter((l) => kept.has(l.key));
    if (xs.length !== y.loads.length) return `fuse ${y.id} feeds other cars`;
    for (let j = 0; j < xs.length; j++) {
      const l = xs[j]!;
      const m = y.loads[j]!;
      if (l.key !== m.key || l.phaseMask !== m.phaseMask || !same(l.powerWeight, m.powerWeight)) return `fuse ${y.id} feeds other cars`;
    }
    if (!x.reservedA !== !y.reservedA) return `fuse ${y.id} reserve changed`;
    if (y.reservedA) {
      for (let t = 0; t + k < x.reservedA!.length && t < y.reservedA.length; t++) {
        if (Math.abs(y.reservedA[t]! - x.reservedA![t + k]!) > toleranceA(t)) return `fuse ${y.id} base load moved`;
      }
    }
  }
  return undefined;
}

/**
 * Whether `solved` (the plan solved from `solvedInput`) answers `next` too: the plan cut to the
 * slot holding next.startMs, or the first reason found to solve again.
 */
export function reusePlan(solvedInput: PlanInput, solved: Plan, next: PlanInput, tol: PlanReuseTolerance = DEFAULT_PLAN_REUSE_TOLERANCE): PlanReuse {
  const no = (reason: string): PlanReuse => ({ reuse: false, reason });
  const prev = solvedInput;
  if (solved.status !== 'optimal') return no(`no plan in force (${solved.status})`);
  if (prev.battery || next.battery) return no('a battery is planned over the whole horizon');
  if (next.slotMs !== prev.slotMs || next.slotCount !== prev.slotCount) return no('slot length or horizon changed');
  if (next.startMs < prev.startMs) return no('the clock went back');
  const slotMs = prev.slotMs;
  const k = Math.floor((next.startMs - prev.startMs) / slotMs);
  if (k >= prev.slotCount) return no('the plan has run out');
  if (
    !same(next.demandChargePerKW, prev.demandChargePerKW) ||
    !same(next.carbonPricePerKg, prev.carbonPricePerKg) ||
    !same(next.unmetPenaltyPerKWh, prev.unmetPenaltyPerKWh) ||
    !same(next.voltageV, prev.voltageV) ||
    !!next.fairShortfall !== !!prev.fairShortfall
  )
    return no('settings changed');
  if (next.peakSoFarW < prev.peakSoFarW - 1) return no('a new billing month (peak so far fell)');
  const prevEndMs = prev.startMs + prev.slotCount * slotMs;
  const netToleranceW = (t: number) => Math.max(tol.netLoadMinW, tol.netLoadFraction * Math.max(0, next.importLimitW[t] ?? 0));
  // A peak above the plan's lets the LP use more for free (with a demand charge); within the
  // forecast's tolerance it is the same question.
  if (next.demandChargePerKW > 0 && next.peakSoFarW > Math.max(prev.peakSoFarW, solved.peakW) + netToleranceW(0)) return no('the peak so far rose above the plan');
  for (let t = 0; t < next.slotCount; t++) {
    const i = t + k;
    const net = next.baseLoadW[t]! - next.pvW[t]!;
    if (i >= prev.slotCount) {
      // Past the old horizon: nothing of the old plan there; only base load that sets no new peak.
      if (net > solved.peakW + 1) return no('base load past the plan horizon sets a new peak');
      continue;
    }
    if (!same(next.importPricePerKWh[t], prev.importPricePerKWh[i]) || !same(next.exportPricePerKWh[t], prev.exportPricePerKWh[i])) return no(`prices changed (slot ${t})`);
    if (!same(next.carbonGPerKWh?.[t], prev.carbonGPerKWh?.[i])) return no(`carbon changed (slot ${t})`);
    if (!same(next.importLimitW[t], prev.importLimitW[i], 1e-6) || !same(next.exportLimitW?.[t] ?? Infinity, prev.exportLimitW?.[i] ?? Infinity, 1e-6)) return no(`limits changed (slot ${t})`);
    if (Math.abs(net - (prev.baseLoadW[i]! - prev.pvW[i]!)) > netToleranceW(t)) return no(`forecast moved (slot ${t})`);
  }

  const solvedByKey = new Map(solved.sessions.map((s) => [s.key, s]));
  const prevByKey = new Map(prev.sessions.map((s) => [s.key, s]));
  const nextKeys = new Set(next.sessions.map((s) => s.key));
  for (const s of next.sessions) if (!prevByKey.has(s.key)) return no(`car ${s.key} is new`);
  const h = slotMs / 3_600_000;
  for (const p of solved.sessions) {
    if (nextKeys.has(p.key)) continue;
    let laterWh = 0;
    for (let t = k; t < p.powerW.length; t++) laterWh += p.powerW[t]! * h;
    if (laterWh > tol.needMinWh) return no(`car ${p.key} left with energy planned for it`);
  }
  const shortedSome = solved.sessions.some((s) => s.unmetWh > 1);
  for (const s of next.sessions) {
    const p = prevByKey.get(s.key)!;
    const sp = solvedByKey.get(s.key)!;
    if ((s.steer ?? true) !== (p.steer ?? true)) return no(`car ${s.key} steering changed`);
    if (s.arrivalAtMs !== p.arrivalAtMs && Math.max(s.arrivalAtMs, p.arrivalAtMs) > next.startMs) return no(`car ${s.key} arrival changed`);
    // Later than planned by up to a slot is still the same question for a car the plan fills (it
    // only frees the plan's margin before departure, plan-input.ts); earlier is not (the plan may
    // count on time the car does not have).
    const laterMs = s.departureAtMs - p.departureAtMs;
    const filled = sp.unmetWh <= tol.needMinWh;
    if (laterMs < -tol.departureMs || laterMs > (filled ? Math.max(tol.departureMs, slotMs) : tol.departureMs)) return no(`car ${s.key} departure moved`);
    if (s.departureAtMs > prevEndMs) return no(`car ${s.key} stays past the plan horizon`);
    // A car's max is also what the control reads from the plan (plan-ceilings.ts: a car the plan
    // runs flat out gets no ceiling), so a max learnt anew is a new plan, either way.
    if (s.maxPowerW - p.maxPowerW > tol.maxPowerFraction * Math.max(p.maxPowerW, 1)) return no(`car ${s.key} max power rose`);
    if (p.maxPowerW - s.maxPowerW > tol.maxPowerFraction * Math.max(p.maxPowerW, 1)) return no(`car ${s.key} max power fell`);
    for (let t = k; t < sp.powerW.length; t++) {
      const f = sp.presence?.[t] ?? 1;
      if (f > 0 && sp.powerW[t]! / f > s.maxPowerW * (1 + 1e-6) + 1) return no(`car ${s.key} cannot draw what the plan gives it`);
    }
    if (!same(s.priorityWeight, p.priorityWeight) && shortedSome) return no('priorities changed while the plan shorts a car');
    const expectedWh = p.energyNeedWh - plannedUntilWh(solved, sp, next.startMs);
    if (s.energyNeedWh - expectedWh > tol.behindMaxWh) return no(`car ${s.key} is behind its plan`);
    if (expectedWh - s.energyNeedWh > Math.max(tol.needMinWh, tol.needFraction * p.energyNeedWh)) return no(`car ${s.key} is ahead of its plan`);
  }
  const circuitFault = circuitsMatch(prev.circuits ?? [], next.circuits ?? [], nextKeys, k, (t) => netToleranceW(t) / (3 * (next.voltageV ?? 230)));
  if (circuitFault) return no(circuitFault);

  const cut = slicePlan(solved, k);
  return { reuse: true, plan: nextKeys.size === solved.sessions.length ? cut : { ...cut, sessions: cut.sessions.filter((s) => nextKeys.has(s.key)) } };
}

/**
 * The last solved plan and its input; answers whether a new input can reuse it. Counts what it
 * saved: `solves` (each call of `solved()`), `reused`, and why it solved again.
 */
export class PlanReuseCache {
  private input: PlanInput | undefined;
  private plan: Plan | undefined;
  solves = 0;
  reused = 0;
  lastReason = 'no plan yet';
  /** Why plans were solved again, by kind of reason (car keys and slot numbers left out). */
  readonly reasons = new Map<string, number>();
  /** The series the plan last kept was solved with, from its current slot on (what the plan view shows beside it). */
  keptSeries: { importPricePerKWh: readonly number[]; pvW: readonly number[]; importLimitW: readonly number[] } | undefined;

  /** null: never reuse (every re-plan solves). */
  constructor(private readonly tolerance: PlanReuseTolerance | null = DEFAULT_PLAN_REUSE_TOLERANCE) {}

  /** The plan for `input` without solving, or undefined (then solve and call `solved`). */
  lookup(input: PlanInput): Plan | undefined {
    if (!this.tolerance) {
      this.lastReason = 'reuse off';
      return undefined;
    }
    if (!this.input || !this.plan) {
      this.lastReason = 'no plan yet';
      return undefined;
    }
    const verdict = reusePlan(this.input, this.plan, input, this.tolerance);
    if (!verdict.reuse) {
      this.lastReason = verdict.reason;
      const kind = verdict.reason.replace(/^car \S+ /, 'a car ').replace(/ \(slot \d+\)$/, '');
      this.reasons.set(kind, (this.reasons.get(kind) ?? 0) + 1);
      return undefined;
    }
    this.reused++;
    const k = Math.round((verdict.plan.startMs - this.input.startMs) / this.input.slotMs);
    const solved = this.input;
    this.keptSeries = { importPricePerKWh: solved.importPricePerKWh.slice(k), pvW: solved.pvW.slice(k), importLimitW: solved.importLimitW.slice(k) };
    return verdict.plan;
  }

  /** A plan solved for `input` (any status: a failed one is never reused). */
  solved(input: PlanInput, plan: Plan): void {
    this.solves++;
    this.input = input;
    this.plan = plan;
  }

  /** Forget the plan (the planner stopped, or its plan was dropped). */
  clear(): void {
    this.input = undefined;
    this.plan = undefined;
  }
}
