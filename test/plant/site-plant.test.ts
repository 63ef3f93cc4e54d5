import { describe, expect, it } from 'vitest';
import { carSpec, chargerSpec, flatSite, parseScenarioJson, scenarioToJson, SitePlant, type PlantEvent } from '../../plant/index.ts';

const txDefault = (limit: number) => ({ id: 101, connectorId: 1, purpose: 'TxDefaultProfile' as const, stackLevel: 0, kind: 'Absolute' as const, unit: 'A' as const, periods: [{ startPeriodS: 0, limit }] });

function run(plant: SitePlant, untilMs: number, stepMs = 100): PlantEvent[] {
  const events: PlantEvent[] = [];
  for (let t = plant.nowMs + stepMs; t <= untilMs; t += stepMs) events.push(...plant.stepTo(t));
  return events;
}

describe('the site plant', () => {
  it('lets a car follow a lower limit only after the charger applied it and the car responded', () => {
    const scenario = flatSite({ maxCurrentA: 100, chargers: [chargerSpec('CP1', { applyDelayMs: 500 })], cars: [carSpec('car', 'CP1', { responseDelayMs: 1500, rampUpAps: 10 })] });
    const plant = new SitePlant(scenario);
    run(plant, 10_000);
    expect(plant.truth().connectors[0]!.drawA).toBe(32);
    plant.setChargingProfile('CP1', { ...txDefault(10) });
    run(plant, 11_900);
    expect(plant.truth().connectors[0]!.drawA).toBe(32);
    run(plant, 12_100);
    expect(plant.truth().connectors[0]!.drawA).toBe(10);
  });

  it('ramps up at the car\'s rate and rounds down to whole amps', () => {
    const scenario = flatSite({ maxCurrentA: 100, chargers: [chargerSpec('CP1', { applyDelayMs: 0 })], cars: [carSpec('car', 'CP1', { responseDelayMs: 0, rampUpAps: 5, arriveAtMs: 0 })] });
    const plant = new SitePlant(scenario);
    plant.setChargingProfile('CP1', txDefault(13.7));
    run(plant, 1_000 + 1_000);
    // Transaction at 1 s; ramping 5 A/s from that step on (11 steps of 0.1 s).
    expect(plant.truth().connectors[0]!.drawA).toBeCloseTo(5.5, 6);
    run(plant, 10_000);
    expect(plant.truth().connectors[0]!.drawA).toBe(13);
  });

  it('puts a single-phase car on the site phase the charger\'s L1 is wired to', () => {
    const scenario = flatSite({ maxCurrentA: 100, chargers: [chargerSpec('CP1', { phaseRotation: 'L2L3L1' })], cars: [carSpec('car', 'CP1', { phases: 1, maxCurrentA: 16 })] });
    const plant = new SitePlant(scenario);
    run(plant, 10_000);
    expect(plant.truth().connectors[0]!.drawSiteA).toEqual([0, 16, 0]);
    expect(plant.truth().nodeA.get('site')).toEqual([10, 26, 10]);
  });

  it('reads the grid meter at its own period and delivers each reading after its delay', () => {
    const scenario = flatSite({ maxCurrentA: 100, chargers: [], cars: [] });
    scenario.meters[0] = { ...scenario.meters[0]!, periodMs: 2_000, delayMs: 300 };
    scenario.loads[0]!.steps = [{ atMs: 5_000, currentA: [40, 40, 40] }];
    const events = run(new SitePlant(scenario), 12_000).filter((e) => e.kind === 'meter');
    expect(events.length).toBeGreaterThanOrEqual(5);
    for (const e of events) if (e.kind === 'meter') {
      expect(e.atMs - e.measuredAtMs).toBeGreaterThanOrEqual(300);
      expect(e.currentA[0]).toBe(e.measuredAtMs >= 5_000 ? 40 : 10);
    }
    const gaps = events.slice(1).map((e, i) => (e as { measuredAtMs: number }).measuredAtMs - (events[i] as { measuredAtMs: number }).measuredAtMs);
    for (const gap of gaps) expect(gap).toBe(2_000);
  });

  it('sends MeterValues at the charger\'s own period, and a sum-of-phases charger reports three times the draw', () => {
    const scenario = flatSite({ maxCurrentA: 100, chargers: [chargerSpec('CP1', { meterValuesPeriodMs: 15_000, currentReporting: 'sum-of-phases' })], cars: [carSpec('car', 'CP1', { maxCurrentA: 16 })] });
    const values = run(new SitePlant(scenario), 60_000).filter((e) => e.kind === 'meter-values');
    expect(values.length).toBeGreaterThanOrEqual(3);
    expect(values.length).toBeLessThanOrEqual(4);
    const last = values.at(-1)!;
    expect(last.kind === 'meter-values' && last.currentImportA).toBe(48);
  });

  it('stops a full car (SuspendedEV) and restarts it when it wakes', () => {
    const scenario = flatSite({ maxCurrentA: 100, chargers: [chargerSpec('CP1')], cars: [carSpec('car', 'CP1', { capacityWh: 2_000, socPct: 95, targetSocPct: 96, taperFromPct: 100, wakeAtMs: 60_000, wakeEnergyWh: 500 })] });
    const plant = new SitePlant(scenario);
    const events = run(plant, 50_000);
    expect(events.some((e) => e.kind === 'status' && e.status === 'SuspendedEV')).toBe(true);
    expect(plant.truth().connectors[0]!.drawA).toBe(0);
    run(plant, 63_000);
    expect(plant.truth().connectors[0]!.drawA).toBeGreaterThan(0);
    expect(plant.changes.map((c) => c.kind)).toEqual(expect.arrayContaining(['car-arrived', 'car-full', 'car-woke']));
  });

  it('lets a charger that ignores profiles accept them and draw its max', () => {
    const scenario = flatSite({ maxCurrentA: 100, chargers: [chargerSpec('CP1', { profiles: 'ignores' })], cars: [carSpec('car', 'CP1')] });
    const plant = new SitePlant(scenario);
    run(plant, 3_000);
    expect(plant.setChargingProfile('CP1', txDefault(6)).status).toBe('Accepted');
    run(plant, 20_000);
    expect(plant.truth().connectors[0]!.drawA).toBe(32);
  });

  it('queues what a charger sends while it is offline and delivers it in a burst on reconnect', () => {
    const scenario = flatSite({ maxCurrentA: 100, chargers: [chargerSpec('CP1', { offline: [{ fromMs: 5_000, toMs: 40_000 }] })], cars: [carSpec('car', 'CP1')] });
    const plant = new SitePlant(scenario);
    const events = run(plant, 20_000);
    expect(plant.setChargingProfile('CP1', txDefault(6)).status).toBe('Offline');
    events.push(...run(plant, 60_000));
    const late = events.filter((e) => e.kind === 'meter-values' && e.measuredAtMs < 40_000 && e.measuredAtMs >= 5_000);
    expect(late.length).toBeGreaterThanOrEqual(2);
    for (const e of late) expect(e.atMs).toBe(40_000);
    expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(['disconnected', 'connected']));
  });

  it('replays the same run from a saved scenario file', () => {
    const scenario = flatSite({ maxCurrentA: 63, seed: 42, chargers: [chargerSpec('CP1', { meterValuesLossRate: 0.3 })], cars: [carSpec('car', 'CP1')] });
    scenario.loads[0]!.noiseA = 3;
    const first = run(new SitePlant(scenario), 30_000);
    const second = run(new SitePlant(parseScenarioJson(scenarioToJson(scenario))), 30_000);
    expect(second).toEqual(first);
  });

  it('refuses a scenario file that names an unknown charger, clearly', () => {
    const scenario = flatSite({ maxCurrentA: 63, chargers: [chargerSpec('CP1')], cars: [carSpec('car', 'CP9')] });
    expect(() => parseScenarioJson(scenarioToJson(scenario))).toThrow(/cars\[0\]\.chargerId: unknown charger CP9/);
    expect(() => parseScenarioJson('{')).toThrow(/not JSON/);
  });
});
