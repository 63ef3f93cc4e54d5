// What the plan in force intends for one session, in the terms a site manager asks about a car
// held at 0 A: when it will charge, why then, and when it will be ready. Pure (no clock, no I/O).
import type { PlanFigures, PlanSlotFigures, PlanSource } from './economics-source.ts';

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

/** One session's charging slots, as read for any instant: the first from a slot on, and the last. */
interface SessionSlots {
  /** nextCharging[t]: the first slot from t on in which the plan charges the car, -1 when none. */
  readonly nextCharging: Int32Array;
  /** The last slot in which the plan charges the car, -1 when none. */
  readonly lastCharging: number;
  readonly unmetWh: number;
}

/**
 * The outlook of every session in one plan: its slots are walked once, when the plan is made (not
 * per connector per answer and live tick), and each read is then a look-up. The plan is immutable.
 */
export class PlanOutlooks {
  private readonly byKey = new Map<string, SessionSlots>();

  constructor(
    readonly plan: PlanFigures,
    readonly inputs: PlanSlotFigures | undefined,
  ) {
    if (!(plan.slotMs > 0)) return;
    for (const session of plan.sessions) {
      // The first session on a key is the one the plan means for it.
      if (this.byKey.has(session.key)) continue;
      const nextCharging = new Int32Array(Number.isFinite(plan.slotCount) ? Math.max(0, Math.ceil(plan.slotCount)) : 0);
      let next = -1;
      let lastCharging = -1;
      for (let t = nextCharging.length - 1; t >= 0; t--) {
        // A NaN power counts as charging, as the comparison reads.
        if (!((session.powerW[t] ?? 0) < CHARGING_W)) {
          next = t;
          if (lastCharging < 0) lastCharging = t;
        }
        nextCharging[t] = next;
      }
      this.byKey.set(session.key, { nextCharging, lastCharging, unmetWh: session.unmetWh });
    }
  }

  /** The outlook of the session on `key` ("CP1/1") at `atMs`; undefined when the plan has no such session or is not in force at `atMs`. */
  at(key: string, atMs: number): PlanOutlook | undefined {
    const session = this.byKey.get(key);
    if (!session) return undefined;
    const { plan, inputs } = this;
    const now = Math.floor((atMs - plan.startMs) / plan.slotMs);
    if (now < 0 || now >= plan.slotCount) return undefined;
    const first = Number.isInteger(now) ? session.nextCharging[now] : -1;
    const last = first < 0 ? -1 : session.lastCharging;
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
}

/** The outlooks of the plan in force: made again only when the planner puts another plan (or inputs) in force. */
export class CurrentPlanOutlooks {
  private outlooks: PlanOutlooks | undefined;

  constructor(private readonly source: PlanSource | undefined) {}

  at(key: string, atMs: number): PlanOutlook | undefined {
    const plan = this.source?.currentPlan();
    if (!plan) return undefined;
    const inputs = this.source?.currentInputs?.();
    if (this.outlooks?.plan !== plan || this.outlooks.inputs !== inputs) this.outlooks = new PlanOutlooks(plan, inputs);
    return this.outlooks.at(key, atMs);
  }
}
