// Line-to-line chargers on the site plant: a single-phase charger wired between two lines of a
// 120/208 V service. Every figure below is computed by hand from phasors, not by the plant's code.
//
// Line-to-neutral voltages: V1 = 120∠0°, V2 = 120∠−120°, V3 = 120∠+120°. A charger between L1 and
// L2 sees V1 − V2 = 207.85∠+30° (√3 × 120 V); its current I (unity power factor) is I∠+30° on L1
// and flows back on L2 as −I∠+30° = I∠−150°. Likewise L2-L3: I∠−90° on L2, I∠+90° on L3; L3-L1:
// I∠+150° on L3, I∠−30° on L1. A line-to-neutral load on L1 is I∠0°.
//
// Balanced, 32 A on each of L1-L2, L2-L3, L3-L1:
//   L1 = 32∠30° + 32∠−30° = (27.713 + 27.713) + j(16 − 16) = 55.43 A  (√3 × 32; a sum of the
//   currents, as for line-to-neutral loads, would say 64 A). By symmetry L2 = L3 = 55.43 A.
//   Power: 3 × 32 A × 207.85 V = 19,953 W.
//   With 10 A of building load per line (in phase with its line's voltage): 10 + 55.43 = 65.43 A.
//
// Unbalanced: 32 A on L1-L2, 16 A on L2-L3 (in a sub-circuit "row"), a line-to-neutral car of
// 16 A on L1 (at the root), no building load:
//   L1 = 16∠0° + 32∠30°            = (16 + 27.713) + j16          → √(43.713² + 16²)  = 46.55 A
//   L2 = 32∠−150° + 16∠−90°         = −27.713 + j(−16 − 16)        → √(27.713² + 32²)  = 42.33 A
//   L3 = 16∠90°                     = j16                          → 16.00 A
//   the row alone: L1 = 32.00, L2 = 42.33, L3 = 16.00 A.
//   Power: 16 × 120 + 32 × 207.85 + 16 × 207.85 = 1,920 + 6,651.1 + 3,325.5 = 11,896.7 W.
import { describe, expect, it } from 'vitest';
import { carSpec, chargerSpec, parseScenarioJson, scenarioToJson, SitePlant, type PlantEvent, type PlantScenario } from '../../plant/index.ts';

const V_LN = 120;
const V_LL = Math.sqrt(3) * V_LN;

function site(chargers: PlantScenario['chargers'], cars: PlantScenario['cars'], rowIds: string[], baseA: number): PlantScenario {
  return {
    name: 'a 120/208 V site',
    seed: 3,
    startAtMs: Date.UTC(2026, 5, 1, 8, 0, 0),
    utcOffsetH: 0,
    durationMs: 60_000,
    voltageV: V_LN,
    circuit: {
      id: 'site',
      maxCurrentA: 200,
      chargerIds: chargers.map((c) => c.id).filter((id) => !rowIds.includes(id)),
      children: [{ id: 'row', maxCurrentA: 100, chargerIds: rowIds, children: [] }],
    },
    loads: [{ circuitId: 'site', baseA: [baseA, baseA, baseA] }],
    meters: [
      { id: 'grid', circuitId: 'site', periodMs: 1_000, delayMs: 100 },
      { id: 'row-meter', circuitId: 'row', periodMs: 1_000, delayMs: 100 },
    ],
    chargers,
    cars,
    signals: [],
  };
}

const lineToLine = (id: string, connection: 'L1-L2' | 'L2-L3' | 'L3-L1') => chargerSpec(id, { phases: 1, connection, maxCurrentA: 32 });
const car = (id: string, chargerId: string, maxCurrentA: number) => carSpec(id, chargerId, { phases: 1, maxCurrentA });

function runTo(plant: SitePlant, untilMs: number): PlantEvent[] {
  const events: PlantEvent[] = [];
  for (let t = plant.nowMs + 100; t <= untilMs; t += 100) events.push(...plant.stepTo(t));
  return events;
}

/** The last reading each meter delivered. */
function lastReadings(events: PlantEvent[]): Map<string, { currentA: number[]; powerW: number }> {
  const out = new Map<string, { currentA: number[]; powerW: number }>();
  for (const e of events) if (e.kind === 'meter') out.set(e.meterId, { currentA: e.currentA, powerW: e.powerW });
  return out;
}

describe('line-to-line chargers on the site plant', () => {
  const balanced = () =>
    site(
      [lineToLine('AB', 'L1-L2'), lineToLine('BC', 'L2-L3'), lineToLine('CA', 'L3-L1')],
      [car('a', 'AB', 32), car('b', 'BC', 32), car('c', 'CA', 32)],
      ['AB', 'BC', 'CA'],
      0,
    );

  it('reads √3 × 32 = 55.43 A on every line with 32 A on each pair, on the grid meter and the submeter', () => {
    const plant = new SitePlant(balanced());
    const events = runTo(plant, 20_000);
    for (const c of plant.truth().connectors) expect(c.drawA).toBe(32);
    for (const node of ['site', 'row']) for (const a of plant.truth().nodeA.get(node)!) expect(a).toBeCloseTo(55.43, 2);
    expect(plant.truth().gridPowerW).toBeCloseTo(19_953, 0);
    const readings = lastReadings(events);
    for (const meter of ['grid', 'row-meter']) {
      for (const a of readings.get(meter)!.currentA) expect(a).toBeCloseTo(55.43, 2);
      expect(Math.abs(readings.get(meter)!.powerW - 19_953)).toBeLessThan(5);
    }
  });

  it('adds building load in phase: 10 + 55.43 = 65.43 A per line (not 74)', () => {
    const plant = new SitePlant({ ...balanced(), loads: [{ circuitId: 'site', baseA: [10, 10, 10] }] });
    const events = runTo(plant, 20_000);
    for (const a of plant.truth().nodeA.get('site')!) expect(a).toBeCloseTo(65.43, 2);
    for (const a of plant.truth().nodeA.get('row')!) expect(a).toBeCloseTo(55.43, 2);
    for (const a of lastReadings(events).get('grid')!.currentA) expect(a).toBeCloseTo(65.43, 2);
  });

  it('reads 46.55 / 42.33 / 16.00 A with 32 A on L1-L2, 16 A on L2-L3 and a 16 A car on L1 to neutral', () => {
    const scenario = site(
      [lineToLine('AB', 'L1-L2'), lineToLine('BC', 'L2-L3'), chargerSpec('N1', { phases: 1, maxCurrentA: 32 })],
      [car('a', 'AB', 32), car('b', 'BC', 16), car('n', 'N1', 16)],
      ['AB', 'BC'],
      0,
    );
    const plant = new SitePlant(parseScenarioJson(scenarioToJson(scenario)));
    const events = runTo(plant, 20_000);
    const site_ = plant.truth().nodeA.get('site')!;
    expect(site_[0]).toBeCloseTo(46.55, 2);
    expect(site_[1]).toBeCloseTo(42.33, 2);
    expect(site_[2]).toBeCloseTo(16.0, 2);
    const row = plant.truth().nodeA.get('row')!;
    expect(row[0]).toBeCloseTo(32.0, 2);
    expect(row[1]).toBeCloseTo(42.33, 2);
    expect(row[2]).toBeCloseTo(16.0, 2);
    expect(plant.truth().gridPowerW).toBeCloseTo(11_896.7, 0);
    const grid = lastReadings(events).get('grid')!;
    expect(grid.currentA[0]).toBeCloseTo(46.55, 2);
    expect(grid.currentA[1]).toBeCloseTo(42.33, 2);
    expect(grid.currentA[2]).toBeCloseTo(16.0, 2);
    // The meter's power is active power (from each line's in-phase part), not Σ |I| × 120 V = 12,945 W.
    expect(Math.abs(grid.powerW - 11_896.7)).toBeLessThan(5);
  });

  it('has the charger report its one current (Current.Import on L1) and its power at 208 V, and the car charge at 208 V', () => {
    const plant = new SitePlant(site([lineToLine('AB', 'L1-L2')], [car('a', 'AB', 32)], ['AB'], 0));
    const events = runTo(plant, 60_000);
    const values = events.filter((e) => e.kind === 'meter-values' && e.measuredAtMs > 20_000);
    expect(values.length).toBeGreaterThanOrEqual(2);
    for (const v of values) {
      if (v.kind !== 'meter-values') continue;
      expect(v.currentA).toEqual([32, 0, 0]);
      expect(v.powerW).toBe(Math.round(32 * V_LL));
    }
    const truth = plant.truth().connectors[0]!;
    expect(truth.drawSiteA).toEqual([32, 32, 0]);
    expect(truth.powerW).toBeCloseTo(32 * V_LL, 6);
    // Energy: the register moves by 32 A × 207.85 V between two samples at full draw.
    const [first, last] = [values[0]!, values.at(-1)!];
    if (first.kind === 'meter-values' && last.kind === 'meter-values') {
      const hours = (last.measuredAtMs - first.measuredAtMs) / 3_600_000;
      expect(Math.abs(last.energyWh - first.energyWh - 32 * V_LL * hours)).toBeLessThanOrEqual(1);
    }
  });

  it('refuses a line-to-line connection on a three-phase charger or an unknown pair, naming the key', () => {
    const bad = site([chargerSpec('AB', { phases: 3, connection: 'L1-L2' })], [], ['AB'], 0);
    expect(() => parseScenarioJson(scenarioToJson(bad))).toThrow(/chargers\[0\]\.connection: only a single-phase charger/);
    const odd = site([chargerSpec('AB', { phases: 1, connection: 'L1-L3' as 'L1-L2' })], [], ['AB'], 0);
    expect(() => parseScenarioJson(scenarioToJson(odd))).toThrow(/chargers\[0\]\.connection: expected L1-L2, L2-L3 or L3-L1/);
  });
});
