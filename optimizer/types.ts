// The optimizer's domain. Pure data: no wire formats, no clocks. Time arrives as `atMs` fields.

export const PHASES = ['L1', 'L2', 'L3'] as const;
export type Phase = (typeof PHASES)[number];
/** One value per site phase conductor, L1..L3. */
export type PhaseValues = readonly [number, number, number];

export type PriorityScheme = 'fcfs' | 'departure' | 'soc' | 'tier' | 'equal';

/** How a charger's own L1, L2, L3 terminals land on the site's conductors. */
export type PhaseRotation = 'L1L2L3' | 'L2L3L1' | 'L3L1L2' | 'L1L3L2' | 'L2L1L3' | 'L3L2L1';

/** A single-phase charger wired between two lines (e.g. 208 V on a 120/208 V service). */
export type LineConnection = 'L1-L2' | 'L2-L3' | 'L3-L1';

export interface CircuitNode {
  id: string;
  /** A per phase, before the safety margin. */
  maxCurrentA: number;
  /** Chargers fed directly by this node (not via children). */
  chargerIds: readonly string[];
  children: readonly CircuitNode[];
}

export interface ChargerParams {
  id: string;
  connectorCount: number;
  /** A per phase, per connector; the charger as a whole is bounded by its circuit. */
  maxCurrentA: number;
  minCurrentA: number;
  phases: 1 | 3;
  phaseRotation: PhaseRotation;
  /** Id of the circuit node that feeds the charger (the root when the config names none). */
  circuitId: string;
  /**
   * Single-phase chargers only: wired line-to-line instead of line-to-neutral (phaseRotation is then
   * ignored). Its current flows in both lines; its power is current × √3 × voltageV.
   */
  connection?: LineConnection;
}

export interface DecideParams {
  voltageV: number;
  grid: {
    /** Main fuse, A per phase. */
    maxCurrentA: number;
    maxImportPowerW?: number;
    maxExportPowerW?: number;
    /** Fraction of every limit kept in reserve, 0..0.5. */
    safetyMargin: number;
    /** True when a grid meter measures the connection point (dynamic balancing). */
    metered: boolean;
  };
  /** The fuse tree; its root is the connection point's main distribution. */
  circuit: CircuitNode;
  chargers: readonly ChargerParams[];
  priority: PriorityScheme;
  deadbandA: number;
  minPauseMs: number;
  staleAfterMs: number;
  /**
   * How long a charger's measured draw counts, ms (default staleAfterMs). Keep it above the
   * MeterValues sample interval: a draw that lapses between two samples is no longer subtracted
   * from the building load, which then looks higher and cuts every cap for one cycle.
   */
  drawStaleAfterMs?: number;
  failsafeCurrentA: number;
  /** A car must draw below its cap this long before the unused part is lent to others. */
  unusedHoldMs: number;
  /** Kept above a car's measured draw so it can ramp back up. */
  rampReserveA: number;
  /**
   * How long a car may take to follow a lower limit, ms (default 5000, IEC 61851-1). Until then
   * the car may still draw its old cap: that much stays reserved, and a meter reading taken in
   * that window may contain it.
   */
  carResponseMs?: number;
}

export type ConnectorStatus =
  | 'Available'
  | 'Preparing'
  | 'Charging'
  | 'SuspendedEVSE'
  | 'SuspendedEV'
  | 'Finishing'
  | 'Reserved'
  | 'Unavailable'
  | 'Faulted'
  | 'Offline';

export interface SessionSnapshot {
  id: string;
  startedAtMs: number;
  departureAtMs?: number;
  /** Delivered so far. */
  energyWh: number;
  energyNeedWh?: number;
  /** State of charge, percent 0..100. */
  socPct?: number;
  /** Higher is more important (from control.tiers). */
  tierRank: number;
  /** Operator pause: cap 0 until resumed. */
  paused: boolean;
  /** Phases the car actually draws on (1 for a single-phase car on a 3-phase charger). */
  carPhases?: 1 | 3;
  /** Per-phase ceiling the car itself accepts, when known. */
  carMaxCurrentA?: number;
  /** Desired power from the horizon planner; decide() treats it as a ceiling. */
  targetPowerW?: number;
}

export interface ConnectorSnapshot {
  chargerId: string;
  connectorId: number;
  status: ConnectorStatus;
  session: SessionSnapshot | null;
  /** Measured draw per charger phase (the charger's own L1..L3), A. */
  drawA: PhaseValues;
  drawAtMs?: number;
  /**
   * Current this connector may draw no matter what we decide now, A per phase: its full max when
   * the charger rejects or ignores profiles, its old cap while a decrease is unconfirmed, its last
   * cap while a charger that dropped mid-session is within its hold time. Undefined = none.
   */
  reservedA?: number;
  /** The cap the charger has confirmed, A per phase; undefined before the first one. */
  installedCapA?: number;
}

export interface GridMeasurement {
  atMs: number;
  /** Per-phase current at the connection point, A; positive = import. */
  currentA: PhaseValues;
  /** Total active power, W; positive = import. */
  powerW: number;
}

export interface SiteSnapshot {
  atMs: number;
  /** Null when there is no grid meter or it never answered. */
  grid: GridMeasurement | null;
  /** Measured loads (submeters) per circuit node, A per site phase, positive = consumption. */
  circuitLoads: readonly { circuitId: string; atMs: number; currentA: PhaseValues }[];
  pvPowerW?: number;
  batteryPowerW?: number;
  batterySocPct?: number;
  connectors: readonly ConnectorSnapshot[];
  /** Strictest active grid-signal limits (OpenADR, operator), W. */
  signals: { importLimitW?: number; exportLimitW?: number };
}

export type CapReason =
  | { kind: 'idle'; text: string }
  | { kind: 'paused'; text: string; until?: number }
  | { kind: 'charger'; text: string }
  | { kind: 'car'; text: string }
  | { kind: 'circuit'; text: string; circuitId: string; phase: Phase }
  | { kind: 'grid-power'; text: string }
  | { kind: 'signal'; text: string }
  | { kind: 'scarcity'; text: string; rank: number; of: number }
  | { kind: 'plan'; text: string }
  | { kind: 'failsafe'; text: string }
  | { kind: 'reserved'; text: string }
  | { kind: 'hysteresis'; text: string };

export interface ConnectorCap {
  chargerId: string;
  connectorId: number;
  /** A per phase; 0 = paused / no charging. */
  currentA: number;
  phases: 1 | 3;
  reason: CapReason;
  /** Position in the priority order, 1-based; undefined for connectors without a session. */
  rank?: number;
}

export interface HeadroomReport {
  /** Site-level limit per phase after margin, A. */
  limitA: PhaseValues;
  /** What is left at the connection point after all caps, A per phase. */
  headroomA: PhaseValues;
  /** Non-EV load at the connection point per phase, A (measured or assumed). */
  buildingA: PhaseValues;
}

export interface ConnectorMemory {
  currentA: number;
  changedAtMs: number;
  pausedSinceMs?: number;
  /** Since when the car has drawn clearly less than its cap. */
  underDrawSinceMs?: number;
  /** True while the unused part of this car's share is lent to others. */
  lending?: boolean;
  /** The session this memory belongs to; a new session starts without hysteresis history. */
  sessionId?: string;
}

export interface DecideState {
  connectors: Readonly<Record<string, ConnectorMemory>>;
}

export interface Decision {
  atMs: number;
  caps: ConnectorCap[];
  nextState: DecideState;
  /** True when site data was stale and the failsafe applied. */
  failsafe: boolean;
  headroom: HeadroomReport;
}

export const initialDecideState: DecideState = { connectors: {} };

export const connectorKey = (chargerId: string, connectorId: number): string => `${chargerId}/${connectorId}`;
