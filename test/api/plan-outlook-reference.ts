// The plan outlook as session 7 computed it, per connector on each answer and live tick (a find over
// the plan's sessions, then a walk over its slots): the reference the once-per-plan PlanOutlooks
// (src/api/plan-outlook.ts) must equal, and what the tick bench measures it against.
import type { PlanFigures, PlanSlotFigures } from '../../src/api/economics-source.ts';
import type { PlanOutlook } from '../../src/api/plan-outlook.ts';

const CHARGING_W = 50;
const READY_WITHIN_WH = 100;

export function referencePlanOutlook(plan: PlanFigures, inputs: PlanSlotFigures | undefined, key: string, atMs: number): PlanOutlook | undefined {
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

/**
 * A seeded plan of 15-min slots: each session charges in a window of its own (some never), some
 * fall short of their need. walks() counts the reads of its sessions (a walk of the plan).
 */
export function seededPlan(seed: number, keys: readonly string[], startMs: number, slots: number): { plan: PlanFigures; inputs: PlanSlotFigures; walks: () => number } {
  let x = seed;
  const next = () => (x = (x * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  const sessions = keys.map((key) => {
    const from = Math.floor(next() * slots);
    const length = next() < 0.15 ? 0 : 1 + Math.floor(next() * 12);
    const powerW = Array.from({ length: slots }, (_, t) => (t >= from && t < from + length ? (next() < 0.1 ? 30 : 3_000 + Math.round(next() * 8_000)) : 0));
    return { key, steer: true, powerW, plannedWh: 0, unmetWh: next() < 0.3 ? Math.round(next() * 9_000) : 0 };
  });
  let reads = 0;
  const plan: PlanFigures = {
    startMs,
    slotMs: 900_000,
    slotCount: slots,
    status: 'optimal',
    get sessions() {
      reads++;
      return sessions;
    },
    gridW: [],
    batteryW: [],
    peakW: 0,
    energyCost: 0,
    demandCharge: 0,
    unmetPenalty: 0,
    overloadWh: 0,
  };
  const inputs: PlanSlotFigures = {
    importPricePerKWh: Array.from({ length: slots }, () => (next() < 0.5 ? 0.1 : 0.35)),
    pvW: Array.from({ length: slots }, () => Math.round(next() * 10_000)),
    importLimitW: [],
  };
  return { plan, inputs, walks: () => reads };
}
