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
    ...(pv ? { pv: { peakW: demoPvPeakW(config), cloudDepth: DEMO_PV_CLOUD_DEPTH } } : {}),
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

const DEMO_PV_CLOUD_DEPTH = 0.3;

/** The demo plant's PV peak, W: the PV device's rating, else 40 % of the import cap. */
function demoPvPeakW(config: Config): number {
  const pv = config.devices.find((d) => d.role === 'pv');
  const maxPowerW = config.grid.maxPower ?? config.grid.maxCurrent * config.site.voltage * 3;
  return pv?.ratedPowerW ?? Math.round(maxPowerW * 0.4);
}

/**
 * What the demo plant's PV yields on average per quarter hour of the local day, W (its daily sine
 * from 06:30 to 19:30 under clouds that take up to cloudDepth, half of it on average): the planner's
 * forecast of the demo's PV. Without it a fresh demo has no PV history to learn from, and the Plan
 * showed the present reading fading away (12 kW at 11:00 to 0 by 16:00, no midday peak).
 * Undefined without a PV device.
 */
export function demoPvForecastW(config: Config): number[] | undefined {
  if (!config.devices.some((d) => d.role === 'pv')) return undefined;
  const peakW = demoPvPeakW(config);
  return Array.from({ length: 96 }, (_, i) => {
    const h = (i + 0.5) / 4;
    if (h < 6.5 || h > 19.5) return 0;
    return Math.round(peakW * Math.sin(((h - 6.5) / 13) * Math.PI) * (1 - DEMO_PV_CLOUD_DEPTH / 2));
  });
}
