// The EMS configuration a plant scenario implies: the same fuse tree, chargers and meters, as an
// installer would write them into site.yaml.
import { configSchema, type CircuitConfig, type Config } from '../../config/schema.ts';
import type { PlantCircuit, PlantScenario } from '../../plant/index.ts';

export interface EmsSettings {
  /** control.* overrides (intervalMs, staleAfterMs, priority, carResponseS once it exists, ...). */
  control?: Record<string, unknown>;
  safetyMargin?: number;
  /** Import cap at the connection point, W. */
  maxPowerW?: number;
}

export function emsConfig(scenario: PlantScenario, settings: EmsSettings = {}): Config {
  const rootId = scenario.circuit.id;
  const toCircuit = (node: PlantCircuit): CircuitConfig => ({
    id: node.id,
    maxCurrent: node.maxCurrentA,
    ...(node.chargerIds.length ? { chargers: node.chargerIds } : {}),
    ...(meterOn(node.id) ? { meter: meterOn(node.id) } : {}),
    ...(node.children.length ? { children: node.children.map(toCircuit) } : {}),
  });
  const meterOn = (circuitId: string) => scenario.meters.find((m) => m.circuitId === circuitId)?.id;
  const gridMeter = meterOn(rootId);
  // Chargers on the root node are the config's unplaced chargers; the root's children are the circuits.
  return configSchema.parse({
    site: { name: scenario.name.slice(0, 60) || 'plant', voltage: scenario.voltageV },
    grid: {
      maxCurrent: scenario.circuit.maxCurrentA,
      ...(gridMeter ? { meter: gridMeter } : {}),
      ...(settings.safetyMargin === undefined ? {} : { safetyMargin: settings.safetyMargin }),
      ...(settings.maxPowerW === undefined ? {} : { maxPower: settings.maxPowerW }),
    },
    // capHoldMs: the cap hysteresis in time, as docs/configuration.md recommends (off by default).
    control: { priority: 'equal', capHoldMs: 10_000, ...settings.control },
    circuits: scenario.circuit.children.map(toCircuit),
    chargers: scenario.chargers.map((c) => ({ id: c.id, connectors: c.connectors, maxCurrent: c.maxCurrentA, minCurrent: 6, phases: c.phases, phaseRotation: c.phaseRotation, ...(c.connection ? { connection: c.connection } : {}) })),
    devices: scenario.meters.map((m) => ({ id: m.id, role: m.circuitId === rootId ? 'grid-meter' : 'load', driver: 'simulated' })),
    storage: { path: ':memory:' },
  });
}
