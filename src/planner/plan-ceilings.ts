// The horizon plan as per-session ceilings for the control loop (CeilingProvider).
import { planTargetsAt } from '../../optimizer/plan-extract.ts';
import { roundTargets, type TargetRequest } from '../../optimizer/plan-rounding.ts';
import type { Plan } from '../../optimizer/plan-types.ts';
import type { ConnectorSnapshot, SiteSnapshot } from '../../optimizer/types.ts';
import type { CeilingProvider } from '../control/ceiling-provider.ts';
import { LEARN_GAP_A, wholeAmpsUnder } from './car-max-learner.ts';

/**
 * A car lifted off its plan that already draws clearly less than its cap keeps this much above its
 * draw, A: room to show it can draw more (the learner takes a draw a full amp above its limit).
 */
const LIFT_ABOVE_DRAW_A = 2;

/**
 * A car the plan runs flat out at the max it assumes for a car not yet seen (11 kW) is offered this
 * much above it, A: a faster car draws it and is learnt (car-max-learner.ts), a car at its own limit
 * draws no more. Without it a 22 kW car the plan can fill at 11 kW was never learnt, and the plan ran
 * it for its whole stay where it could have waited for a later car that could not (public hub on the
 * plant, seed 7: guest-19 held 11 kW for 3 h while guest-17 got nothing for an hour). One amp: on the
 * hub's twenty runs 2 A cost 3 sessions met, 1 A none (docs/planner.md, session 15).
 */
const PROBE_ABOVE_ASSUMED_A = 1;

/** Energy a session's plan delivers from now on: the rest of the current slot, then every later slot. */
function plannedFromWh(powerW: readonly number[] | undefined, slotIndex: number, slotLeftMs: number, slotMs: number): number | undefined {
  if (!powerW) return undefined;
  let wh = ((powerW[slotIndex] ?? 0) * Math.max(0, slotLeftMs)) / 3_600_000;
  for (let t = slotIndex + 1; t < powerW.length; t++) wh += (powerW[t] * slotMs) / 3_600_000;
  return wh;
}

/**
 * A draw sampled this long after its cap was first seen has had time to follow it (the charger
 * applies it, the car responds and ramps), ms.
 */
const SETTLE_MS = 10_000;

/**
 * What a lifted car may take, W: the charger's max, unless the car already shows its own limit by
 * drawing clearly less than the cap it has (as the car-max learner judges it, from the whole amp
 * under the cap): then its draw and a little room to show more. Lifted to the charger's max, a car
 * drawing 9–13 A held a 32 A cap that decide() counted against the limit, while three cars the plan
 * gave 15 A sat at 6 A (public hub on the plant, issue #11). Undefined: the draw was sampled before
 * the cap could reach it (it says nothing yet).
 */
function liftW(connector: ConnectorSnapshot, range: { maxPowerW: number; voltsTimesPhases: number }, capSinceMs: number): number | undefined {
  const capA = connector.installedCapA;
  const drawA = Math.max(...connector.drawA);
  if (capA === undefined || !Number.isFinite(capA) || !Number.isFinite(drawA) || connector.drawAtMs === undefined) return range.maxPowerW;
  if (connector.drawAtMs < capSinceMs + SETTLE_MS) return undefined;
  const ownLimit = wholeAmpsUnder(capA) - drawA >= LEARN_GAP_A - 0.1;
  return ownLimit ? Math.min(range.maxPowerW, (drawA + LIFT_ABOVE_DRAW_A) * range.voltsTimesPhases) : range.maxPowerW;
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

interface Lift {
  capA: number | undefined;
  sinceMs: number;
  liftW: number;
}

export class PlanCeilings implements CeilingProvider {
  readonly name = 'planner';
  private plan: Plan | undefined;
  /** Per-session facts of the installed plan, by session key (built once per plan, not per cycle). */
  private planned = new Map<string, readonly number[]>();
  private assumed = new Map<string, number>();
  private unmet = new Map<string, number>();
  private weights = new Map<string, number>();
  private maxAssumed = new Set<string>();
  /** Per lifted session: its confirmed cap, since when it was seen, and what it was lifted to. */
  private lifts = new Map<string, Lift>();

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
    this.maxAssumed = new Set(sessions.filter((s) => s.maxAssumed).map((s) => s.key));
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
    const connectors = new Map<string, ConnectorSnapshot>();
    // Only sessions the plan knows and that are still plugged in get a ceiling.
    for (const c of snapshot.connectors) {
      if (!c.session) continue;
      const key = `${c.chargerId}/${c.connectorId}`;
      const targetW = targets.get(key);
      if (targetW === undefined) continue;
      const departure = c.session.departureAtMs;
      const range = this.powerRangeW(key);
      connectors.set(key, c);
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
    // A car the plan runs flat out and still cannot fill is lifted: it may be faster than the plan
    // assumed (a car's own max is only learnt from its draw, a tapering car is planned at its average
    // over what is left), and drawing more is how it shows it. Not beyond what it shows it can draw.
    const lifted = new Map<string, Lift>();
    for (const [key, w] of out) {
      const assumedMaxW = assumed.get(key);
      if (assumedMaxW === undefined || w < 0.98 * assumedMaxW) continue;
      if ((unmet.get(key) ?? 0) <= 100) {
        // Planned flat out at a max only assumed: offered a little more, a faster car shows it at
        // once, and the plan can then count on it (and defer it for a car that cannot wait).
        if (this.maxAssumed.has(key)) {
          const range = this.powerRangeW(key);
          out.set(key, Math.max(w, Math.min(range.maxPowerW, assumedMaxW + PROBE_ABOVE_ASSUMED_A * range.voltsTimesPhases)));
        }
        continue;
      }
      const c = connectors.get(key)!;
      const seen = this.lifts.get(key);
      const sinceMs = !seen ? -Infinity : seen.capA === c.installedCapA ? seen.sinceMs : snapshot.atMs;
      // Until a draw sample follows the cap it has, it keeps what it was lifted to.
      const lift = liftW(c, this.powerRangeW(key), sinceMs) ?? seen?.liftW ?? this.powerRangeW(key).maxPowerW;
      lifted.set(key, { capA: c.installedCapA, sinceMs, liftW: lift });
      out.set(key, Math.max(w, lift));
    }
    this.lifts = lifted;
    return out;
  }
}
