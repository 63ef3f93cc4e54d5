import type { PlantCarSpec, PlantChargerSpec, PlantCircuit, PlantMeterSpec, PlantScenario } from './types.ts';

/** A charger with field-typical behaviour; override what a case needs. */
export function chargerSpec(id: string, overrides: Partial<PlantChargerSpec> = {}): PlantChargerSpec {
  return {
    id,
    connectors: 1,
    maxCurrentA: 32,
    phases: 3,
    phaseRotation: 'L1L2L3',
    answerDelayMs: 200,
    applyDelayMs: 500,
    meterValuesPeriodMs: 10_000,
    meterValuesDelayMs: 100,
    profiles: 'obeys',
    currentReporting: 'per-phase',
    ...overrides,
  };
}

/** A three-phase car that follows a new limit after 1.5 s and ramps at 10 A/s. */
export function carSpec(id: string, chargerId: string, overrides: Partial<PlantCarSpec> = {}): PlantCarSpec {
  return {
    id,
    idTag: id.toUpperCase().slice(0, 20),
    chargerId,
    connectorId: 1,
    arriveAtMs: 0,
    maxCurrentA: 32,
    phases: 3,
    responseDelayMs: 1_500,
    rampUpAps: 10,
    wholeAmps: true,
    capacityWh: 60_000,
    socPct: 30,
    targetSocPct: 100,
    taperFromPct: 80,
    drawFactor: 1,
    ...overrides,
  };
}

export function gridMeterSpec(circuitId: string, overrides: Partial<PlantMeterSpec> = {}): PlantMeterSpec {
  return { id: 'grid', circuitId, periodMs: 1_000, delayMs: 100, ...overrides };
}

/** One node carrying every charger, a grid meter on it, building load `baseA` per phase. */
export function flatSite(options: { maxCurrentA: number; chargers: PlantChargerSpec[]; cars: PlantCarSpec[]; baseA?: number; durationMs?: number; seed?: number; name?: string }): PlantScenario {
  const circuit: PlantCircuit = { id: 'site', maxCurrentA: options.maxCurrentA, chargerIds: options.chargers.map((c) => c.id), children: [] };
  const base = options.baseA ?? 10;
  return {
    name: options.name ?? 'flat site',
    seed: options.seed ?? 1,
    startAtMs: Date.UTC(2026, 5, 1, 8, 0, 0),
    utcOffsetH: 0,
    durationMs: options.durationMs ?? 120_000,
    voltageV: 230,
    circuit,
    loads: [{ circuitId: 'site', baseA: [base, base, base] }],
    meters: [gridMeterSpec('site')],
    chargers: options.chargers,
    cars: options.cars,
    signals: [],
  };
}
