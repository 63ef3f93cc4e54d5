// Plan reuse (issue #11): a re-plan keeps the plan in force when nothing that matters changed, and
// solves again on every change that does. The kept plan must be as good as solving again: checked
// against a fresh HiGHS solve of the same question a few slots on (Bellman: the rest of an optimal
// plan is optimal for the rest of the horizon when the cars followed it).
import { describe, expect, it } from 'vitest';
import { DEFAULT_PLAN_REUSE_TOLERANCE, PlanReuseCache, reusePlan, slicePlan } from '../../optimizer/plan-reuse.ts';
import type { Plan, PlanInput, PlanSession } from '../../optimizer/plan-types.ts';
import { solvePlan } from '../../src/planner/solve-plan.ts';
import { HighsSolver } from '../../src/planner/solver-highs.ts';
import { syntheticPlanInput } from '../fixtures/scenarios/synthetic-plan-input.ts';

const highs = new HighsSolver();
const LIMIT_MS = 20_000;

/**
 * The same question `k` slots later, as the live planner would ask it when every car followed the
 * plan: series shifted (the new last slots repeat the day's first, as a daily forecast does), each
 * car's need less what the plan gave it, the month's peak including the slots gone by, and the cars
 * that left dropped.
 */
function later(input: PlanInput, plan: Plan, k: number): PlanInput {
  const T = input.slotCount;
  const shift = <X>(xs: readonly X[]) => Array.from({ length: T }, (_, t) => xs[(t + k) % T]!);
  const startMs = input.startMs + k * input.slotMs;
  const h = input.slotMs / 3_600_000;
  const sessions: PlanSession[] = [];
  for (const s of input.sessions) {
    if (s.departureAtMs <= startMs) continue;
    const p = plan.sessions.find((x) => x.key === s.key)!;
    const givenWh = p.powerW.slice(0, k).reduce((sum, w) => sum + w * h, 0);
    sessions.push({ ...s, energyNeedWh: s.energyNeedWh - givenWh });
  }
  return {
    ...input,
    startMs,
    importPricePerKWh: shift(input.importPricePerKWh),
    exportPricePerKWh: shift(input.exportPricePerKWh),
    baseLoadW: shift(input.baseLoadW),
    pvW: shift(input.pvW),
    importLimitW: shift(input.importLimitW),
    peakSoFarW: Math.max(input.peakSoFarW, ...plan.gridW.slice(0, k)),
    sessions,
  };
}

/** A small site whose limit binds: 12 cars, a TOU price and a demand charge, 15-min slots over a day. */
function site(): PlanInput {
  const input = syntheticPlanInput(12, 3);
  // Everyone present from the start (the live planner knows only cars plugged in), leaving by 20:00.
  return { ...input, sessions: input.sessions.map((s) => ({ ...s, arrivalAtMs: 0, departureAtMs: Math.min(s.departureAtMs, 80 * input.slotMs) })) };
}

describe('plan reuse', () => {
  it('keeps the plan for the same question a few slots on, and that plan is as good as solving again', async () => {
    const input = site();
    const plan = await solvePlan(input, highs, LIMIT_MS);
    expect(plan.status).toBe('optimal');
    for (const k of [1, 4, 17]) {
      const next = later(input, plan, k);
      const verdict = reusePlan(input, plan, next);
      expect(verdict.reuse, verdict.reuse ? '' : verdict.reason).toBe(true);
      if (!verdict.reuse) continue;
      const kept = verdict.plan;
      expect(kept.startMs).toBe(next.startMs);
      const fresh = await solvePlan(next, highs, LIMIT_MS);
      expect(fresh.status).toBe('optimal');
      // Same energy to every car (the LP may split it differently among equal-cost slots).
      for (const s of fresh.sessions) {
        const mine = kept.sessions.find((x) => x.key === s.key)!;
        expect(Math.abs(mine.plannedWh - s.plannedWh), s.key).toBeLessThan(0.01 * Math.max(1_000, s.plannedWh));
      }
      // The same cost over the slots both cover (the fresh plan also has the base load of the slots past the old horizon).
      const energyCost = (p: Plan) => p.gridW.slice(0, kept.slotCount).reduce((sum, w, t) => sum + (w / 1000) * (next.slotMs / 3_600_000) * (w >= 0 ? next.importPricePerKWh[t]! : next.exportPricePerKWh[t]!), 0);
      expect(energyCost(kept)).toBeCloseTo(energyCost(fresh), 0);
      expect(Math.max(next.peakSoFarW, ...kept.gridW)).toBeLessThanOrEqual(fresh.peakW + 50);
    }
  }, 120_000);

  it('slicing keeps every slot from the cut on, as the ceilings read it', () => {
    const plan: Plan = {
      startMs: 1_000,
      slotMs: 100,
      slotCount: 4,
      status: 'optimal',
      sessions: [{ key: 'a', steer: true, powerW: [1, 2, 3, 4], presence: [1, 1, 0.5, 0], plannedWh: 0, unmetWh: 0 }],
      gridW: [10, 20, 30, 40],
      headroomW: [5, 6, 7, 8],
      batteryW: [],
      peakW: 40,
      energyCost: 0,
      demandCharge: 0,
      unmetPenalty: 0,
      objective: 0,
      overloadWh: 0,
    };
    const cut = slicePlan(plan, 2);
    expect(cut.startMs).toBe(1_200);
    expect(cut.slotCount).toBe(2);
    expect(cut.sessions[0]!.powerW).toEqual([3, 4]);
    expect(cut.sessions[0]!.presence).toEqual([0.5, 0]);
    expect(cut.gridW).toEqual([30, 40]);
    expect(cut.headroomW).toEqual([7, 8]);
    expect(slicePlan(plan, 0)).toBe(plan);
  });

  describe('solves again when something that matters changed', () => {
    let input: PlanInput;
    let plan: Plan;
    let next: PlanInput;
    const setUp = async () => {
      input ??= site();
      plan ??= await solvePlan(input, highs, LIMIT_MS);
      next = later(input, plan, 2);
    };
    const reason = (changed: PlanInput, solved: Plan = plan, solvedInput: PlanInput = input) => {
      const v = reusePlan(solvedInput, solved, changed);
      return v.reuse ? 'kept' : v.reason;
    };
    const withCar = (i: number, over: Partial<PlanSession>): PlanInput => ({ ...next, sessions: next.sessions.map((s, j) => (j === i ? { ...s, ...over } : s)) });

    it('nothing changed: kept', async () => {
      await setUp();
      expect(reason(next)).toBe('kept');
    });
    it('a new car', async () => {
      await setUp();
      expect(reason({ ...next, sessions: [...next.sessions, { ...next.sessions[0]!, key: 'new' }] })).toMatch(/car new is new/);
    });
    it('a car that left with energy planned for it; but not one the plan gave nothing more', async () => {
      await setUp();
      const h = input.slotMs / 3_600_000;
      const laterWh = (key: string) => plan.sessions.find((s) => s.key === key)!.powerW.slice(2).reduce((sum, w) => sum + w * h, 0);
      const busy = next.sessions.find((s) => laterWh(s.key) > 1_000)!;
      expect(reason({ ...next, sessions: next.sessions.filter((s) => s !== busy) })).toMatch(/left with energy planned/);
      // A car the plan gives nothing from now on: drop it, and the plan holds for the others.
      const done: Plan = { ...plan, sessions: plan.sessions.map((s) => (s.key === busy.key ? { ...s, powerW: s.powerW.map((w, t) => (t < 2 ? w : 0)) } : s)) };
      const v = reusePlan(input, done, { ...next, sessions: next.sessions.filter((s) => s !== busy) });
      expect(v.reuse && v.plan.sessions.map((s) => s.key)).toEqual(next.sessions.filter((s) => s !== busy).map((s) => s.key));
    });
    it('a departure moved by more than 2 min', async () => {
      await setUp();
      expect(reason(withCar(0, { departureAtMs: next.sessions[0]!.departureAtMs + 60_000 }))).toBe('kept');
      expect(reason(withCar(0, { departureAtMs: next.sessions[0]!.departureAtMs - 10 * 60_000 }))).toMatch(/departure moved/);
    });
    it('a car behind its plan by more than 75 Wh, or ahead of it by more than the tolerance', async () => {
      await setUp();
      const need = next.sessions[1]!.energyNeedWh;
      expect(reason(withCar(1, { energyNeedWh: need + 50 }))).toBe('kept');
      expect(reason(withCar(1, { energyNeedWh: need + 200 }))).toMatch(/behind its plan/);
      expect(reason(withCar(1, { energyNeedWh: need - 250 }))).toBe('kept');
      expect(reason(withCar(1, { energyNeedWh: need - 3_000 }))).toMatch(/ahead of its plan/);
    });
    it('a car slower than the plan gives it, or a max learnt anew (faster or slower beyond 3 %)', async () => {
      await setUp();
      const given = (key: string) => Math.max(...plan.sessions.find((s) => s.key === key)!.powerW.slice(2));
      const i = next.sessions.findIndex((s) => given(s.key) > 1_000);
      const car = next.sessions[i]!;
      expect(reason(withCar(i, { maxPowerW: given(car.key) * 0.5 }))).toMatch(/max power fell|cannot draw what the plan gives it/);
      expect(reason(withCar(i, { maxPowerW: car.maxPowerW * 1.1 }))).toMatch(/max power rose/);
      expect(reason(withCar(i, { maxPowerW: car.maxPowerW * 0.9 }))).toMatch(/max power fell|cannot draw/);
    });
    it('a departure later by up to a slot is the same question for a car the plan fills', async () => {
      await setUp();
      const i = next.sessions.findIndex((s) => plan.sessions.find((p) => p.key === s.key)!.unmetWh < 1);
      expect(reason(withCar(i, { departureAtMs: next.sessions[i]!.departureAtMs + 10 * 60_000 }))).toBe('kept');
      expect(reason(withCar(i, { departureAtMs: next.sessions[i]!.departureAtMs + 40 * 60_000 }))).toMatch(/departure moved/);
    });
    it('a price, a limit (grid signal) or the forecast beyond its tolerance', async () => {
      await setUp();
      const bump = (xs: readonly number[], t: number, by: number) => xs.map((x, i) => (i === t ? x + by : x));
      expect(reason({ ...next, importPricePerKWh: bump(next.importPricePerKWh, 30, 0.01) })).toMatch(/prices changed \(slot 30\)/);
      expect(reason({ ...next, importLimitW: bump(next.importLimitW, 5, -5_000) })).toMatch(/limits changed \(slot 5\)/);
      expect(reason({ ...next, baseLoadW: bump(next.baseLoadW, 0, 300) })).toBe('kept');
      expect(reason({ ...next, baseLoadW: bump(next.baseLoadW, 0, 5_000) })).toMatch(/forecast moved \(slot 0\)/);
    });
    it('the month peak rose above the plan, or a new month began', async () => {
      await setUp();
      expect(reason({ ...next, peakSoFarW: plan.peakW + 1_000 })).toMatch(/peak so far rose/);
      expect(reason({ ...next, peakSoFarW: input.peakSoFarW - 1_000 })).toMatch(/new billing month/);
    });
    it('a battery, or the plan has run out, or it had failed', async () => {
      await setUp();
      const battery = { capacityWh: 10_000, energyWh: 5_000, minEnergyWh: 1_000, maxEnergyWh: 9_000, maxChargeW: 5_000, maxDischargeW: 5_000, efficiency: 0.95 };
      expect(reason({ ...next, battery })).toMatch(/battery/);
      expect(reason({ ...next, startMs: input.startMs + input.slotCount * input.slotMs })).toMatch(/run out/);
      expect(reason(next, { ...plan, status: 'time-limit' })).toMatch(/no plan in force/);
    });
    it('priorities changed while the plan shorts a car', async () => {
      await setUp();
      const shorted: Plan = { ...plan, sessions: plan.sessions.map((s, i) => (i === 0 ? { ...s, unmetWh: 500 } : s)) };
      expect(reason(withCar(3, { priorityWeight: next.sessions[3]!.priorityWeight + 0.1 }), shorted)).toMatch(/priorities changed/);
      const nobodyShort: Plan = { ...plan, sessions: plan.sessions.map((s) => ({ ...s, unmetWh: 0 })) };
      expect(reason(withCar(3, { priorityWeight: next.sessions[3]!.priorityWeight + 0.1 }), nobodyShort)).toBe('kept');
    });
  });

  it('the cache measures against the plan it solved, so small drifts cannot add up', async () => {
    const input = site();
    const plan = await solvePlan(input, highs, LIMIT_MS);
    const cache = new PlanReuseCache();
    cache.solved(input, plan);
    // Each slot the forecast of the slot at hand drifts by 0.6 of the tolerance more: under it once, not twice.
    const toleranceW = (n: PlanInput) => Math.max(DEFAULT_PLAN_REUSE_TOLERANCE.netLoadMinW, DEFAULT_PLAN_REUSE_TOLERANCE.netLoadFraction * n.importLimitW[0]!);
    const drift = (k: number, share: number): PlanInput => {
      const n = later(input, plan, k);
      return { ...n, baseLoadW: n.baseLoadW.map((w, t) => (t === 0 ? w + share * toleranceW(n) : w)) };
    };
    expect(cache.lookup(drift(1, 0.6))).toBeDefined();
    // What the plan view shows beside the kept plan: the series it was solved with, from its slot on.
    expect(cache.keptSeries?.importPricePerKWh).toEqual(input.importPricePerKWh.slice(1));
    expect(cache.lookup(drift(2, 1.2))).toBeUndefined();
    expect(cache.lastReason).toMatch(/forecast moved/);
    expect(cache.reused).toBe(1);
    expect(new PlanReuseCache(null).lookup(input)).toBeUndefined();
  }, 60_000);
});
