// Per-charger cut latency (optimizer/cut-latency.ts) and its use in the control step: a charger
// whose car was seen above a new cap later than carResponseMs keeps the old cap reserved that long
// on its next cut; one never seen slow is not held beyond carResponseMs.
import { describe, expect, it } from 'vitest';
import { cutReservations, initialCutLatency, learnCutLatency, slowCutMs, MAX_CUT_LATENCY_MS, type CutLatencyMemory } from '../../optimizer/cut-latency.ts';
import type { ConnectorSnapshot } from '../../optimizer/types.ts';
import { controlStep, initialControlMemory, type ControlMemory } from '../../src/control/control-step.ts';
import type { DecideParams, SiteSnapshot } from '../../optimizer/types.ts';

const T0 = 1_800_000_000_000;

function connector(chargerId: string, drawA: number, drawAtMs: number): ConnectorSnapshot {
  return {
    chargerId,
    connectorId: 1,
    status: 'Charging',
    session: { id: `s-${chargerId}`, startedAtMs: T0 - 60_000, paused: false, energyWh: 0, tierRank: 0 },
    drawA: [drawA, drawA, drawA],
    drawAtMs,
  } as ConnectorSnapshot;
}

/** One cycle of learning: caps before and after, keyed `chargerId/1`. */
function step(memory: CutLatencyMemory, connectors: ConnectorSnapshot[], atMs: number, before: Record<string, number>, after: Record<string, number>): CutLatencyMemory {
  return learnCutLatency(memory, connectors, atMs, (k) => before[k], (k) => after[k]);
}

describe('cut latency learnt per charger', () => {
  it('learns a slow charger from a sample still above the new cap; a sample that followed ends the watch and learns nothing', () => {
    let m = initialCutLatency;
    // Both cars draw 16 A; both are cut to 8 A at T0.
    m = step(m, [connector('SLOW', 16, T0 - 1_000), connector('FAST', 16, T0 - 1_000)], T0, { 'SLOW/1': 16, 'FAST/1': 16 }, { 'SLOW/1': 8, 'FAST/1': 8 });
    expect(Object.keys(m.pending).sort()).toEqual(['FAST/1', 'SLOW/1']);
    // 6.5 s later SLOW's car still draws 16 A; FAST's follows within 1.2 s.
    m = step(m, [connector('SLOW', 16, T0 + 6_500), connector('FAST', 8, T0 + 1_200)], T0 + 7_000, { 'SLOW/1': 8, 'FAST/1': 8 }, { 'SLOW/1': 8, 'FAST/1': 8 });
    expect(m.chargers.SLOW?.slowerThanMs).toEqual([6_500]);
    expect(m.chargers.FAST).toBeUndefined();
    expect(Object.keys(m.pending)).toEqual(['SLOW/1']);
    expect(slowCutMs(m, 'SLOW', 5_000)).toBe(7_500);
    expect(slowCutMs(m, 'FAST', 5_000)).toBeUndefined();
    // A second late sample of the same cut counts once, at the latest.
    m = step(m, [connector('SLOW', 16, T0 + 7_500), connector('FAST', 8, T0 + 1_200)], T0 + 8_000, { 'SLOW/1': 8, 'FAST/1': 8 }, { 'SLOW/1': 8, 'FAST/1': 8 });
    expect(m.chargers.SLOW?.slowerThanMs).toEqual([7_500]);
    expect(m.chargers.FAST?.slowerThanMs ?? []).toEqual([]); // the fast charger is never learnt slow
  });

  it('keeps the old cap reserved on a slow charger for its learnt latency less carResponseMs, not on a fast one', () => {
    let m: CutLatencyMemory = { chargers: { SLOW: { slowerThanMs: [7_000] } }, pending: {}, seenSampleAtMs: {} };
    m = step(m, [connector('SLOW', 16, T0 - 500), connector('FAST', 16, T0 - 500)], T0, { 'SLOW/1': 16, 'FAST/1': 16 }, { 'SLOW/1': 8, 'FAST/1': 8 });
    // learnt 7 s + 1 s margin = 8 s; the estimator itself holds 5 s after its last record.
    expect([...cutReservations(m, T0 + 2_900, 5_000)]).toEqual([['SLOW/1', 16]]);
    expect([...cutReservations(m, T0 + 3_000, 5_000)]).toEqual([]);
  });

  it('learns nothing from a car that already drew less than the new cap, nor from a cut older than its bound', () => {
    let m = step(initialCutLatency, [connector('A', 5, T0 - 500)], T0, { 'A/1': 16 }, { 'A/1': 8 });
    expect(m.pending).toEqual({});
    m = step(initialCutLatency, [connector('A', 16, T0 - 500)], T0, { 'A/1': 16 }, { 'A/1': 8 });
    m = step(m, [connector('A', 16, T0 + MAX_CUT_LATENCY_MS + 1)], T0 + MAX_CUT_LATENCY_MS + 2, { 'A/1': 8 }, { 'A/1': 8 });
    expect(m.chargers.A).toBeUndefined();
    expect(m.pending).toEqual({});
  });

  it('ignores connectors that are not objects (bad input)', () => {
    const m = learnCutLatency(initialCutLatency, [null as unknown as ConnectorSnapshot], T0, () => 16, () => 8);
    expect(m.pending).toEqual({});
  });
});

describe('control step with a slow charger', () => {
  const params: DecideParams = {
    voltageV: 230,
    grid: { maxCurrentA: 40, safetyMargin: 0, metered: true },
    circuit: { id: 'main', maxCurrentA: 40, chargerIds: ['SLOW'], children: [] },
    chargers: [{ id: 'SLOW', connectorCount: 1, maxCurrentA: 32, minCurrentA: 6, phases: 3, phaseRotation: 'L1L2L3', circuitId: 'main' }],
    priority: 'equal',
    deadbandA: 0.5,
    minPauseMs: 120_000,
    staleAfterMs: 10_000,
    failsafeCurrentA: 6,
    unusedHoldMs: 30_000,
    rampReserveA: 2,
    carResponseMs: 5_000,
  };
  const snap = (atMs: number, buildingA: number, drawA: number, drawAtMs: number): SiteSnapshot => ({
    atMs,
    grid: { atMs, currentA: [buildingA + drawA, buildingA + drawA, buildingA + drawA], powerW: (buildingA + drawA) * 3 * 230 },
    circuitLoads: [],
    connectors: [connector('SLOW', drawA, drawAtMs)],
    signals: {},
  });

  it('reserves the cap the car still draws while its learnt cut latency lasts, beyond carResponseMs', () => {
    const memory: ControlMemory = {
      ...initialControlMemory,
      cutLatency: { chargers: { SLOW: { slowerThanMs: [9_000] } }, pending: {}, seenSampleAtMs: {} },
    };
    let m = memory;
    let t = T0;
    // Settle at 30 A with a 5 A building.
    for (let i = 0; i < 40; i++, t += 1_000) m = controlStep({ snapshot: snap(t, 5, 30, t - 200), params, memory: m }).memory;
    // The building steps to 20 A: the cap is cut; the car keeps drawing its old cap (slow charger).
    const cut = controlStep({ snapshot: snap(t, 20, 30, t - 200), params, memory: m });
    const capAfterCut = cut.decision.caps[0]!.currentA;
    expect(capAfterCut).toBeLessThan(25);
    m = cut.memory;
    expect(Object.keys(m.cutLatency!.pending)).toEqual(['SLOW/1']);
    // Learnt 9 s + 1 s margin: the old cap is reserved for 10 s less carResponseMs (the estimator
    // keeps the last record in force for carResponseMs itself), so in force until 10 s after the cut.
    const later = controlStep({ snapshot: snap(t + 4_500, 20, 30, t - 200), params, memory: m });
    expect(later.snapshot.connectors[0]!.reservedA).toBeGreaterThanOrEqual(30);
    expect(later.decision.caps[0]!.reason.kind).toBe('reserved');
    const after = controlStep({ snapshot: snap(t + 5_500, 20, 30, t - 200), params, memory: later.memory });
    expect(after.snapshot.connectors[0]!.reservedA).toBeUndefined();
  });
});
