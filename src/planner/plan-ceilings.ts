// The horizon plan as per-session ceilings for the control loop (CeilingProvider).
import { planTargetsAt } from '../../optimizer/plan-extract.ts';
import { roundTargets, type TargetRequest } from '../../optimizer/plan-rounding.ts';
import type { Plan } from '../../optimizer/plan-types.ts';
import type { SiteSnapshot } from '../../optimizer/types.ts';
import type { CeilingProvider } from '../control/ceiling-provider.ts';

/** Energy a session's plan delivers from now on: the rest of the current slot, then every later slot. */
function plannedFromWh(powerW: readonly number[] | undefined, slotIndex: number, slotLeftMs: number, slotMs: number): number | undefined {
  if (!powerW) return undefined;
  let wh = ((powerW[slotIndex] ?? 0) * Math.max(0, slotLeftMs)) / 3_600_000;
  for (let t = slotIndex + 1; t < powerW.length; t++) wh += (powerW[t] * slotMs) / 3_600_000;
  return wh;
}

/**
 * The plan's energy for a session when the plan chose to short it (by more than a kWh and 5 %);
 * undefined otherwise. A small gap is the control lagging the plan (deadband, ramps), which the
 * "must charge now" rule is there to catch up; a large one is the plan's choice under scarcity.
 */
function shortedBy(remainingWh: number, plannedWh: number | undefined): number | undefined {
  if (plannedWh === undefined) return undefined;
  const gapWh = remainingWh - plannedWh;
  return gapWh > Math.max(1_000, 0.05 * remainingWh) ? plannedWh : undefined;
}

export class PlanCeilings implements CeilingProvider {
  readonly name = 'planner';
  private plan: Plan | undefined;
  /** Per-session facts of the installed plan, by session key (built once per plan, not per cycle). */
  private planned = new Map<string, readonly number[]>();
  private assumed = new Map<string, number>();
  private unmet = new Map<string, number>();
  private weights = new Map<string, number>();

  /** Min and max power of a connector's charger (for the car's own max, the session's carMaxCurrentA wins). */
  constructor(private readonly powerRangeW: (key: string) => { minPowerW: number; maxPowerW: number; voltsTimesPhases: number }) {}

  /** Install a new plan; undefined drops it (no ceilings: the greedy allocation runs alone). */
  setPlan(plan: Plan | undefined): void {
    const next = plan?.status === 'optimal' ? plan : undefined;
    if (next === this.plan) return;
    this.plan = next;
    const sessions = next?.sessions ?? [];
    this.planned = new Map(sessions.map((s) => [s.key, s.powerW]));
    this.assumed = new Map(sessions.filter((s) => s.maxPowerW !== undefined).map((s) => [s.key, s.maxPowerW!]));
    this.unmet = new Map(sessions.map((s) => [s.key, s.unmetWh]));
    this.weights = new Map(sessions.filter((s) => s.priorityWeight !== undefined).map((s) => [s.key, s.priorityWeight!]));
  }

  current(): Plan | undefined {
    return this.plan;
  }

  ceilingsW(snapshot: SiteSnapshot): ReadonlyMap<string, number> {
    if (!this.plan) return new Map();
    const plan = this.plan;
    const targets = planTargetsAt(plan, snapshot.atMs);
    const slotIndex = Math.floor((snapshot.atMs - plan.startMs) / plan.slotMs);
    const slotEndMs = plan.startMs + (slotIndex + 1) * plan.slotMs;
    const { planned, assumed, unmet } = this;
    const requests: TargetRequest[] = [];
    // Only sessions the plan knows and that are still plugged in get a ceiling.
    for (const c of snapshot.connectors) {
      if (!c.session) continue;
      const key = `${c.chargerId}/${c.connectorId}`;
      const targetW = targets.get(key);
      if (targetW === undefined) continue;
      const departure = c.session.departureAtMs;
      const range = this.powerRangeW(key);
      const carMaxW = c.session.carMaxCurrentA !== undefined ? c.session.carMaxCurrentA * range.voltsTimesPhases : Infinity;
      // What the car can take later: no more than the plan assumes it can (an unknown car's max is
      // assumed, not the charger's), else a car near its departure counts on power it cannot draw.
      const maxW = Math.min(range.maxPowerW, carMaxW, assumed.get(key) ?? Infinity);
      const timeLeftMs = departure === undefined ? Infinity : departure - snapshot.atMs;
      const slotLeftMs = Math.min(slotEndMs - snapshot.atMs, timeLeftMs);
      const remainingWh = c.session.energyNeedWh === undefined ? 0 : Math.max(0, c.session.energyNeedWh - c.session.energyWh);
      requests.push({
        key,
        targetW,
        minPowerW: range.minPowerW,
        remainingWh,
        plannedWh: shortedBy(remainingWh, plannedFromWh(planned.get(key), slotIndex, slotLeftMs, plan.slotMs)),
        timeLeftMs,
        deliverableLaterWh: (maxW * Math.max(0, timeLeftMs - slotLeftMs)) / 3_600_000,
        slotLeftMs,
        ...(this.weights.has(key) ? { priorityWeight: this.weights.get(key)! } : {}),
      });
    }
    const out = roundTargets(requests, plan.headroomW?.[slotIndex]);
    // A car the plan runs flat out and still cannot fill gets no ceiling: it may be faster than the
    // plan assumed (a car's own max is only learnt from its draw), and drawing more is how it shows it.
    for (const [key, w] of out) {
      const assumedMaxW = assumed.get(key);
      if (assumedMaxW !== undefined && w >= 0.98 * assumedMaxW && (unmet.get(key) ?? 0) > 100) out.set(key, Math.max(w, this.powerRangeW(key).maxPowerW));
    }
    return out;
  }
}
