import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { buildPlanInput, planCircuits, priorityWeights, type PlannerSession } from '../../src/planner/plan-input.ts';
import { LocalTimeZone } from '../../src/tariffs/local-time.ts';
import { Tariff } from '../../src/tariffs/tariff.ts';

const session = (key: string, chargerId: string, over: Partial<PlannerSession> = {}): PlannerSession => ({ key, chargerId, arrivalAtMs: 0, energyWh: 0, tierRank: 0, ...over });

describe('planner input from the site', () => {
  const config = configSchema.parse({
    grid: { maxCurrent: 100, safetyMargin: 0.1 },
    circuits: [{ id: 'main', maxCurrent: 100, children: [{ id: 'row', maxCurrent: 32, chargers: ['A', 'B'] }, { id: 'big', maxCurrent: 200, chargers: ['C'] }] }],
    chargers: [
      { id: 'A', maxCurrent: 32, phases: 3 },
      { id: 'B', maxCurrent: 32, phases: 1, phaseRotation: 'L2L3L1' },
      { id: 'C', maxCurrent: 32, phases: 3 },
    ],
    planner: { defaultEnergyNeedWh: { fleet: 50_000 } },
  });

  it('maps sessions onto the fuses that can bind, per site phase, after the margin', () => {
    const circuits = planCircuits(config, [session('A/1', 'A'), session('B/1', 'B'), session('C/1', 'C')]);
    // 'big' (200 A) can never bind; 'main' and the main fuse can on L2 (A + B + C = 96 A > 90 A).
    expect(circuits.map((c) => c.id)).toEqual(['row', 'main', 'grid']);
    expect(circuits[0]).toEqual({ id: 'row', maxCurrentA: 28.8, loads: [{ key: 'A/1', phaseMask: 0b111, powerWeight: 3 }, { key: 'B/1', phaseMask: 0b010, powerWeight: 1 }] });
    expect(circuits[1].maxCurrentA).toBeCloseTo(90, 9);
  });

  it('counts a line-to-line charger on both its lines at current × √3 × V', () => {
    const na = configSchema.parse({
      site: { voltage: 120 },
      grid: { maxCurrent: 40, safetyMargin: 0 },
      chargers: [
        { id: 'X', maxCurrent: 32, phases: 1, connection: 'L1-L2' },
        { id: 'Y', maxCurrent: 32, phases: 1, connection: 'L3-L1' },
      ],
    });
    const [grid] = planCircuits(na, [session('X/1', 'X'), session('Y/1', 'Y')], [3 * 120 * 2]);
    expect(grid).toEqual({ id: 'grid', maxCurrentA: 40, reservedA: [2], loads: [{ key: 'X/1', phaseMask: 0b011, powerWeight: Math.sqrt(3) }, { key: 'Y/1', phaseMask: 0b101, powerWeight: Math.sqrt(3) }] });
  });

  it('fills in the need from the tier default and plans a little more than asked', () => {
    const tariff = new Tariff(undefined, 'UTC');
    const input = buildPlanInput({ config, tariff, zone: new LocalTimeZone('UTC'), atMs: 0, peakSoFarW: 0, sessions: [session('A/1', 'A', { tier: 'fleet', energyWh: 10_000, departureAtMs: 8 * 3_600_000 })] });
    expect(input.sessions[0].energyNeedWh).toBeCloseTo(40_000 * 1.01 + 150, 6);
    expect(input.importLimitW[0]).toBeCloseTo(100 * 230 * 3 * 0.9, 6);
    expect(input.slotCount).toBe(96);
  });

  it('bounds every slot a grid signal overlaps by the signal, less the margin', () => {
    const tariff = new Tariff(undefined, 'UTC');
    const input = buildPlanInput({
      config,
      tariff,
      zone: new LocalTimeZone('UTC'),
      atMs: 0,
      peakSoFarW: 0,
      sessions: [session('A/1', 'A', { departureAtMs: 3_600_000 })],
      signals: [{ id: 's', source: 'openadr', kind: 'import-limit', startMs: 20 * 60_000, endMs: 40 * 60_000, value: 10_000 }],
    });
    expect(input.importLimitW.slice(0, 4)).toEqual([62_100, 9_000, 9_000, 62_100]);
  });

  it('orders priority weights by the scheme: the first in line is shorted last', () => {
    const sessions = [session('late', 'A', { arrivalAtMs: 2, departureAtMs: 5, tierRank: 3 }), session('early', 'B', { arrivalAtMs: 1, departureAtMs: 9, tierRank: 1 })];
    expect(Object.fromEntries(priorityWeights(sessions, 'fcfs'))).toEqual({ early: 2, late: 1 });
    expect(Object.fromEntries(priorityWeights(sessions, 'departure'))).toEqual({ late: 2, early: 1 });
    // Tiers are strict: every session of a higher tier outweighs every one of a lower tier.
    expect(Object.fromEntries(priorityWeights(sessions, 'tier'))).toEqual({ late: 16, early: 2 });
    const three = [
      session('f1', 'A', { arrivalAtMs: 1, tierRank: 3 }),
      session('f2', 'A', { arrivalAtMs: 2, tierRank: 3 }),
      session('g1', 'B', { arrivalAtMs: 0, tierRank: 1 }),
      session('g2', 'B', { arrivalAtMs: 3, tierRank: 1 }),
    ];
    const w = priorityWeights(three, 'tier');
    expect(Math.min(w.get('f1')!, w.get('f2')!)).toBeGreaterThanOrEqual(3 * Math.max(w.get('g1')!, w.get('g2')!));
    expect(Object.fromEntries(priorityWeights(sessions, 'equal'))).toEqual({ late: 1, early: 1 });
  });
});
