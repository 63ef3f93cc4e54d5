// The horizon plan as per-session ceilings for the control loop (CeilingProvider).
import { planTargetsAt } from '../../optimizer/plan-extract.ts';
import { roundTargets, type TargetRequest } from '../../optimizer/plan-rounding.ts';
import type { Plan } from '../../optimizer/plan-types.ts';
import type { SiteSnapshot } from '../../optimizer/types.ts';
import type { CeilingProvider } from '../control/ceiling-provider.ts';

export class PlanCeilings implements CeilingProvider {
  readonly name = 'planner';
  private plan: Plan | undefined;

  /** Min and max power of a connector's charger (for the car's own max, the session's carMaxCurrentA wins). */
  constructor(private readonly powerRangeW: (key: string) => { minPowerW: number; maxPowerW: number; voltsTimesPhases: number }) {}

  /** Install a new plan; undefined drops it (no ceilings: the greedy allocation runs alone). */
  setPlan(plan: Plan | undefined): void {
    this.plan = plan?.status === 'optimal' ? plan : undefined;
  }

  current(): Plan | undefined {
    return this.plan;
  }

  ceilingsW(snapshot: SiteSnapshot): ReadonlyMap<string, number> {
    if (!this.plan) return new Map();
    const targets = planTargetsAt(this.plan, snapshot.atMs);
    const slotEndMs = this.plan.startMs + (Math.floor((snapshot.atMs - this.plan.startMs) / this.plan.slotMs) + 1) * this.plan.slotMs;
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
      const maxW = Math.min(range.maxPowerW, carMaxW);
      const timeLeftMs = departure === undefined ? Infinity : departure - snapshot.atMs;
      const slotLeftMs = Math.min(slotEndMs - snapshot.atMs, timeLeftMs);
      requests.push({
        key,
        targetW,
        minPowerW: range.minPowerW,
        remainingWh: c.session.energyNeedWh === undefined ? 0 : Math.max(0, c.session.energyNeedWh - c.session.energyWh),
        timeLeftMs,
        deliverableLaterWh: (maxW * Math.max(0, timeLeftMs - slotLeftMs)) / 3_600_000,
        slotLeftMs,
      });
    }
    return roundTargets(requests);
  }
}
