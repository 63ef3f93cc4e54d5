// What real cars do that a plan at nominal power misses, learnt from their draw (issue #11): the
// whole-amp gap, taper, and a departure margin within the slack of a stay.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { CarMaxLearner } from '../../src/planner/car-max-learner.ts';
import { buildPlanInput, departureMarginMs, taperedMaxPowerW, type PlannerSession } from '../../src/planner/plan-input.ts';
import { Tariff } from '../../src/tariffs/tariff.ts';

const config = configSchema.parse({ site: { voltage: 230 }, grid: { maxCurrent: 100 }, chargers: [{ id: 'A', maxCurrent: 32, phases: 3 }] });
const sample = (over: Partial<Parameters<CarMaxLearner['observe']>[0]>) => ({ sessionId: 's', chargerId: 'A', capA: 16, drawA: 16, phases: 3 as const, wantsMore: true, ...over });

describe('the car-max learner on real cars', () => {
  it('learns a car that draws the whole amp below its cap as its own limit (15.9 A car under 16 A draws 15 A)', () => {
    const learner = new CarMaxLearner(config);
    expect(learner.observe(sample({ capA: 16, drawA: 15 }))).toBe(true);
    expect(learner.learnedA('s')).toBe(15);
    expect(learner.carMaxPowerW('s')).toBe(15 * 230 * 3);
  });

  it('does not take floor(cap) for a limit: 10 A under a 10.7 A cap is rounding, and says the car rounds down', () => {
    const learner = new CarMaxLearner(config);
    // Learning that it rounds is news for the plan (departure margin): re-plan.
    expect(learner.observe(sample({ capA: 10.7, drawA: 10 }))).toBe(true);
    expect(learner.observe(sample({ capA: 10.7, drawA: 10 }))).toBe(false);
    expect(learner.learnedA('s')).toBeUndefined();
    expect(learner.wholeAmps('s')).toBe(true);
    expect(learner.carModel('s')).toEqual({ taperWPerWh: 0, wholeAmps: true });
    // A car that follows the fraction is not a whole-amp car, and one fraction is enough to say so.
    const other = new CarMaxLearner(config);
    other.observe(sample({ sessionId: 'f', capA: 10.7, drawA: 10.7 }));
    other.observe(sample({ sessionId: 'f', capA: 12.5, drawA: 12 }));
    expect(other.wholeAmps('f')).toBe(false);
  });

  it('follows a tapering car down and keeps the fall per Wh: the plan then counts on its average over the need', () => {
    const learner = new CarMaxLearner(config);
    learner.observe(sample({ capA: 32, drawA: 16, energyWh: 10_000 }));
    expect(learner.carModel('s')).toEqual({ maxPowerW: 16 * 690, taperWPerWh: 0 });
    expect(learner.observe(sample({ capA: 32, drawA: 14, energyWh: 12_000 }))).toBe(true);
    expect(learner.observe(sample({ capA: 32, drawA: 12, energyWh: 14_000 }))).toBe(true);
    const model = learner.carModel('s')!;
    expect(model.maxPowerW).toBe(12 * 690);
    // 4 A over 4 kWh: 1 mA per Wh, at 690 V·phases 0.69 W per Wh.
    expect(model.taperWPerWh).toBeCloseTo(0.69, 9);
    // A car drawing more again (it was cold) starts over without a taper.
    learner.observe(sample({ capA: 32, drawA: 16, energyWh: 15_000 }));
    expect(learner.carModel('s')).toEqual({ maxPowerW: 16 * 690, taperWPerWh: 0 });
  });

  // Known failure (issue #11): the slope is measured from the last sample at the old limit, so the
  // first whole-amp step (1 A) counts over one sample interval's Wh, not the step's: 0.0054 A/Wh
  // here against the real 0.0013 (a tapering car planned as if nearly full). Measuring from the
  // first fall to the latest passes, but on the plant hub the accurate slope alone loses (seeds
  // 1-10 x shifts 0 and 7: 7 sessions and 12.8 kWh fewer): the biased slope works as a finishing
  // margin. With an explicit one (10 % more energy planned for a tapering car) it is even with
  // main (+2 sessions, -7.4 kWh of 13,873) and not taken; docs/planner.md, branch s13-plan-experiments.
  it.fails('learns the taper of a whole-amp car sampled once a minute within a fifth of its real slope', () => {
    // The plant's 16 A car above 80 % SoC on a 60 kWh battery: 16 A falling to 8 A over 6 kWh,
    // drawn in whole amps, MeterValues every 60 s.
    const learner = new CarMaxLearner(config);
    const realAPerWh = 8 / 6_000;
    let energyWh = 0;
    const seen: number[] = [];
    for (let minute = 0; energyWh < 6_000; minute++) {
      const drawA = Math.floor(16 - realAPerWh * energyWh + 1e-9);
      learner.observe(sample({ capA: 32, drawA, energyWh }));
      energyWh += (drawA * 690) / 60;
      const taper = learner.carModel('s')!.taperWPerWh;
      if (taper > 0) seen.push(taper / 690);
    }
    expect(seen.length).toBeGreaterThan(0);
    for (const aPerWh of seen) {
      expect(aPerWh).toBeGreaterThan(0.8 * realAPerWh);
      expect(aPerWh).toBeLessThan(1.2 * realAPerWh);
    }
  });

  it('tapered average power, hand-computed: 10 kW falling 1 W per Wh over 4 kWh is 4 kWh in ln(10/6) h', () => {
    expect(taperedMaxPowerW(10_000, 1, 4_000)).toBeCloseTo(4_000 / Math.log(10 / 6), 6);
    expect(taperedMaxPowerW(10_000, 0, 4_000)).toBe(10_000);
    expect(taperedMaxPowerW(10_000, undefined, 4_000)).toBe(10_000);
    // Past its floor (15 % of now) it goes on at the floor: 10 kW → 1.5 kW takes 8.5 kWh, the rest at 1.5 kW.
    const hours = Math.log(10_000 / 1_500) + 1_500 / 1_500;
    expect(taperedMaxPowerW(10_000, 1, 10_000)).toBeCloseTo(10_000 / hours, 6);
  });
});

describe('departure margin', () => {
  const h = 3_600_000;
  const s = (over: Partial<PlannerSession>): PlannerSession => ({ key: 'A/1', chargerId: 'A', arrivalAtMs: 0, departureAtMs: 3 * h, energyWh: 0, tierRank: 0, carWholeAmps: true, ...over });

  it('plans a real car (seen drawing whole amps) to be done before it leaves, by a share of its stay, only within the slack', () => {
    // 3 h stay, 11 kWh at 11 kW: 2 h of slack, 30 % of the stay is 54 min, at most 45 min.
    expect(departureMarginMs(s({}), 0, 11_000, 11_000)).toBe(45 * 60_000);
    // 2.9 h of need in a 3 h stay: 6 min of slack is all it gets.
    expect(departureMarginMs(s({}), 0, 2.9 * 11_000, 11_000)).toBeCloseTo(6 * 60_000, 6);
    // No slack, or no departure: none.
    expect(departureMarginMs(s({}), 0, 40_000, 11_000)).toBe(0);
    expect(departureMarginMs(s({ departureAtMs: undefined }), 0, 11_000, 11_000)).toBe(0);
    // A car that follows fractional caps exactly (or not seen yet) is planned to its departure.
    expect(departureMarginMs(s({ carWholeAmps: undefined }), 0, 11_000, 11_000)).toBe(0);
  });

  it('is what buildPlanInput gives the LP as the departure', () => {
    const tariff = new Tariff(config.tariffs, config.site.timezone);
    const input = buildPlanInput({ config, tariff, zone: tariff.zone, atMs: 0, sessions: [s({ energyNeedWh: 11_000, carMaxPowerW: 11_040 })], peakSoFarW: 0 });
    expect(input.sessions[0]!.departureAtMs).toBe(3 * h - 45 * 60_000);
  });
});
