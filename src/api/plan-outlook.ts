// What the plan in force intends for one session, in the terms a site manager asks about a car
// held at 0 A: when it will charge, why then, and when it will be ready. Pure (no clock, no I/O).
import type { PlanFigures, PlanSlotFigures } from './economics-source.ts';

/** Mean planned power in a slot below this is "not charging" (rounding of the LP's answer). */
const CHARGING_W = 50;
/** Within this much of the need a car counts as ready (the plan view's threshold). */
const READY_WITHIN_WH = 100;

export interface PlanOutlook {
  /** Start of the first slot from now on in which the plan charges the car; null: not in the plan's horizon. */
  chargesFromMs: number | null;
  /** End of the last slot in which the plan charges the car, when the plan meets its need. */
  readyByMs: number | null;
  /** What the plan leaves unmet at the end of its horizon, Wh. */
  shortWh: number;
  /** Why later rather than now, when the plan's inputs say: import cheaper then, or more PV forecast. */
  because: 'cheaper' | 'solar' | null;
}

/**
 * The outlook of the session on `key` ("CP1/1") in `plan` at `atMs`, or undefined when the plan has
 * no such session or is not in force at `atMs`.
 */
export function planOutlook(plan: PlanFigures, inputs: PlanSlotFigures | undefined, key: string, atMs: number): PlanOutlook | undefined {
  const session = plan.sessions.find((s) => s.key === key);
  if (!session || !(plan.slotMs > 0)) return undefined;
  const now = Math.floor((atMs - plan.startMs) / plan.slotMs);
  if (now < 0 || now >= plan.slotCount) return undefined;
  let first = -1;
  let last = -1;
  for (let t = now; t < plan.slotCount; t++) {
    if ((session.powerW[t] ?? 0) < CHARGING_W) continue;
    if (first < 0) first = t;
    last = t;
  }
  const slotStart = (t: number) => plan.startMs + t * plan.slotMs;
  const met = session.unmetWh < READY_WITHIN_WH;
  let because: PlanOutlook['because'] = null;
  if (first > now && inputs) {
    const priceNow = inputs.importPricePerKWh[now];
    const priceThen = inputs.importPricePerKWh[first];
    const pvNow = inputs.pvW[now] ?? 0;
    const pvThen = inputs.pvW[first] ?? 0;
    if (Number.isFinite(priceNow) && Number.isFinite(priceThen) && priceThen < priceNow - 1e-9) because = 'cheaper';
    else if (pvThen > pvNow + CHARGING_W) because = 'solar';
  }
  return {
    chargesFromMs: first < 0 ? null : slotStart(first),
    readyByMs: met && last >= 0 ? slotStart(last + 1) : null,
    shortWh: Math.max(0, Math.round(session.unmetWh)),
    because,
  };
}
