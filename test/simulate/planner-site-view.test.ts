// What the replay's planner is told of the building and PV (issue #11): exactly what a live planner
// at that site would see. The plant serves building and PV as samples taken every 15 minutes from
// its start; the planner's "meters now" must be that sample, not the curve at the instant. Without a
// PV device the site's meter shows only the building net of PV (PV beyond it is lost behind a
// zero-export inverter): the planner gets no PV and no surplus room for cars.
import { describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../config/schema.ts';
import type { PlanInput } from '../../optimizer/plan-types.ts';
import { decideParamsFromConfig } from '../../src/control/decide-params.ts';
import { HighsSolver } from '../../src/planner/solver-highs.ts';
import { replayOnPlant } from '../../src/simulate/plant-replay.ts';
import { replayPlant } from '../../src/simulate/plant-scenario.ts';
import { netDailyCurve } from '../../src/simulate/planner-site-view.ts';
import { parseReplaySessions } from '../../src/simulate/replay-sessions.ts';
import { SiteTruth } from '../../src/simulate/site-truth.ts';
import { Tariff } from '../../src/tariffs/tariff.ts';

const at = (hhmm: string) => `2026-11-24T${hhmm}:00Z`;
const V = 230;
/** PV from 08:00 to 16:00, 20 kW at its peak: far above the 4.6 kW building around noon. */
const PV_W = Array.from({ length: 24 }, (_, h) => (h >= 8 && h < 16 ? 20_000 * Math.sin((Math.PI * (h - 7.5)) / 8) : 0));

function site(withPvDevice: boolean): Config {
  return configSchema.parse({
    site: { name: 'pv site', voltage: V, timezone: 'UTC' },
    grid: { maxCurrent: 63, safetyMargin: 0.05, meter: 'grid' },
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }, ...(withPvDevice ? [{ id: 'pv', role: 'pv', driver: 'simulated' }] : [])],
    control: { priority: 'equal' },
    chargers: ['A', 'B', 'C'].map((id) => ({ id, connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3 })),
    planner: { baseLoadW: Array(24).fill(4_600), pvForecastW: PV_W },
  });
}

// The first car at 09:03 puts plant time 0 (and the samples) at 09:02, 09:17, ...; cars arrive off that grid.
const raw = [
  { id: 'a', chargerId: 'A', arrival: at('09:03'), departure: at('13:00'), energyWh: 30_000, maxPowerW: 22_000 },
  { id: 'b', chargerId: 'B', arrival: at('10:05'), departure: at('13:30'), energyWh: 30_000, maxPowerW: 22_000 },
  { id: 'c', chargerId: 'C', arrival: at('11:41'), departure: at('14:00'), energyWh: 20_000, maxPowerW: 22_000 },
];

interface Seen {
  atMs: number;
  input: PlanInput;
  measuredNow: { pvW?: number; baseLoadW?: number } | undefined;
}

async function replay(config: Config) {
  const sessions = parseReplaySessions(raw, config);
  const params = decideParamsFromConfig(config);
  // The plant as the replay builds it (same seed): what it serves, read off its own scenario.
  const zone = new Tariff(config.tariffs, config.site.timezone).zone;
  const truth = new SiteTruth(config, zone, 1);
  const built = replayPlant(config, params, sessions, truth, 1);
  const load = built.scenario.loads[0]!;
  const servedBuildingW = (wallMs: number) => {
    let a = load.baseA[0];
    for (const step of load.steps ?? []) if (step.atMs <= wallMs - built.startAtMs) a = step.currentA[0];
    return a * 3 * V;
  };
  const servedPvW = (wallMs: number) => {
    let w = 0;
    for (const p of built.scenario.pv?.curve ?? []) if (p.atMs <= wallMs - built.startAtMs) w = p.powerW;
    return w;
  };
  const seen: Seen[] = [];
  const result = await replayOnPlant({
    config,
    params,
    sessions,
    strategy: 'controlled',
    solver: new HighsSolver(),
    stepMs: 60_000,
    onPlan: (_plan, atMs, s) => seen.push({ atMs, ...s }),
  });
  return { built, truth, seen, servedBuildingW, servedPvW, result };
}

describe("the replay's planner sees what a live planner at the site would see", () => {
  it('without a PV device: the building net of PV as the plant serves it (its 15-minute sample), no PV, no surplus room', async () => {
    const config = site(false);
    const { built, truth, seen, servedBuildingW } = await replay(config);
    expect(built.pvOnItsOwn).toBe(false);
    expect(built.startAtMs).toBe(Date.parse(at('09:02')));
    expect(seen.length).toBeGreaterThan(5);
    // Plans made off the sample grid (at the arrivals at 10:05 and 11:41 among them).
    const offGrid = seen.filter((s) => (s.atMs - built.startAtMs) % 900_000 !== 0);
    expect(offGrid.map((s) => new Date(s.atMs).toISOString().slice(11, 16))).toEqual(expect.arrayContaining(['10:05', '11:41']));
    for (const s of seen) {
      expect(s.measuredNow?.pvW).toBeUndefined();
      expect(s.measuredNow?.baseLoadW).toBeCloseTo(servedBuildingW(s.atMs), 6);
      // What the plant serves is the building net of PV at the sample (0 around noon), not the curve now.
      const sampleMs = built.startAtMs + Math.floor((s.atMs - built.startAtMs) / 900_000) * 900_000;
      expect(s.measuredNow?.baseLoadW).toBeCloseTo(Math.round((Math.max(0, truth.buildingW(sampleMs) - truth.pvW(sampleMs)) / (3 * V)) * 100) * 3 * V / 100, 6);
      // No PV to count and no base below zero: PV beyond the building gives the cars no room.
      expect(s.input.pvW.every((w) => w === 0)).toBe(true);
      expect(Math.min(...s.input.baseLoadW)).toBeGreaterThanOrEqual(0);
    }
    // Around noon the PV covers the building: the planner reserves nothing for it then, and counts nothing extra.
    const noon = seen.find((s) => s.atMs >= Date.parse(at('11:30')) && s.atMs < Date.parse(at('12:30')))!;
    expect(noon.measuredNow?.baseLoadW).toBe(0);
  }, 120_000);

  it('with a PV device: the building and the PV the plant serves at its sample, not the curves at the instant', async () => {
    const config = site(true);
    const { built, seen, servedBuildingW, servedPvW } = await replay(config);
    expect(built.pvOnItsOwn).toBe(true);
    const at1005 = seen.find((s) => new Date(s.atMs).toISOString().slice(11, 16) === '10:05');
    expect(at1005).toBeDefined();
    for (const s of seen) {
      expect(s.measuredNow?.baseLoadW).toBeCloseTo(servedBuildingW(s.atMs), 6);
      expect(s.measuredNow?.pvW).toBe(servedPvW(s.atMs));
    }
    // The configured PV curve is the planner's forecast at such a site.
    expect(Math.max(...seen[0]!.input.pvW)).toBeGreaterThan(10_000);
  }, 120_000);
});

describe('netDailyCurve', () => {
  it('subtracts curves of different resolutions step by step, never below zero', () => {
    // 24 hourly building points against 96 quarter-hour PV points: 96 net points.
    const building = Array.from({ length: 24 }, (_, h) => 1_000 * h);
    const pv = Array.from({ length: 96 }, (_, q) => (q % 4 === 1 ? 2_500 : 0));
    const net = netDailyCurve(building, pv);
    expect(net).toHaveLength(96);
    expect(net.slice(8, 12)).toEqual([2_000, 0, 2_000, 2_000]);
    expect(net[4 * 23 + 1]).toBe(20_500);
    // Steps that do not share a grid fall back to whole minutes.
    expect(netDailyCurve(Array(7).fill(10), Array(11).fill(3))).toHaveLength(77);
    expect(netDailyCurve(Array(1439).fill(10), Array(1438).fill(3))).toHaveLength(1440);
  });
});
