import type { PlantScenario } from './types.ts';

/** A scenario file that does not describe a plant: says where and why. */
export class ScenarioError extends Error {
  readonly code = 'PLANT_SCENARIO';
}

const REQUIRED: (keyof PlantScenario)[] = ['name', 'seed', 'startAtMs', 'utcOffsetH', 'durationMs', 'voltageV', 'circuit', 'loads', 'meters', 'chargers', 'cars', 'signals'];

/**
 * Checks the shape of parsed scenario data (JSON, or YAML parsed by the caller) and returns it as a
 * scenario; throws ScenarioError naming the first problem. Pure.
 */
export function scenarioFromData(data: unknown): PlantScenario {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new ScenarioError('a scenario is an object');
  const record = data as Record<string, unknown>;
  for (const key of REQUIRED) if (!(key in record)) throw new ScenarioError(`scenario.${key}: missing`);
  for (const key of ['seed', 'startAtMs', 'utcOffsetH', 'durationMs', 'voltageV'] as const) {
    if (typeof record[key] !== 'number' || !Number.isFinite(record[key])) throw new ScenarioError(`scenario.${key}: expected a finite number`);
  }
  for (const key of ['loads', 'meters', 'chargers', 'cars', 'signals'] as const) {
    if (!Array.isArray(record[key])) throw new ScenarioError(`scenario.${key}: expected a list`);
  }
  const scenario = data as PlantScenario;
  const chargerIds = new Set(scenario.chargers.map((c) => c.id));
  const circuitIds = new Set<string>();
  const visit = (node: PlantScenario['circuit'], path: string) => {
    if (typeof node?.id !== 'string' || typeof node.maxCurrentA !== 'number') throw new ScenarioError(`${path}: a circuit needs id and maxCurrentA`);
    circuitIds.add(node.id);
    for (const id of node.chargerIds ?? []) if (!chargerIds.has(id)) throw new ScenarioError(`${path}.chargerIds: unknown charger ${id}`);
    (node.children ?? []).forEach((child, i) => visit(child, `${path}.children[${i}]`));
  };
  visit(scenario.circuit, 'scenario.circuit');
  scenario.meters.forEach((m, i) => {
    if (!circuitIds.has(m.circuitId)) throw new ScenarioError(`scenario.meters[${i}].circuitId: unknown circuit ${m.circuitId}`);
    if (!(m.periodMs > 0)) throw new ScenarioError(`scenario.meters[${i}].periodMs: must be > 0`);
  });
  scenario.chargers.forEach((c, i) => {
    if (!(c.meterValuesPeriodMs > 0)) throw new ScenarioError(`scenario.chargers[${i}].meterValuesPeriodMs: must be > 0`);
    if (c.connection !== undefined) {
      if (!['L1-L2', 'L2-L3', 'L3-L1'].includes(c.connection)) throw new ScenarioError(`scenario.chargers[${i}].connection: expected L1-L2, L2-L3 or L3-L1`);
      if (c.phases !== 1) throw new ScenarioError(`scenario.chargers[${i}].connection: only a single-phase charger (phases 1) is wired line to line`);
    }
  });
  scenario.cars.forEach((car, i) => {
    const charger = scenario.chargers.find((c) => c.id === car.chargerId);
    if (!charger) throw new ScenarioError(`scenario.cars[${i}].chargerId: unknown charger ${car.chargerId}`);
    if (!(car.connectorId >= 1 && car.connectorId <= charger.connectors)) throw new ScenarioError(`scenario.cars[${i}].connectorId: ${car.chargerId} has no connector ${car.connectorId}`);
  });
  return scenario;
}

export function parseScenarioJson(text: string): PlantScenario {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(`scenario is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return scenarioFromData(data);
}

export function scenarioToJson(scenario: PlantScenario): string {
  return `${JSON.stringify(scenario, null, 2)}\n`;
}
