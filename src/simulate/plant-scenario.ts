// A replayed site as a plant scenario (plant/): the config's fuse tree, chargers and meters with
// field-typical timing drawn from the seed, every session a car with its own response, ramp, taper
// and battery, and the replay's building load and PV (site-truth.ts) as outside changes.
import type { Config } from '../../config/schema.ts';
import { powerWeightOf } from '../../optimizer/phase-map.ts';
import type { DecideParams, CircuitNode } from '../../optimizer/types.ts';
import { SeededRandom, type PlantCarSpec, type PlantChargerSpec, type PlantCircuit, type PlantLoad, type PlantMeterSpec, type PlantScenario, type Triple } from '../../plant/index.ts';
import type { ReplaySession } from './replay-sessions.ts';
import type { SiteTruth } from './site-truth.ts';

/** Building load and PV are sampled this often, ms (a configured curve has hourly or finer points). */
const TRUTH_SAMPLE_MS = 15 * 60_000;
/** Chargers connect and set up this long before the first car, ms. */
const LEAD_MS = 60_000;
/** Without a battery size in the session, the car's battery, Wh. */
const DEFAULT_BATTERY_WH = 60_000;

/** Timing a replayed site gets from its seed (ranges from the field, see /work/shared plant.md). */
export interface PlantTiming {
  /** MeterValues periods chargers pick from, ms (real chargers: 10..60 s whatever the EMS asks). */
  meterValuesPeriodsMs: readonly number[];
  /** A new profile takes effect after this, ms (0.2..5 s on real chargers). */
  applyDelayMs: readonly [number, number];
  /** A car follows a new pilot limit after this, ms (IEC 61851-1: up to 5 s). */
  carResponseMs: readonly [number, number];
  /** Cars ramp up at, A/s. */
  rampUpAps: readonly [number, number];
  /** Grid and circuit meters report every, ms. */
  meterPeriodMs: number;
}

export const FIELD_TIMING: PlantTiming = {
  meterValuesPeriodsMs: [10_000, 10_000, 15_000, 30_000, 60_000],
  applyDelayMs: [300, 3_000],
  carResponseMs: [1_000, 4_000],
  rampUpAps: [5, 20],
  meterPeriodMs: 1_000,
};

export interface ReplayPlant {
  scenario: PlantScenario;
  /** Wall time of plant time 0, ms. */
  startAtMs: number;
  /** True: PV can push the site into export (a PV device or an export cap is configured); else it only offsets the building. */
  pvOnItsOwn: boolean;
  /**
   * What the plant serves at a wall time, W: the sample in force (they are taken every
   * TRUTH_SAMPLE_MS from plant time 0), as a live EMS at this site would measure it. Without a PV
   * device the building is the load net of PV (what the grid meter implies; PV beyond the building
   * is lost) and there is no PV reading.
   */
  served(wallMs: number): { buildingW: number; pvW: number | undefined };
}

/** Builds the plant for a replay. */
export function replayPlant(config: Config, params: DecideParams, sessions: readonly ReplaySession[], truth: SiteTruth, seed: number, timing: PlantTiming = FIELD_TIMING): ReplayPlant {
  const random = new SeededRandom(seed * 7919 + 17);
  const firstMs = Math.min(...sessions.map((s) => s.arrivalMs));
  const lastMs = Math.max(...sessions.map((s) => s.departureMs));
  const startAtMs = Math.floor((firstMs - LEAD_MS) / 60_000) * 60_000;
  const voltageV = config.site.voltage;
  const toPlant = (node: CircuitNode): PlantCircuit => ({ id: node.id, maxCurrentA: node.maxCurrentA, chargerIds: [...node.chargerIds], children: node.children.map(toPlant) });
  const circuit = toPlant(params.circuit);

  const chargers: PlantChargerSpec[] = config.chargers.map((c) => ({
    id: c.id,
    connectors: c.connectors,
    maxCurrentA: c.maxCurrent,
    phases: c.phases,
    phaseRotation: c.phaseRotation,
    // A single-phase charger between two lines (a 208 V charger on a 120/208 V service).
    ...(c.phases === 1 && c.connection ? { connection: c.connection } : {}),
    answerDelayMs: Math.round(random.between(100, 400)),
    applyDelayMs: Math.round(random.between(...timing.applyDelayMs)),
    meterValuesPeriodMs: random.pick(timing.meterValuesPeriodsMs),
    meterValuesDelayMs: Math.round(random.between(100, 500)),
    profiles: 'obeys',
    currentReporting: 'per-phase',
  }));
  const chargerById = new Map(config.chargers.map((c) => [c.id, c]));
  const cars: PlantCarSpec[] = sessions.map((s) => {
    const charger = chargerById.get(s.chargerId)!;
    const phases = charger.phases === 1 ? 1 : (s.phases ?? 3);
    let capacityWh = s.batteryWh ?? Math.max(DEFAULT_BATTERY_WH, s.energyWh / 0.9);
    let socPct = s.socPct ?? Math.max(0, 90 - (100 * s.energyWh) / capacityWh);
    socPct = Math.min(99, socPct);
    // The car wants exactly the session's energy: it is full at soc + need.
    if (socPct + (100 * s.energyWh) / capacityWh > 100) capacityWh = (100 * s.energyWh) / (100 - socPct);
    return {
      id: s.id,
      idTag: s.idTag,
      chargerId: s.chargerId,
      connectorId: s.connectorId,
      arriveAtMs: s.arrivalMs - startAtMs,
      leaveAtMs: s.departureMs - startAtMs,
      // Power per amp: voltage × phases, or the line-to-line voltage (√3 × voltageV) between two lines.
      maxCurrentA: s.maxPowerW / (voltageV * (phases === 1 ? powerWeightOf(charger) : phases)),
      phases,
      responseDelayMs: Math.round(random.between(...timing.carResponseMs)),
      rampUpAps: Math.round(random.between(...timing.rampUpAps)),
      wholeAmps: true,
      capacityWh,
      socPct,
      targetSocPct: Math.min(100, socPct + (100 * s.energyWh) / capacityWh),
      taperFromPct: 80,
      drawFactor: 1,
    };
  });

  const meters: PlantMeterSpec[] = [];
  if (config.grid.meter) meters.push({ id: config.grid.meter, circuitId: circuit.id, periodMs: timing.meterPeriodMs, delayMs: Math.round(random.between(50, 300)) });
  const visit = (nodes: Config['circuits']) => {
    for (const node of nodes) {
      if (node.meter) meters.push({ id: node.meter, circuitId: node.id, periodMs: timing.meterPeriodMs, delayMs: Math.round(random.between(50, 300)) });
      visit(node.children ?? []);
    }
  };
  visit(config.circuits);

  // PV that can export needs a PV device (or an export cap) the EMS knows of; otherwise it is behind
  // the building's own consumption (a zero-export inverter) and only lowers the building load.
  const pvOnItsOwn = config.grid.maxExportPower !== undefined || config.devices.some((d) => d.role === 'pv');
  const endMs = lastMs - startAtMs + 5_000;
  const buildingSteps: { atMs: number; currentA: Triple }[] = [];
  const pvCurve: { atMs: number; powerW: number }[] = [];
  let lastA = Number.NaN;
  let lastPvW = Number.NaN;
  const servedBuildingW: number[] = [];
  const servedPvW: number[] = [];
  for (let t = 0; t <= endMs; t += TRUTH_SAMPLE_MS) {
    const wall = startAtMs + t;
    const buildingW = truth.buildingW(wall);
    const pvW = truth.pvW(wall);
    const netW = pvOnItsOwn ? buildingW : Math.max(0, buildingW - pvW);
    const a = Math.round((netW / (3 * voltageV)) * 100) / 100;
    servedBuildingW.push(a * 3 * voltageV);
    servedPvW.push(Math.round(pvW));
    if (a !== lastA) buildingSteps.push({ atMs: t, currentA: [a, a, a] });
    lastA = a;
    if (pvOnItsOwn && Math.round(pvW) !== lastPvW) pvCurve.push({ atMs: t, powerW: Math.round(pvW) });
    lastPvW = Math.round(pvW);
  }
  const first = buildingSteps.shift();
  const load: PlantLoad = { circuitId: circuit.id, baseA: first?.currentA ?? [0, 0, 0], steps: buildingSteps };
  const scenario: PlantScenario = {
    name: config.site.name.slice(0, 60) || 'replay',
    seed,
    startAtMs,
    utcOffsetH: 0,
    durationMs: endMs,
    voltageV,
    circuit,
    loads: [load],
    ...(pvOnItsOwn && pvCurve.length ? { pv: { peakW: Math.max(...pvCurve.map((p) => p.powerW)), curve: pvCurve } } : {}),
    meters,
    chargers,
    cars,
    signals: [],
  };
  const served = (wallMs: number) => {
    const i = Math.min(servedBuildingW.length - 1, Math.max(0, Math.floor((wallMs - startAtMs) / TRUTH_SAMPLE_MS)));
    return { buildingW: servedBuildingW[i]!, pvW: pvOnItsOwn ? servedPvW[i]! : undefined };
  };
  return { scenario, startAtMs, pvOnItsOwn, served };
}
