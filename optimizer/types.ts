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
    /**
     * False when nothing on site can push power out (no PV, no battery, no export cap): a negative
     * import or a reading below the cars' draw is then implausible. Default true.
     */
    canExport?: boolean;
    /**
     * The meter plausibility gate (optimizer/meter-plausibility.ts): a meter that read below the
     * chargers' measured draw, or stood still while it moved, stays suspect until it shows the cars'
     * draw again, and one not yet confirmed (too small a reading to tell from a scale factor off by
     * 100) is not trusted with sessions present. Suspect or unconfirmed: the failsafe. Default off
     * (one reading judged alone); the configured EMS turns it on.
     */
    meterGate?: boolean;
  };
  /** The fuse tree; its root is the connection point's main distribution. */
  circuit: CircuitNode;
  chargers: readonly ChargerParams[];
  priority: PriorityScheme;
  deadbandA: number;
  /**
   * Cap hysteresis in time, ms (0 or absent: off). A session's cap is not raised within this long
   * of its last change, and a decrease that no limit needs (the pool still has room for the old
   * cap) is not made; a needed one is made at once, by at least deadbandA.
   */
  capHoldMs?: number;
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
  /** A building-load reading holds the estimate up this long after a lower one, ms (default 5000). */
  buildingHoldMs?: number;
  /** A car that draws ≈ 0 or reports SuspendedEV this long gives its share to others, ms (default 20000). */
  idleReleaseMs?: number;
  /** A released car is offered its minimum every probeEveryMs for probeForMs (defaults 300000 / 60000). */
  probeEveryMs?: number;
  probeForMs?: number;
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
  /**
   * The car was seen drawing whole amps (floor of its cap, car-max-learner.ts): decide() gives it
   * whole amps, and what a fraction would have wasted goes to another car.
   */
  wholeAmps?: boolean;
}

export interface ConnectorSnapshot {
  chargerId: string;
  connectorId: number;
  status: ConnectorStatus;
  /** When the charger reported `status` (its own clock, like drawAtMs); undefined when unknown. */
  statusAtMs?: number;
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
  /**
   * False while the charger is disconnected (its last status and samples are all there is). Its
   * last sample then stays subtracted from the grid reading while its capacity is held, so its
   * draw is not counted twice (as reservation and as building load). Undefined = online.
   */
  online?: boolean;
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

export type BindingKind = 'circuit' | 'grid-current' | 'grid-power' | 'signal' | 'none';

export interface HeadroomReport {
  /** Site-level limit per phase after margin, A. */
  limitA: PhaseValues;
  /**
   * What is left at the connection point after all caps, A per phase: the tightest of every limit
   * there (the fuse, grid.maxPower and grid signals converted to A per phase, three-phase).
   */
  headroomA: PhaseValues;
  /** Non-EV load at the connection point per phase, A (estimated on the safe side). */
  buildingA: PhaseValues;
  /** Import power still free under the strictest power limit (grid.maxPower, signals), W; absent when none applies. */
  headroomW?: number;
  /** The limit that leaves the least headroom. */
  binding: { kind: BindingKind; id?: string; phase?: Phase; text: string };
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
  /** The cap was last changed by the failsafe (not by an estimate that may wobble back): a raise after it is not held. */
  byFailsafe?: boolean;
  /** Since when every cycle wanted a raise of this cap smaller than the deadband (see holdSmallIncreases). */
  smallRaiseSinceMs?: number;
  /** When this session last restarted before its minimum pause was over (pause-recheck.ts): once per EARLY_RESTART_EVERY_MS. */
  earlyRestartAtMs?: number;
  /**
   * When the car last had to ramp to its cap (the cap's last raise), when that was before the last
   * change (the change was a decrease): a car draws no less than a lower cap because of the cut, so
   * a sample clearly under it is settled as it was under the higher cap (unused-capacity.ts).
   */
  rampFromMs?: number;
}

/** What the estimator remembers about one connector (kept across sessions: the charger's history). */
export interface ConnectorEstimateMemory {
  /**
   * The most the car may draw, A per phase, as flat [fromMs, A] pairs, oldest first: the highest of
   * the cap decided, the cap the charger confirmed and any reservation, from the cycle it was set.
   */
  bounds: readonly number[];
  /**
   * The cap decided each cycle, A, as flat [fromMs, A] pairs, oldest first (absent until the first
   * decision): the least the car may have been asked to follow. A cut that a raise replaced one
   * cycle later never shows in `bounds` (the charger still confirmed the older, higher limit), yet
   * it can reach the car, and a car sampled before it may draw less since.
   */
  lows?: readonly number[];
  /** Recent distinct draw samples as flat [atMs, L1, L2, L3] quadruples (charger phases), oldest first. */
  draws: readonly number[];
  /** The session the fields below belong to. */
  sessionId?: string;
  /** Site phases the car was measured drawing on this session (bit p = site phase p); 0 or absent = not learned. */
  mask?: number;
  /** Since when the car has drawn ≈ 0 while offered its minimum, or reported SuspendedEV. */
  idleSinceMs?: number;
  /** Set while the car is treated as full: its share goes to others. */
  releasedAtMs?: number;
  /** Start of the current probe at the minimum while released. */
  probeAtMs?: number;
  /**
   * The charger's pilot was off (status SuspendedEVSE) this session: [fromMs] while it still says so,
   * [fromMs, untilMs] once it reported Charging at untilMs. The car drew nothing in between.
   */
  pilotOff?: readonly number[];
}

export interface EstimateMemory {
  connectors: Readonly<Record<string, ConnectorEstimateMemory>>;
  /**
   * Building load at the connection point from recent distinct grid readings, as flat
   * [gridAtMs, L1 A, L2 A, L3 A, W] quintuples, oldest first. The estimate is their maximum: it
   * rises at once and falls only when the higher readings have left the window.
   */
  building: readonly number[];
  /** The building level of the last reading (L1, L2, L3 A, W): it stays while the bracket allows. */
  level?: readonly number[];
  /** The grid reading that level was taken from: [atMs, L1 A, L2 A, L3 A, W]. */
  levelGrid?: readonly number[];
  /** The last grid reading that passed the plausibility checks. */
  lastGrid?: GridMeasurement;
  /** Since when the grid meter reads above the EMS's target (L1, L2, L3, W; NaN = not over), ms. */
  overSinceMs?: readonly number[];
  /** The grid meter's plausibility gate (optimizer/meter-plausibility.ts). */
  meterGate?: MeterGateMemory;
  /** The import power limit last seen, W (+∞ none), and when it last went down, ms: [W, droppedAtMs]. */
  importLimit?: readonly number[];
  /**
   * A recent grid reading whose rise the cars could have made at their fastest ramp but not at their
   * slowest, [atMs, L1 A, L2 A, L3 A, W]: their samples after it show how much of it was theirs;
   * then the part of the rises since that they could not have made at their slowest (L1, L2, L3 A,
   * W), building load after all if the meter reads above the EMS's target.
   */
  riseGrid?: readonly number[];
}

/** What the meter plausibility gate remembers between cycles. */
export interface MeterGateMemory {
  /** The meter has shown it reads at the right scale (it read more than a meter 100× too small could, or agreed with the chargers). */
  confirmed: boolean;
  /** The time of the last reading judged, ms. */
  lastAtMs: number;
  /** Why the meter is suspect, while it is (latched until the meter shows the cars' draw again). */
  suspect?: string;
  /** The value a meter suspected of being stuck stood at (it is trusted again once it moves). */
  stuckA?: readonly number[];
  /** The reading a still span started with: [atMs, L1, L2, L3]. */
  still?: readonly number[];
  /** Since when the readings are below the chargers' measured draw (suspect once it lasts). */
  belowSinceMs?: number;
}

export interface DecideState {
  connectors: Readonly<Record<string, ConnectorMemory>>;
  /** Estimation history (absent on the first cycle). */
  estimate?: EstimateMemory;
  /** Recent peaks of the non-EV load per constraint and power, for cap hysteresis (see sustained-raise.ts). */
  peaks?: number[];
}

/** Something the estimator does not trust (a charger that over-reports, an implausible grid reading). */
export interface Finding {
  /** Stable while the same fault lasts, so callers log it once when it starts and once when it clears. */
  key: string;
  text: string;
}

export interface Decision {
  atMs: number;
  caps: ConnectorCap[];
  nextState: DecideState;
  /** True when site data was stale and the failsafe applied. */
  failsafe: boolean;
  headroom: HeadroomReport;
  /** What the estimator distrusts this cycle (empty when every input is plausible). */
  findings?: Finding[];
  /** The site as decide() saw it: building load, EV power and limits, computed once per cycle. */
  site?: SiteSummary;
}

/** The derived site view's figures at the connection point, for storage control, the API and logs. */
export interface SiteSummary {
  atMs: number;
  /** Non-EV import at the connection point, W, estimated on the safe side (0 when unknown). */
  buildingPowerW: number;
  /** Estimated EV draw at the connection point, W and A per site phase. */
  evPowerW: number;
  evA: PhaseValues;
  /** Strictest import / export power limits in force (grid config and signals), W before the margin. */
  importLimitW?: number;
  exportLimitW?: number;
  /** Age of the grid reading used, ms; undefined when none. */
  gridAgeMs?: number;
  /** True when the grid reading was fresh and plausible. */
  gridTrusted: boolean;
}

export const initialDecideState: DecideState = { connectors: {} };

export const connectorKey = (chargerId: string, connectorId: number): string => `${chargerId}/${connectorId}`;
