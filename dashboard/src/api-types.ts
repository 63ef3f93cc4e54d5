// What the dashboard reads from the EMS API (DESIGN.md "external contract"). The server may send
// more fields; the pages read only these and tolerate absent optional ones.

export type Role = 'viewer' | 'operator' | 'admin';

export type ReasonView = string | { kind?: string; text: string; rank?: number; of?: number };

export interface SessionView {
  idTag: string;
  /** The tag's configured name ("Bus 12"). */
  name?: string | null;
  tier: string;
  /** fast | minpv | pv; null without solar charging. */
  chargeMode?: string | null;
  startedAt: string | null;
  departure: string | null;
  energyWh: number;
  energyNeedWh: number | null;
  soc: number | null;
  paused?: boolean;
  /** Cost so far at the import prices in force; null/absent without the tariff service. */
  cost?: number | null;
  currency?: string | null;
}

export interface ConnectorView {
  chargerId: string;
  connectorId: number;
  status: string;
  capA: number | null;
  /** A per phase, or a single figure (the highest phase). */
  drawA: number[] | number;
  phases: number;
  /** The charger's max current, A per phase (config). */
  maxCurrentA?: number | null;
  reason: ReasonView | null;
  /** The reason's kind ('plan', 'scarcity', 'circuit', …). */
  reasonKind?: string | null;
  rank?: number | null;
  powerW?: number | null;
  /** Whether the charger is connected over OCPP. */
  online?: boolean;
  errorCode?: string | null;
  /** The last limit sent to the charger and whether it took it. */
  profile?: { state: string; capA: number; at: string | null } | null;
  session: SessionView | null;
  /** What the horizon planner intends for the session (null/absent without a plan for it). */
  plan?: PlanOutlookView | null;
}

export interface PlanOutlookView {
  /** First slot from now on in which the plan charges the car; null: not within its horizon. */
  chargesFrom: string | null;
  /** End of the last planned slot, when the plan meets the energy need. */
  readyBy: string | null;
  /** Energy need the plan leaves unmet, Wh. */
  shortWh: number;
  /** Why later rather than now. */
  because: 'cheaper' | 'solar' | null;
}

export interface SiteView {
  gridCurrentA: number[] | null;
  gridPowerW: number | null;
  buildingPowerW: number | null;
  pvPowerW: number | null;
  batteryPowerW: number | null;
  batterySoc: number | null;
  headroomA: number[] | null;
  /** Import-power room at the connection point, W (when the optimizer reports it). */
  headroomW?: number | null;
  /** The limit that leaves the least room. */
  binding?: { kind: string; id?: string; phase?: string; text: string } | null;
  /** Configured tiers, highest priority first. */
  tiers?: string[];
  limitA: number[] | null;
  failsafe: boolean;
  evPowerW?: number | null;
  /** The import limit in W (grid.maxPower or a grid signal), when there is one. */
  limitPowerW?: number | null;
  voltage?: number;
  name?: string;
  /** The site's IANA time zone: every time on the page is shown in it. */
  timezone?: string;
}

export interface DeviceView {
  id: string;
  role: string;
  health: string;
  lastReadingAt: string | null;
  lastError: string | null;
}

export interface SignalView {
  id: string;
  source: string;
  kind: string;
  start?: string;
  end?: string;
  startMs?: number;
  endMs?: number;
  value: number;
  text?: string;
}

export interface StateView {
  at?: string;
  site: SiteView;
  connectors: ConnectorView[];
  devices: DeviceView[];
  signals: SignalView[];
}

export interface LoginResult {
  token: string;
  role: Role;
  username?: string;
}

/** A field-level problem the API reports on a 4xx: `path` is dotted (`grid.maxCurrent`). */
export interface FieldIssue {
  path: string;
  message: string;
  /** 1-based line in the config YAML, when the server knows it. */
  line?: number;
}

export interface AuditEntry {
  at: string;
  user: string;
  action: string;
  target?: string;
  before?: unknown;
  after?: unknown;
}

export interface HistoryPoint {
  atMs: number;
  gridPowerW: number | null;
  pvPowerW: number | null;
  batteryPowerW: number | null;
  evPowerW: number | null;
  limitW: number | null;
  buildingPowerW: number | null;
  /** Grid current per site phase, A. */
  gridL1A: number | null;
  gridL2A: number | null;
  gridL3A: number | null;
  /** How many recorded samples the point is the mean of (absent from older EMS versions). */
  samples: number | null;
  /** Mean grid import and export over the interval, W, split per sample (absent from older EMS versions). */
  gridImportW?: number | null;
  gridExportW?: number | null;
  /** Grid import and export energy of the interval, Wh: the same summed at every resolution. */
  gridImportWh?: number | null;
  gridExportWh?: number | null;
  /** Samples recorded before the EMS split import and export (their minute's net mean; both may be low). */
  gridNettedSamples?: number | null;
}

/** One connector over one interval of GET /api/v1/history/connectors. */
export interface ConnectorHistoryPoint {
  atMs: number;
  energyWh: number;
  powerW: number;
  currentA: [number, number, number];
  capA: number;
}

export interface ConnectorHistoryView {
  resolution: '1m' | '15m';
  connectors: { chargerId: string; connectorId: number; energyWh: number; points: ConnectorHistoryPoint[] }[];
}

export interface SessionRecord {
  id: string;
  chargerId: string;
  connectorId: number;
  idTag: string;
  name: string | null;
  tier: string | null;
  startedAt: string;
  endedAt: string | null;
  energyWh: number;
  cost: number | null;
  currency: string | null;
}

export interface SessionPatch {
  departure?: string | null;
  energyNeedWh?: number | null;
  tier?: string;
  paused?: boolean;
  chargeMode?: 'fast' | 'minpv' | 'pv';
}

/** GET /api/v1/kpis: today's figures so far (local day), the month's demand peak, prices now. */
export interface KpisView {
  at: string;
  since: string;
  currency: string;
  today: {
    evEnergyWh: number;
    energyDeliveredWh: number;
    gridImportWh: number;
    gridExportWh: number;
    energyCost: number;
    costPerKWh: number;
    peakW: number;
    peakAt?: string | null;
    renewableShare: number;
    utilization: number;
    sessions: number;
    sessionSuccessRate: number;
    unmetWh: number;
  };
  month: { peakW: number; peakAt?: string | null; demandCharge: number; demandChargePerKW: number };
  prices: { importPerKWh: number; exportPerKWh: number; carbonGPerKWh: number };
}

/** GET /api/v1/plan: the planner's status and the plan in force from the current slot on. */
export interface PlanView {
  enabled: boolean;
  solver?: string;
  lastPlanAt?: string | null;
  lastError?: string | null;
  plan?: {
    start: string;
    slotMs: number;
    status: string;
    peakW: number;
    energyCost: number;
    slots: { start: string; gridW: number; batteryW: number | null; importPricePerKWh: number | null; pvW: number | null; limitW: number | null }[];
    sessions: {
      chargerId: string;
      connectorId: number | null;
      steer: boolean;
      idTag: string | null;
      name: string | null;
      departure: string | null;
      energyNeedWh: number | null;
      plannedWh: number;
      unmetWh: number;
      readyByDeparture: boolean | null;
      powerW: number[];
    }[];
  } | null;
}
