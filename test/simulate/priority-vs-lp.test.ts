// Priority under scarcity, checked against the offline optimum on small random sites (issue #11):
// the EMS (planner + the live control step, through `ems simulate`'s replay) against the LP with
// perfect knowledge, on the same limit. The cars all plug in at once and draw what the plan
// assumes for an unknown car (11 kW), so what is compared is how the plan is carried out, not
// what the EMS cannot know (later arrivals, a car's own max: see the scenario tests and the report).
//
// Measured on 75 seeded cases (2026-12-06): the EMS is within 0.01 point of the LP in 61 of them,
// mean gap 0.4 point, worst 8.3 points (a 20 A site with three cars: the 6 A minimum on three phases
// is 4.1 kW of a 13.8 kW site, and the LP has no minimum, so small planned averages are pooled into
// minimums and part of a slot's share is lost). No priority leak in any case. The bound below is
// that worst case rounded up, not the 1 point: see the report of issue #11.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { decideParamsFromConfig } from '../../src/control/decide-params.ts';
import { HighsSolver } from '../../src/planner/solver-highs.ts';
import { lpOptimum } from '../../src/simulate/lp-optimum.ts';
import { parseReplaySessions } from '../../src/simulate/replay-sessions.ts';
import { replay } from '../../src/simulate/replay.ts';

const solver = new HighsSolver();
const T0 = Date.parse('2026-11-24T09:00:00Z');
const QUARTER_MS = 900_000;
const STEP_MS = 60_000;
const CAR_W = 16 * 230 * 3;
const TIERS = ['fleet', 'staff', 'guest'] as const;
/** The gap to the LP's delivered energy the EMS may show on these sites, share of the energy asked for. */
const MAX_GAP = 0.1;

const arbSite = fc.record({
  maxCurrentA: fc.integer({ min: 16, max: 60 }),
  priority: fc.constantFrom('tier' as const, 'departure' as const),
  cars: fc.array(
    fc.record({
      stayQuarters: fc.integer({ min: 4, max: 24 }),
      fill: fc.double({ min: 0.2, max: 0.9, noNaN: true }),
      tier: fc.integer({ min: 0, max: 2 }),
    }),
    { minLength: 2, maxLength: 5 },
  ),
});

type Site = typeof arbSite extends fc.Arbitrary<infer T> ? T : never;

async function run(site: Site) {
  const config = configSchema.parse({
    site: { name: 'property', voltage: 230, timezone: 'UTC' },
    grid: { maxCurrent: site.maxCurrentA, safetyMargin: 0, meter: 'grid' },
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
    control: { priority: site.priority },
    chargers: site.cars.map((_, i) => ({ id: `C${i + 1}`, connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3 })),
    idTags: site.cars.map((car, i) => ({ idTag: `T${i}`, tier: TIERS[car.tier] })),
    tariffs: { currency: 'EUR', import: { default: 0.3 }, export: { default: 0 } },
    planner: { horizonH: 12, slotMin: 15 },
  });
  const raw = site.cars.map((car, i) => ({
    id: `s${i}`,
    chargerId: `C${i + 1}`,
    idTag: `T${i}`,
    arrival: new Date(T0).toISOString(),
    departure: new Date(T0 + car.stayQuarters * QUARTER_MS).toISOString(),
    energyWh: Math.round(car.fill * (car.stayQuarters / 4) * CAR_W),
    maxPowerW: CAR_W,
  }));
  const sessions = parseReplaySessions(raw, config);
  const ems = await replay({ config, params: decideParamsFromConfig(config), sessions, strategy: 'controlled', solver, stepMs: STEP_MS, idealSite: true, seriesPoints: 1e6 });
  const lp = (await lpOptimum(config, sessions, solver, { stepMs: STEP_MS, idealSite: true }))!;
  return { ems, lp };
}

/** Fixed so CI is repeatable; set PRIORITY_LP_SEED to explore other sites. */
const SEED = Number(process.env.PRIORITY_LP_SEED ?? 20_261_206);

describe('priority under scarcity against the LP optimum (small random sites, all cars known)', () => {
  it('delivers within 10 points of the LP, at least 98.5 % where the LP delivers all, and never feeds a lower tier while a higher one is short and below its max', async () => {
    await fc.assert(
      fc.asyncProperty(arbSite, async (site) => {
        const { ems, lp } = await run(site);
        const requested = ems.kpis.energyRequestedWh;
        expect(ems.kpis.limitViolations).toBe(0);
        expect(ems.kpis.energyDeliveredWh).toBeGreaterThanOrEqual(lp.kpis.energyDeliveredWh - MAX_GAP * requested);
        // Where the LP delivers all, so does the EMS, but for what the minimum current and the
        // one-minute steps cost near a tight departure (found: 99.0 % on a 17 A site, two cars, 75 min).
        if (lp.kpis.energyDeliveredWh >= 0.999 * requested) expect(ems.kpis.energyDeliveredWh).toBeGreaterThanOrEqual(0.985 * requested);
        if (site.priority !== 'tier') return;
        // Per replay step, energy each session took (from the series, one point per step).
        const series = ems.series!;
        const stepWh = (id: string, k: number): number | undefined => {
          const first = series.sessionFirst[id];
          const wh = series.sessionWh[id];
          if (first === undefined || k < first || k - first + 1 >= wh.length) return undefined;
          return wh[k - first + 1] - wh[k - first];
        };
        const fullStepWh = (CAR_W * STEP_MS) / 3_600_000;
        site.cars.forEach((high, h) => {
          const short = ems.sessions.find((r) => r.id === `s${h}`)!.unmetWh > 500;
          if (!short) return;
          site.cars.forEach((low, l) => {
            if (low.tier <= high.tier) return;
            for (let k = 0; k < series.atMs.length; k++) {
              const highWh = stepWh(`s${h}`, k);
              const lowWh = stepWh(`s${l}`, k);
              if (highWh === undefined || lowWh === undefined) continue;
              // A lower tier draws only what the higher one, which ends short, could not take.
              if (lowWh > 1) expect(highWh).toBeGreaterThanOrEqual(fullStepWh - 2);
            }
          });
        });
      }),
      { numRuns: 12, seed: SEED },
    );
  }, 300_000);

  // Found by an unseeded run of the property above (seed 1599443653): a 19 A site, two cars of the
  // same tier, one for 2.5 h at 88 % of what it could take, one for 5.75 h at 20 %. The LP delivers
  // all; the EMS delivered 35,121 Wh of 37,107 (94.6 %): the plan gave the second car 3 A, below its
  // 6 A minimum, and rounding lifted it to 6 A out of the first car's 16 A on a 19 A site. Rounding
  // up now takes only capacity the plan leaves unused (Plan.headroomW): the second car waits.
  it('delivers at least 98.5 % where the LP delivers all: 19 A, two cars of one tier', async () => {
    const site: Site = { maxCurrentA: 19, priority: 'tier', cars: [{ stayQuarters: 10, fill: 0.8844384057971014, tier: 0 }, { stayQuarters: 23, fill: 0.2, tier: 0 }] };
    const { ems, lp } = await run(site);
    const requested = ems.kpis.energyRequestedWh;
    expect(lp.kpis.energyDeliveredWh).toBeGreaterThanOrEqual(0.999 * requested);
    expect(ems.kpis.energyDeliveredWh).toBeGreaterThanOrEqual(0.985 * requested);
  }, 300_000);
});
