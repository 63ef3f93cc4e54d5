// The demo site as a plant scenario (plant/): the config's fuse tree and chargers with field timing,
// an office building on the connection point, PV and a battery where the config has them, the grid
// meter. Cars are added while the demo runs (demo-cars.ts).
import type { Config } from '../../config/schema.ts';
import { decideParamsFromConfig } from '../control/decide-params.ts';
import type { CircuitNode } from '../../optimizer/types.ts';
import { chargerSpec, SeededRandom, type PlantCircuit, type PlantScenario } from '../../plant/index.ts';

/** MeterValues period of the demo's chargers, ms (what MeterValueSampleInterval asks by default). */
export const DEMO_METER_VALUES_MS = 10_000;
/** How long after accepting a profile a demo charger applies it, ms (plant.md: at once to a few seconds). */
export const DEMO_APPLY_DELAY_MS = { min: 300, max: 2_000 } as const;

export function demoPlantScenario(config: Config, startAtMs: number, utcOffsetH: number, seed: number): PlantScenario {
  const random = new SeededRandom(seed * 31 + 7);
  const toPlant = (node: CircuitNode): PlantCircuit => ({ id: node.id, maxCurrentA: node.maxCurrentA, chargerIds: [...node.chargerIds], children: node.children.map(toPlant) });
  const circuit = toPlant(decideParamsFromConfig(config).circuit);
  const maxPowerW = config.grid.maxPower ?? config.grid.maxCurrent * config.site.voltage * 3;
  const pv = config.devices.find((d) => d.role === 'pv');
  const battery = config.devices.find((d) => d.role === 'battery');
  const mainA = config.grid.maxCurrent;
  return {
    name: config.site.name.slice(0, 60) || 'demo',
    seed,
    startAtMs,
    utcOffsetH,
    durationMs: Number.MAX_SAFE_INTEGER,
    voltageV: config.site.voltage,
    circuit,
    // An office-like building: a base, a day curve with a lunch peak, a little noise; uneven phases.
    loads: [{ circuitId: circuit.id, baseA: [mainA * 0.09, mainA * 0.08, mainA * 0.07], dailyPeakA: [mainA * 0.24, mainA * 0.2, mainA * 0.18], noiseA: 1 }],
    ...(pv ? { pv: { peakW: pv.ratedPowerW ?? Math.round(maxPowerW * 0.4), cloudDepth: 0.3 } } : {}),
    ...(battery
      ? {
          battery: {
            capacityWh: 60_000,
            maxPowerW: battery.maxDischargePowerW ?? battery.maxChargePowerW ?? Math.round(maxPowerW * 0.2),
            socPct: 55,
            minSocPct: battery.minSocPct ?? 10,
            maxSocPct: battery.maxSocPct ?? 95,
            peakShaveAboveW: maxPowerW * 0.9,
          },
        }
      : {}),
    meters: config.grid.meter ? [{ id: config.grid.meter, circuitId: circuit.id, periodMs: 1_000, delayMs: 100 }] : [],
    chargers: config.chargers.map((c) =>
      chargerSpec(c.id, {
        connectors: c.connectors,
        maxCurrentA: c.maxCurrent,
        phases: c.phases,
        phaseRotation: c.phaseRotation,
        answerDelayMs: 150,
        applyDelayMs: Math.round(random.between(DEMO_APPLY_DELAY_MS.min, DEMO_APPLY_DELAY_MS.max)),
        meterValuesPeriodMs: DEMO_METER_VALUES_MS,
        meterValuesDelayMs: 200,
      }),
    ),
    cars: [],
    signals: [],
  };
}
