import type { Config } from '../../config/schema.ts';
import type { ChargerParams, CircuitNode, DecideParams } from '../../optimizer/types.ts';

const ROOT_ID = 'site';

/** Config → the optimizer's parameters. Chargers named in no circuit hang off the root. */
export function decideParamsFromConfig(config: Config): DecideParams {
  const toNode = (c: Config['circuits'][number]): CircuitNode => ({
    id: c.id,
    maxCurrentA: c.maxCurrent,
    chargerIds: c.chargers ?? [],
    children: (c.children ?? []).map(toNode),
  });
  const declared = config.circuits.map(toNode);
  const placed = new Set<string>();
  const collect = (n: CircuitNode) => {
    n.chargerIds.forEach((id) => placed.add(id));
    n.children.forEach(collect);
  };
  declared.forEach(collect);
  const unplaced = config.chargers.map((c) => c.id).filter((id) => !placed.has(id));
  const circuit: CircuitNode = {
    id: ROOT_ID,
    maxCurrentA: config.grid.maxCurrent,
    chargerIds: unplaced,
    children: declared,
  };

  const circuitOf = new Map<string, string>();
  const assign = (n: CircuitNode) => {
    n.chargerIds.forEach((id) => circuitOf.set(id, n.id));
    n.children.forEach(assign);
  };
  assign(circuit);

  const chargers: ChargerParams[] = config.chargers.map((c) => ({
    id: c.id,
    connectorCount: c.connectors,
    maxCurrentA: c.maxCurrent,
    minCurrentA: c.minCurrent,
    phases: c.phases,
    phaseRotation: c.phaseRotation,
    circuitId: circuitOf.get(c.id) ?? ROOT_ID,
    ...(c.connection !== undefined && c.phases === 1 ? { connection: c.connection } : {}),
  }));

  return {
    voltageV: config.site.voltage,
    grid: {
      maxCurrentA: config.grid.maxCurrent,
      maxImportPowerW: config.grid.maxPower,
      maxExportPowerW: config.grid.maxExportPower,
      safetyMargin: config.grid.safetyMargin,
      metered: config.grid.meter !== undefined,
      meterGate: config.grid.meter !== undefined,
      // Only PV (a PV device, or a PV forecast that says there is PV), a battery or a configured
      // export cap can make the import negative, or lower than what the chargers draw.
      canExport:
        config.grid.maxExportPower !== undefined ||
        config.devices.some((d) => d.role === 'pv' || d.role === 'battery') ||
        (config.planner?.pvForecastW ?? []).some((w) => w > 0),
    },
    circuit,
    chargers,
    priority: config.control.priority,
    deadbandA: config.control.deadbandA,
    capHoldMs: config.control.capHoldMs,
    minPauseMs: config.control.minPauseMs,
    staleAfterMs: config.control.staleAfterMs,
    drawStaleAfterMs: Math.max(config.control.staleAfterMs, 2.5 * config.control.meterValueIntervalS * 1000),
    failsafeCurrentA: config.control.failsafeCurrent,
    unusedHoldMs: config.control.unusedHoldMs,
    rampReserveA: config.control.rampReserveA,
    carResponseMs: config.control.carResponseS * 1000,
  };
}
