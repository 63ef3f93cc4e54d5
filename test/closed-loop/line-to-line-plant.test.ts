// The closed loop over random mixes of line-to-line, line-to-neutral and three-phase chargers on a
// 120/208 V site plant (issue #11): the plant measures every line's true current as the phasor sum
// of its loads (plant/site-plant.ts), and the EMS must keep every one of them under its fuse except
// within the reaction window after an outside change (a building step). The random sites come from
// the closed-loop property's own generator (arbitrary-site.ts, unchanged); this file only rewires
// its chargers (each one line-to-line on a random pair, line-to-neutral or three-phase) and runs the
// site at 120 V. Seeded; LINE_TO_LINE_RUNS sets the count (default 120 cases, ~10 s of CPU).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { carSpec, chargerSpec, type LineConnection, type PlantScenario } from '../../plant/index.ts';
import { arbSiteKnobs, siteFromKnobs, type SiteKnobs } from './arbitrary-site.ts';
import { figures, OVERSHOOT_EPSILON_AS } from './closed-loop-checks.ts';
import { describeViolations, runClosedLoop, type ClosedLoopReport } from './harness.ts';
import { PROPERTY_OPTIONS } from './property-run.ts';

const RUNS = Number(process.env.LINE_TO_LINE_RUNS ?? 120);
const SEED = Number(process.env.LINE_TO_LINE_SEED ?? 20_261_207);
/**
 * What the property still shows after a building step (an upper bound: fewer is better, more is a
 * regression). Measured 2026-12-07 on s13-l2l (seed 20,261,207, 120 cases): 1 case, 0.9 A·s: case
 * 115 (seed 6), wiring L1-L2, L3-L1, L3-L1 and a three-phase charger on a 69 A fuse, the building
 * steps from 9.9 to 39.7 A on L1 at 9 s; the EMS's building level on L1 climbs 20.5 → 40.2 A over
 * 15 s because the rise fits the unsampled cars' possible draw (MeterValues every 15-42 s), and L1
 * reads 69.8 A on 69 A from 20.6 to 22.0 s, 0.1 s after the 11.5 s reaction window: issue #9's F7
 * class (a step credited to cars that may be ramping; 24 of 10,000 cases on the closed-loop
 * property), not the line-to-line bound. The same site wired line-to-neutral shows 0 A·s. Taking
 * a line-to-line car's full current (not its cos 30° part) off the readings gives 2 cases, 13.7 A·s.
 */
const KNOWN_AFTER_STEP = { cases: 1, ampereSeconds: 1.0, note: 'issue #9 F7 class: case 115 (seed 6), L1 69.8 A on 69 A, 0.1 s past the reaction window, 0.9 A·s' };

type Wiring = LineConnection | 'L-N' | '3-phase';

/** Per charger (up to five): how it is wired. Line-to-line most often, as on a North American row. */
const arbWiring = fc.array(fc.constantFrom<Wiring>('L1-L2', 'L2-L3', 'L3-L1', 'L1-L2', 'L2-L3', 'L3-L1', 'L-N', '3-phase'), { minLength: 5, maxLength: 5 });

export const arbLineToLineSite = fc.record({ site: arbSiteKnobs, wiring: arbWiring });

/** The property's random site, rewired: line-to-line chargers carry single-phase cars at 208 V. */
export function lineToLineSite(site: SiteKnobs, wiring: readonly Wiring[]): PlantScenario {
  const scenario = siteFromKnobs(site);
  const chargers = scenario.chargers.map((c, i) => {
    const w = wiring[i] ?? '3-phase';
    if (w === '3-phase') return { ...c, phases: 3 as const };
    if (w === 'L-N') return { ...c, phases: 1 as const };
    return { ...c, phases: 1 as const, connection: w };
  });
  const phasesOf = new Map(chargers.map((c) => [c.id, c.phases]));
  const cars = scenario.cars.map((car) => (phasesOf.get(car.chargerId) === 1 ? { ...car, phases: 1 as const } : car));
  return { ...scenario, name: `line-to-line ${scenario.name}`, voltageV: 120, chargers, cars };
}

function run(site: SiteKnobs, wiring: readonly Wiring[]): ClosedLoopReport {
  return runClosedLoop(lineToLineSite(site, wiring), PROPERTY_OPTIONS);
}

describe('the closed loop on a 120/208 V plant with line-to-line chargers', () => {
  // Found by running this file's sites with a trace: a 32 A charger on L2-L3 (its terminal L1 is
  // the site's L1 by the default rotation) next to a line-to-neutral car on L1, 15 A of building
  // load per line, a 48 A fuse. The EMS took the L-L car's measured current off L1 (where it does
  // not flow) and not off L2 and L3 (where it does): it saw 32-42 A of building load on L2/L3 (the
  // car's own draw), cut the car to 0, saw the building fall back to 15 A, raised it again: a
  // limit cycle, then the car starved (before the fix: 2 pauses, 57 s starved, 74 % headroom use).
  // Now its current counts on L2 and L3 at cos 30° (its part in phase with each line; phase-map.ts).
  it('lets a line-to-line car on L2-L3 charge steadily next to a car on L1 (its draw is not building load)', () => {
    const scenario: PlantScenario = {
      name: 'L2-L3 next to L1-N',
      seed: 5,
      startAtMs: Date.UTC(2026, 5, 1, 9),
      utcOffsetH: 0,
      durationMs: 90_000,
      voltageV: 120,
      circuit: { id: 'site', maxCurrentA: 48, chargerIds: ['BC', 'N1'], children: [] },
      loads: [{ circuitId: 'site', baseA: [15, 15, 15] }],
      meters: [{ id: 'grid', circuitId: 'site', periodMs: 1_000, delayMs: 100 }],
      chargers: [chargerSpec('BC', { phases: 1, connection: 'L2-L3' }), chargerSpec('N1', { phases: 1 })],
      cars: [carSpec('bc', 'BC', { phases: 1 }), carSpec('n1', 'N1', { phases: 1, arriveAtMs: 30_000 })],
      signals: [],
    };
    let lastDrawA = 0;
    let minSteadyDrawA = Infinity;
    const report = runClosedLoop(scenario, {
      ...PROPERTY_OPTIONS,
      onStep: (truth) => {
        const bc = truth.connectors.find((c) => c.chargerId === 'BC')!;
        lastDrawA = bc.drawA;
        // From 20 s on (the car has ramped), it keeps charging whatever the other car does.
        if (truth.atMs >= 20_000) minSteadyDrawA = Math.min(minSteadyDrawA, bc.drawA);
      },
    });
    console.info(`L2-L3 next to L1-N: ${figures(report)}; BC draws ${lastDrawA} A at the end, at least ${minSteadyDrawA} A from 20 s`);
    expect(report.emsCausedAs).toBeLessThanOrEqual(OVERSHOOT_EPSILON_AS);
    expect(report.pauses).toBe(0);
    expect(report.starvedMs).toBe(0);
    // The EMS sees 15 A of building on L2/L3 plus the part of the car's current out of phase
    // (≈ 17.5 A) and counts the car in full: 48 × 0.95 − 17.5 ≈ 28 A for it (true L2 41.7 A on 48 A).
    expect(minSteadyDrawA).toBeGreaterThanOrEqual(24);
  });

  // One tally over the seeded random mixes, split by whether the case has a building step (an
  // outside change the EMS cannot foresee) and read by the two tests below.
  let tally: { cases: number; lineToLine: number; cpuS: number; quiet: string[]; stepped: string[]; emsCausedAs: number } | undefined;
  const tallied = () => {
    if (tally) return tally;
    const cpuBefore = process.cpuUsage();
    const t = { cases: 0, lineToLine: 0, cpuS: 0, quiet: [] as string[], stepped: [] as string[], emsCausedAs: 0 };
    fc.sample(arbLineToLineSite, { seed: SEED, numRuns: RUNS }).forEach(({ site, wiring }, i) => {
      const scenario = lineToLineSite(site, wiring);
      const report = run(site, wiring);
      t.cases++;
      if (scenario.chargers.some((c) => c.connection)) t.lineToLine++;
      t.emsCausedAs += report.emsCausedAs;
      if (report.emsCausedAs <= OVERSHOOT_EPSILON_AS) return;
      const line = `case ${i + 1} (seed ${site.seed}, wiring ${wiring.join(' ')}${site.step ? `, building step at ${site.step.atS} s to ${Math.round(site.step.fraction * 100)} % of the fuse` : ''}): ${describeViolations(report)} | ${figures(report)}`;
      (site.step ? t.stepped : t.quiet).push(line);
    });
    const cpu = process.cpuUsage(cpuBefore);
    t.cpuS = (cpu.user + cpu.system) / 1e6;
    console.info(`line-to-line plant: ${t.cases} cases (${t.lineToLine} with a line-to-line charger), EMS-caused ${t.emsCausedAs.toFixed(1)} A·s in all, ${t.quiet.length} cases without and ${t.stepped.length} with a building step over a limit, ${t.cpuS.toFixed(1)} s CPU${[...t.quiet, ...t.stepped].map((l) => `\n  ${l}`).join('')}`);
    return (tally = t);
  };

  it(`keeps every line's true (phasor) current under its fuse on sites without an outside change (${RUNS} random mixes, seed ${SEED})`, { timeout: 600_000 }, () => {
    const t = tallied();
    expect(t.quiet).toEqual([]);
    expect(t.lineToLine).toBeGreaterThan(RUNS * 0.8);
  });

  it(`keeps them under beyond the reaction window after a building step, but for the known #9 case (at most ${KNOWN_AFTER_STEP.cases} case, ${KNOWN_AFTER_STEP.ampereSeconds} A·s: ${KNOWN_AFTER_STEP.note})`, { timeout: 600_000 }, () => {
    const t = tallied();
    expect(t.stepped.length, t.stepped.join('\n')).toBeLessThanOrEqual(KNOWN_AFTER_STEP.cases);
    expect(t.emsCausedAs, t.stepped.join('\n')).toBeLessThanOrEqual(KNOWN_AFTER_STEP.ampereSeconds);
  });
});
