// `ems simulate` on the site plant (issue #9/#11): sessions become cars with their own timing, the
// live control step decides, and violations are measured on the plant's true currents. Asserted
// on what a user gets: the report JSON and the printed table of the command.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runSimulateCommand } from '../../src/simulate/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'ems-simulate-plant-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Three 32 A three-phase chargers behind a 63 A fuse with 4.6 kW of building load (6.7 A per phase). */
function tinySite(name: string, extra: Record<string, unknown> = {}): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    stringify({
      site: { name, voltage: 230, timezone: 'Europe/Berlin' },
      grid: { maxCurrent: 63, safetyMargin: 0.05, meter: 'grid' },
      devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
      control: { priority: 'equal' },
      chargers: ['A', 'B', 'C'].map((id) => ({ id, connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3 })),
      planner: { baseLoadW: Array(24).fill(4_600) },
      ...extra,
    }),
  );
  return path;
}

function sessionsFile(name: string, sessions: object[]): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(sessions));
  return path;
}

const at = (hhmm: string) => `2026-11-24T${hhmm}:00Z`;

async function simulate(...args: string[]): Promise<{ code: number; out: string; err: string; report?: any }> {
  const out: string[] = [];
  const err: string[] = [];
  const outPath = join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
  const code = await runSimulateCommand([...args, '--out', outPath], { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  let report: any;
  try {
    report = JSON.parse(readFileSync(outPath, 'utf8'));
  } catch {
    report = undefined;
  }
  return { code, out: out.join('\n'), err: err.join('\n'), report };
}

describe('ems simulate on the site plant', () => {
  // Three cars that together want 3 × 32 A on a 63 A fuse for two hours.
  const crowded = [
    { id: 'a', chargerId: 'A', arrival: at('09:00'), departure: at('11:00'), energyWh: 40_000, maxPowerW: 22_000 },
    { id: 'b', chargerId: 'B', arrival: at('09:00'), departure: at('11:00'), energyWh: 40_000, maxPowerW: 22_000 },
    { id: 'c', chargerId: 'C', arrival: at('09:05'), departure: at('11:00'), energyWh: 40_000, maxPowerW: 22_000 },
  ];

  it('measures violations on the plant: none by the EMS, the uncontrolled baseline over the fuse for the whole stay', async () => {
    const r = await simulate('--config', tinySite('crowded'), '--sessions', sessionsFile('crowded', crowded));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.report.model.name).toBe('plant');
    expect(r.out).toMatch(/model: on the site plant/);
    expect(r.out).toMatch(/A·s over, controller/);
    // The EMS kept the fuse on the plant's true currents.
    expect(r.report.kpis.overLimit.controllerAs).toBe(0);
    expect(r.report.kpis.worstOverA).toBe(0);
    // Uncontrolled: 3 cars × 32 A + 6.7 A on 63 A is ~40 A over on each phase until the cars fill
    // up (40 kWh at 22 kW: ~1.8 h) and taper: ~3 × 40 A × 6,500 s; the plant measures it.
    const unc = r.report.baselines.uncontrolled;
    const overAs = unc.overLimit.controllerAs + unc.overLimit.afterOutsideChangeAs;
    expect(overAs).toBeGreaterThan(500_000);
    expect(overAs).toBeLessThan(900_000);
    expect(unc.worstOverA).toBeGreaterThan(35);
    expect(unc.limitViolations).toBeGreaterThanOrEqual(1);
    // The EMS used the fuse: after the margin and the building, ~53 A for the cars, i.e. ~36.6 kW.
    expect(r.report.kpis.energyDeliveredWh).toBeGreaterThan(36_600 * 1.9 * 0.9);
    expect(r.report.kpis.peakW).toBeLessThanOrEqual(63 * 3 * 230);
  }, 120_000);

  it('shows the plant timing the instant model hides: a car that tapers near full misses energy the instant model delivers', async () => {
    // One car on an empty site: 60 kWh battery from 10 % to 100 % in exactly the time full power
    // allows. The instant model delivers it all; on the plant it tapers above 80 % and falls short.
    const needWh = 54_000;
    const hours = needWh / 22_080; // 32 A × 3 × 230 V
    const departure = new Date(Date.parse(at('09:00')) + hours * 3_600_000 + 60_000).toISOString();
    const sessions = sessionsFile('taper', [{ id: 'solo', chargerId: 'A', arrival: at('09:00'), departure, energyWh: needWh, maxPowerW: 22_080, soc: 10, batteryWh: 60_000 }]);
    const config = tinySite('taper', { grid: { maxCurrent: 200, safetyMargin: 0.05, meter: 'grid' } });
    const plant = await simulate('--config', config, '--sessions', sessions);
    const ideal = await simulate('--config', config, '--sessions', sessions, '--ideal');
    expect(plant.code).toBe(0);
    expect(ideal.code).toBe(0);
    expect(ideal.report.model.name).toBe('instant');
    expect(ideal.report.kpis.overLimit).toBeUndefined();
    expect(ideal.report.kpis.unmetWh).toBeLessThan(600);
    // Taper from 80 % (a fifth of the battery at falling current) costs well over a kWh here.
    expect(plant.report.kpis.unmetWh).toBeGreaterThan(2_000);
    expect(plant.report.sessions[0].deliveredWh).toBeLessThan(needWh - 2_000);
  }, 120_000);

  it('accounts for every session, also a car gone before its transaction started, and a site without a grid meter', async () => {
    const config = tinySite('unmetered', { grid: { maxCurrent: 63, safetyMargin: 0.05 }, devices: [] });
    const sessions = sessionsFile('unmetered', [
      { id: 'stays', chargerId: 'A', arrival: at('09:00'), departure: at('10:00'), energyWh: 5_000, maxPowerW: 11_000 },
      { id: 'blink', chargerId: 'B', arrival: at('09:10'), departure: '2026-11-24T09:10:00.500Z', energyWh: 500, maxPowerW: 3_700 },
      { id: 'nothing', chargerId: 'C', arrival: at('09:20'), departure: at('09:40'), energyWh: 0, maxPowerW: 3_700 },
    ]);
    const r = await simulate('--config', config, '--sessions', sessions, '--step-s', '900');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.report.sessions.map((s: { id: string }) => s.id).sort()).toEqual(['blink', 'nothing', 'stays']);
    expect(r.report.sessions.find((s: { id: string }) => s.id === 'blink')).toMatchObject({ deliveredWh: 0, unmetWh: 500 });
    // Charged without a meter (the EMS then assumes the worst building load); it starts above 80 % and tapers.
    expect(r.report.sessions.find((s: { id: string }) => s.id === 'stays').deliveredWh).toBeGreaterThan(3_000);
    expect(r.report.kpis.overLimit.controllerAs).toBe(0);
  }, 120_000);

  it('replays a 120/208 V site with line-to-line chargers on the plant: true line currents are phasor sums, the EMS keeps them under the fuse', async () => {
    // Three 32 A chargers on L1-L2, L2-L3 and L3-L1 behind a 45 A fuse, no building load. Cars of
    // 6.7 kW take 32 A at 208 V (√3 × 120 V). Uncontrolled, every line carries √3 × 32 = 55.43 A
    // (hand-computed in test/plant/line-to-line.test.ts), 10.43 A over the fuse; counted as
    // line-to-neutral loads it would be 64 A, 19 A over. The EMS counts each charger in full on
    // both lines (the safe linear bound): 45 A × 0.95 / 2 = 21.4 A each, true lines √3 × 21.4 = 37 A.
    const config = tinySite('l2l', {
      site: { name: 'l2l', voltage: 120, timezone: 'America/New_York' },
      grid: { maxCurrent: 45, safetyMargin: 0.05, meter: 'grid' },
      chargers: [
        { id: 'AB', connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 1, connection: 'L1-L2' },
        { id: 'BC', connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 1, connection: 'L2-L3' },
        { id: 'CA', connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 1, connection: 'L3-L1' },
      ],
      planner: { baseLoadW: Array(24).fill(0) },
    });
    const sessions = sessionsFile('l2l', [
      { id: 'ab', chargerId: 'AB', arrival: at('14:00'), departure: at('15:30'), energyWh: 13_000, maxPowerW: 6_700 },
      { id: 'bc', chargerId: 'BC', arrival: at('14:00'), departure: at('15:30'), energyWh: 13_000, maxPowerW: 6_700 },
      { id: 'ca', chargerId: 'CA', arrival: at('14:05'), departure: at('15:30'), energyWh: 13_000, maxPowerW: 6_700 },
    ]);
    const r = await simulate('--config', config, '--sessions', sessions, '--no-plan');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.report.model.name).toBe('plant');
    const uncontrolled = r.report.baselines.uncontrolled;
    for (const a of uncontrolled.peakLineA) expect(a).toBeCloseTo(55.43, 1);
    expect(uncontrolled.worstOverA).toBeCloseTo(10.43, 1);
    expect(uncontrolled.overLimit.controllerAs).toBeGreaterThan(0);
    // The EMS: no A·s over the fuse on any line, every line used up to the linear bound.
    expect(r.report.kpis.overLimit).toEqual({ controllerAs: 0, afterOutsideChangeAs: 0, episodes: 0 });
    expect(r.report.kpis.worstOverA).toBe(0);
    for (const a of r.report.kpis.peakLineA) {
      expect(a).toBeLessThanOrEqual(45);
      expect(a).toBeGreaterThan(34);
    }
    // Each L-L car takes its draw at 208 V; the EMS delivers what the even split does (the cars
    // cannot all be full: 39 kWh wanted, ~19 kWh fit), not less.
    expect(r.report.kpis.energyDeliveredWh).toBeGreaterThan(0.97 * r.report.baselines.equalShare.energyDeliveredWh);
    expect(r.out).toMatch(/peak line current +36\.\d\/36\.\d\/36\.\d A +55\.4\/55\.4\/55\.4 A/);
  }, 120_000);
});

describe('the plant replay learns each car max as the live planner does', () => {
  it('plans a car at what it draws once it has drawn clearly less than its cap (MeterValues), not at the 11 kW assumed for an unknown car', async () => {
    const { configSchema } = await import('../../config/schema.ts');
    const { decideParamsFromConfig } = await import('../../src/control/decide-params.ts');
    const { HighsSolver } = await import('../../src/planner/solver-highs.ts');
    const { parseReplaySessions } = await import('../../src/simulate/replay-sessions.ts');
    const { replayOnPlant } = await import('../../src/simulate/plant-replay.ts');
    const config = configSchema.parse({
      site: { name: 'slow car', voltage: 230, timezone: 'UTC' },
      grid: { maxCurrent: 63, safetyMargin: 0.05, meter: 'grid' },
      devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
      chargers: [{ id: 'A', connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3 }],
      planner: { baseLoadW: Array(24).fill(2_000) },
      // Cheap for the first hour: the plan puts the car at the most it thinks the car can take.
      tariffs: { currency: 'EUR', import: { default: 0.4, periods: [{ from: '09:00', to: '10:00', price: 0.1 }] } },
    });
    // A car that takes 3 × 8 A (5.5 kW) on a 22 kW charger: the plan assumes 11 kW until it draws.
    const sessions = parseReplaySessions([{ id: 'slow', chargerId: 'A', arrival: at('09:00'), departure: at('13:00'), energyWh: 15_000, maxPowerW: 8 * 230 * 3 }], config);
    const plans: { atMs: number; maxPowerW: number | undefined }[] = [];
    const r = await replayOnPlant({
      config,
      params: decideParamsFromConfig(config),
      sessions,
      strategy: 'controlled',
      solver: new HighsSolver(),
      stepMs: 60_000,
      onPlan: (plan, atMs) => plans.push({ atMs, maxPowerW: plan.sessions[0]?.maxPowerW }),
    });
    const withCar = plans.filter((p) => p.maxPowerW !== undefined);
    expect(withCar[0]!.maxPowerW).toBeCloseTo(16 * 230 * 3, 0); // assumed: nothing seen yet
    // Learnt from its MeterValues within the cheap hour: 8 A on three phases (5.5 kW).
    const learnt = withCar.find((p) => p.maxPowerW! < 16 * 230 * 3 - 1)!;
    expect(learnt.atMs).toBeLessThan(Date.parse(at('09:15')));
    expect(learnt.maxPowerW).toBeCloseTo(8 * 230 * 3, 0);
    expect(r.kpis.energyDeliveredWh).toBeGreaterThan(0.99 * 15_000);
  }, 120_000);
});
