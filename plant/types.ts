// The site plant's scenario: data only, so a case can be generated, saved as JSON, and replayed.
// Every `atMs` in a scenario is milliseconds since the scenario started (plant time).

/** One value per site phase conductor L1..L3 (or per charger terminal where said). */
export type Triple = [number, number, number];

export type PhaseRotation = 'L1L2L3' | 'L2L3L1' | 'L3L1L2' | 'L1L3L2' | 'L2L1L3' | 'L3L2L1';

/** The two site lines a single-phase charger is wired between (a 208 V charger on a 120/208 V service). */
export type LineConnection = 'L1-L2' | 'L2-L3' | 'L3-L1';

export interface PlantCircuit {
  id: string;
  /** Fuse, A per phase (the true limit the plant measures against; no safety margin). */
  maxCurrentA: number;
  chargerIds: string[];
  children: PlantCircuit[];
}

/** Non-EV load on one circuit node (and so on every node above it), A per site phase. */
export interface PlantLoad {
  circuitId: string;
  baseA: Triple;
  /** From `atMs` on, the load is `currentA` (a compressor, a kitchen, a lift): an outside change. Sorted by atMs. */
  steps?: { atMs: number; currentA: Triple }[];
  /** Office-day curve on top of the base: + peakA × sin over 06:00..20:00 local. */
  dailyPeakA?: Triple;
  /** Seeded noise, ± A, redrawn every `noisePeriodMs` (default 5 s). */
  noiseA?: number;
  noisePeriodMs?: number;
}

export interface PlantPv {
  /** Balanced over three phases at the connection point. */
  peakW: number;
  /** Passing clouds: output swings by up to this fraction (0..0.8), seeded. */
  cloudDepth?: number;
  /**
   * A recorded or replayed output instead of the sine: from each `atMs` (plant time, sorted) on, the
   * panels can produce `powerW` (each change is an outside 'pv-swing'). peakW is then only a label.
   */
  curve?: { atMs: number; powerW: number }[];
}

export interface PlantBattery {
  capacityWh: number;
  maxPowerW: number;
  socPct: number;
  minSocPct: number;
  maxSocPct: number;
  /** Without a setpoint in force the battery shaves import above this, W (and soaks up surplus). */
  peakShaveAboveW?: number;
  /** A setpoint holds this long after it was written, ms (default 90 s). */
  setpointHoldMs?: number;
}

/** A meter on a circuit node: reads the node's true total with its own period and delay. */
export interface PlantMeterSpec {
  id: string;
  circuitId: string;
  /** Time between two readings, ms (Modbus register refresh or MQTT publish). */
  periodMs: number;
  /** From measurement to delivery at the EMS, ms. */
  delayMs: number;
  /** Faults: a reading is value × scale + offsetA (scale 0.01: a scale factor off by 100). */
  scale?: number;
  offsetA?: Triple;
  /** A meter stuck at a fixed value (e.g. [-300, -300, -300]). */
  fixedA?: Triple;
  /** Fraction of readings lost, 0..1. */
  lossRate?: number;
  /** Reads true current at each reading's moment ± this fraction of noise (seeded). */
  noiseFraction?: number;
}

export type ProfileBehaviour = 'obeys' | 'refuses' | 'ignores';

/**
 * How a charger answers TriggerMessage MeterValues (plant.md: widely, not universally supported):
 * `accepts` (then sends one sample of the connector shortly after its answer), `rejects`,
 * `not-implemented`, or `silent` (never answers; the EMS's call times out).
 */
export type TriggerBehaviour = 'accepts' | 'rejects' | 'not-implemented' | 'silent';

/** How a charger reports current in MeterValues. */
export type CurrentReporting = 'per-phase' | 'sum-of-phases' | 'none';

export interface PlantChargerSpec {
  id: string;
  connectors: number;
  /** A per phase per connector: the charger's own hardware max. */
  maxCurrentA: number;
  phases: 1 | 3;
  phaseRotation: PhaseRotation;
  /**
   * A single-phase charger (phases 1) wired between two site lines instead of line and neutral: its
   * current I flows out on the first line and back on the second at the line-to-line voltage
   * (√3 × voltageV), and each line's current is the phasor sum of every load on it. phaseRotation
   * does not apply. The charger reports its one current on its L1 terminal (OCPP Current.Import)
   * and Power.Active.Import at the line-to-line voltage.
   */
  connection?: LineConnection;
  /** SetChargingProfile answered after this, ms. */
  answerDelayMs: number;
  /** A profile takes effect this long after it arrives, ms (0.2..5 s on real chargers). */
  applyDelayMs: number;
  /** MeterValues period, ms, whatever MeterValueSampleInterval asks (10..60 s on real chargers). */
  meterValuesPeriodMs: number;
  /** From sampling to delivery, ms. */
  meterValuesDelayMs: number;
  /** Fraction of MeterValues lost, 0..1. */
  meterValuesLossRate?: number;
  profiles: ProfileBehaviour;
  currentReporting: CurrentReporting;
  /** TriggerMessage MeterValues (default `accepts`); answered after answerDelayMs like any call. */
  triggerMessage?: TriggerBehaviour;
  /** Network drop-outs: disconnected from `fromMs` to `toMs`; meter values queue and arrive in a burst. */
  offline?: { fromMs: number; toMs: number }[];
}

export interface PlantCarSpec {
  id: string;
  idTag: string;
  chargerId: string;
  connectorId: number;
  arriveAtMs: number;
  /** Unplugs here; undefined = stays. */
  leaveAtMs?: number;
  /** Onboard charger limit, A per phase. */
  maxCurrentA: number;
  /** Phases the car draws on: 1 = the charger's L1, 2 = L1 and L2, 3 = all. */
  phases: 1 | 2 | 3;
  /** A new pilot limit is followed this long after the charger applies it, ms (≤ 5 s by IEC 61851-1). */
  responseDelayMs: number;
  /** Increase ramp, A/s. */
  rampUpAps: number;
  /** The car rounds its target down to whole amps. */
  wholeAmps: boolean;
  capacityWh: number;
  socPct: number;
  /** Full (draw 0, SuspendedEV) at this state of charge. */
  targetSocPct: number;
  /** Current falls linearly from here to a few amps at 100 %. */
  taperFromPct: number;
  /** Draws this fraction of what it could (battery temperature, a lazy onboard charger), 0..1. */
  drawFactor: number;
  /** A full car starts again here (preconditioning, top-up) and wants `wakeEnergyWh` more. */
  wakeAtMs?: number;
  wakeEnergyWh?: number;
}

/** A limit from outside the site (operator, OpenADR, DSO) the EMS is told about and the plant measures against. */
export interface PlantSignal {
  id: string;
  kind: 'import-limit';
  fromMs: number;
  toMs: number;
  valueW: number;
}

export interface PlantScenario {
  name: string;
  seed: number;
  /** Wall-clock time (epoch ms) of plant time 0: sets time of day for PV and daily curves. */
  startAtMs: number;
  /** Hours to add to UTC for local time. */
  utcOffsetH: number;
  durationMs: number;
  voltageV: number;
  /** The fuse tree; the root is the connection point. */
  circuit: PlantCircuit;
  loads: PlantLoad[];
  pv?: PlantPv;
  battery?: PlantBattery;
  meters: PlantMeterSpec[];
  chargers: PlantChargerSpec[];
  cars: PlantCarSpec[];
  signals: PlantSignal[];
}
