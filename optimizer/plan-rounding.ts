// From planned slot averages to targets a car can follow. A car charges at 0 or at least its minimum
// (6 A), but the LP plans averages, often below that when many cars share a little power. Rounding
// every small average up would raise the peak the plan just flattened; rounding down would starve
// the cars. So small targets are pooled: as many cars as the pooled power pays for charge at their
// minimum, the most urgent first, the others wait for the next slot (which re-plans around them).
// A car that cannot finish unless it charges now is lifted to what it must draw, but only up to
// what the plan gives it: a car the plan chose to short stays shorted.

export interface TargetRequest {
  key: string;
  targetW: number;
  minPowerW: number;
  /** Energy still wanted, Wh, and time to departure, ms: urgency = need / time left. */
  remainingWh: number;
  /**
   * What the plan means to deliver from now to departure, Wh (undefined: all of remainingWh). A car
   * the plan shorts is held to that: it is not lifted to its minimum at the expense of others.
   */
  plannedWh?: number;
  timeLeftMs: number;
  /** What the car can take after the current slot until it leaves, Wh (its max power × time). */
  deliverableLaterWh: number;
  /** Time left in the current slot, ms. */
  slotLeftMs: number;
  /** The plan's priority weight (higher is shorted last); undefined: as everyone else. */
  priorityWeight?: number;
}

/** Planned averages below this are "do not charge now", W. */
const NEGLIGIBLE_W = 50;

/**
 * `slackW`: import capacity the plan leaves unused in this slot (Plan.headroomW). Rounding a small
 * target up to a minimum adds power the plan did not give; it may come from that slack or from cars
 * of a lower priority (decide() hands minimums out in priority order, so it takes it from them),
 * never from a car of the same or a higher priority (under a binding limit that car would be
 * shorted instead: the plan chose otherwise).
 */
export function roundTargets(requests: readonly TargetRequest[], slackW = Number.POSITIVE_INFINITY): Map<string, number> {
  const out = new Map<string, number>();
  const small: TargetRequest[] = [];
  for (const r of requests) {
    // A car that cannot finish if it skips (part of) this slot charges at least what it must now.
    const mustNowWh = Math.min(r.remainingWh, r.plannedWh ?? Infinity) - r.deliverableLaterWh;
    const mustNowW = mustNowWh > 1 ? mustNowWh / (Math.max(60_000, r.slotLeftMs) / 3_600_000) : 0;
    if (mustNowW > 0) out.set(r.key, Math.max(r.targetW, mustNowW, r.minPowerW));
    else if (r.targetW >= r.minPowerW) out.set(r.key, r.targetW);
    else if (r.targetW <= NEGLIGIBLE_W) out.set(r.key, 0);
    else small.push(r);
  }
  const urgency = (r: TargetRequest) => r.remainingWh / Math.max(60_000, r.timeLeftMs);
  small.sort((a, b) => urgency(b) - urgency(a) || a.key.localeCompare(b.key));
  let pool = small.reduce((sum, r) => sum + r.targetW, 0);
  let slack = Math.max(0, slackW);
  let borrowedW = 0;
  const weightOf = (r: TargetRequest) => r.priorityWeight ?? 0;
  const lowerW = (r: TargetRequest) => requests.reduce((sum, q) => sum + (weightOf(q) < weightOf(r) ? q.targetW : 0), 0);
  for (const r of small) {
    // Give the minimum while the pool covers at least half of it (rounding to nearest overall) and
    // what it lacks fits in the slot's unused capacity or in what lower priorities were given.
    const lackW = Math.max(0, r.minPowerW - pool);
    const fromSlackW = Math.min(slack, lackW);
    const fromLowerW = lackW - fromSlackW;
    if (pool >= r.minPowerW / 2 && (fromLowerW <= 0 || fromLowerW <= lowerW(r) - borrowedW)) {
      out.set(r.key, r.minPowerW);
      pool -= r.minPowerW;
      slack -= fromSlackW;
      borrowedW += fromLowerW;
    } else out.set(r.key, 0);
  }
  return out;
}
