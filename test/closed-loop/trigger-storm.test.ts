// 200 chargers that report MeterValues every 60 s, on a site where the fuses bind and half the cars
// draw less than offered: the EMS asks for samples (TriggerMessage MeterValues, src/ocpp/meter-
// triggers.ts) without a storm. Counted on what it sends to the plant's chargers, in virtual time.
import { describe, expect, it } from 'vitest';
import { SeededRandom, type PlantCarSpec, type PlantChargerSpec, type PlantCircuit, type PlantScenario } from '../../plant/index.ts';
import { runClosedLoop } from './harness.ts';

const CHARGERS = 200;
const DURATION_MS = 3 * 60_000;

function site(seed: number): PlantScenario {
  const random = new SeededRandom(seed);
  const rows: PlantCircuit[] = [];
  const chargers: PlantChargerSpec[] = [];
  const cars: PlantCarSpec[] = [];
  for (let i = 0; i < CHARGERS; i++) {
    const id = `CP${String(i + 1).padStart(3, '0')}`;
    if (i % 10 === 0) rows.push({ id: `row-${rows.length + 1}`, maxCurrentA: 100, chargerIds: [], children: [] });
    rows.at(-1)!.chargerIds.push(id);
    chargers.push({
      id,
      connectors: 1,
      maxCurrentA: 32,
      phases: 3,
      phaseRotation: 'L1L2L3',
      answerDelayMs: random.int(50, 800),
      applyDelayMs: random.int(200, 3_000),
      meterValuesPeriodMs: 60_000,
      meterValuesDelayMs: random.int(0, 300),
      profiles: 'obeys',
      currentReporting: 'per-phase',
      triggerMessage: random.pick(['accepts', 'accepts', 'accepts', 'rejects', 'not-implemented', 'silent'] as const),
    });
    cars.push({
      id: `${id}-car`,
      idTag: `${id}T`,
      chargerId: id,
      connectorId: 1,
      arriveAtMs: random.int(0, 60_000),
      maxCurrentA: random.pick([10, 16, 32, 32]),
      phases: random.chance(0.2) ? 1 : 3,
      responseDelayMs: random.int(500, 5_000),
      rampUpAps: random.int(5, 30),
      wholeAmps: random.chance(0.5),
      capacityWh: 60_000,
      socPct: 30,
      targetSocPct: 100,
      taperFromPct: 80,
      drawFactor: random.pick([1, 0.6]),
    });
  }
  return {
    name: '200 chargers reporting every 60 s',
    seed,
    startAtMs: Date.UTC(2026, 5, 1, 9, 0, 0),
    utcOffsetH: 0,
    durationMs: DURATION_MS,
    voltageV: 230,
    circuit: { id: 'site', maxCurrentA: 630, chargerIds: [], children: rows },
    loads: [{ circuitId: 'site', baseA: [40, 40, 40] }],
    meters: [{ id: 'grid', circuitId: 'site', periodMs: 1_000, delayMs: 100 }],
    chargers,
    cars,
    signals: [],
  };
}

describe('TriggerMessage MeterValues at 200 chargers', () => {
  it('asks within the site budget (5/s, burst 10) and at most once per connector per 15 s, and leaves refusing chargers alone', { timeout: 600_000 }, () => {
    const sent: { atMs: number; chargerId: string }[] = [];
    const scenario = site(20261207);
    const report = runClosedLoop(scenario, { stepMs: 200, onTrigger: (atMs, chargerId) => sent.push({ atMs, chargerId }) });
    const perSecond = new Map<number, number>();
    for (const s of sent) perSecond.set(Math.floor(s.atMs / 1000), (perSecond.get(Math.floor(s.atMs / 1000)) ?? 0) + 1);
    const peakPerS = Math.max(0, ...perSecond.values());
    const byCharger = new Map<string, number[]>();
    for (const s of sent) byCharger.set(s.chargerId, [...(byCharger.get(s.chargerId) ?? []), s.atMs]);
    const minGapMs = Math.min(Infinity, ...[...byCharger.values()].flatMap((times) => times.slice(1).map((t, i) => t - times[i]!)));
    const refusing = new Set(scenario.chargers.filter((c) => c.triggerMessage === 'rejects' || c.triggerMessage === 'not-implemented').map((c) => c.id));
    const askedRefusing = [...byCharger].filter(([id]) => refusing.has(id)).map(([, times]) => times.length);
    const perChargerPerHour = (sent.length / CHARGERS) * (3_600_000 / DURATION_MS);
    console.info(`[trigger-storm] ${sent.length} requests in ${DURATION_MS / 1000} s to ${CHARGERS} chargers: ${perChargerPerHour.toFixed(1)} per charger per hour, peak ${peakPerS}/s, smallest gap on one charger ${(minGapMs / 1000).toFixed(1)} s, counts ${JSON.stringify(report.triggers)}, headroom use ${report.headroomUse?.toFixed(3)}`);
    expect(sent.length).toBeGreaterThan(0);
    expect(peakPerS).toBeLessThanOrEqual(10 + 5);
    expect(sent.length).toBeLessThanOrEqual(10 + 5 * (DURATION_MS / 1000));
    expect(minGapMs).toBeGreaterThanOrEqual(15_000);
    // A charger that answered Rejected or NotImplemented was asked once in the run.
    for (const n of askedRefusing) expect(n).toBe(1);
    expect(report.emsCausedAs).toBe(0);
  });
});
