// The horizon planner's domain: what it is given (per slot series, sessions) and what it returns.

export interface PlanSession {
  /** `${chargerId}/${connectorId}` for live sessions; any unique id in replay. */
  key: string;
  /** When the car is (or will be) plugged in; at or before the horizon start for present cars. */
  arrivalAtMs: number;
  departureAtMs: number;
  /** Energy still wanted by departure, Wh. */
  energyNeedWh: number;
  maxPowerW: number;
  /** Higher is shorted last; 1 = lowest. From the site's priority scheme. */
  priorityWeight: number;
  /** False: planned as load only (e.g. unknown departure, charging as soon as possible), no target. */
  steer?: boolean;
  /** maxPowerW is the assumption for a car not yet seen above it; the charger could give more. */
  maxAssumed?: boolean;
}

export interface PlanBattery {
  capacityWh: number;
  /** Energy stored now, Wh. */
  energyWh: number;
  minEnergyWh: number;
  maxEnergyWh: number;
  maxChargeW: number;
  maxDischargeW: number;
  /** One-way efficiency, 0..1. */
  efficiency: number;
}

/** A fuse in the tree below the connection point: per-phase current of the sessions it feeds. */
export interface PlanCircuit {
  id: string;
  /** A per phase, after the safety margin. */
  maxCurrentA: number;
  /**
   * Sessions fed through it: which site phases they load (bit 0 = L1) and the power per amp in
   * units of the line-to-neutral voltage (1, 3, or √3 for a line-to-line charger, whose current
   * counts in full on both its lines).
   */
  loads: readonly { key: string; phaseMask: number; powerWeight: number }[];
  /** Per slot, A per phase already taken by non-EV load (the connection point's base load). */
  reservedA?: readonly number[];
}

export interface PlanInput {
  startMs: number;
  slotMs: number;
  slotCount: number;
  /** One value per slot. */
  importPricePerKWh: readonly number[];
  exportPricePerKWh: readonly number[];
  carbonGPerKWh?: readonly number[];
  /** Non-EV consumption forecast per slot, W. */
  baseLoadW: readonly number[];
  pvW: readonly number[];
  /** Import cap per slot (connection point, grid signals), W, already net of the safety margin. */
  importLimitW: readonly number[];
  /** Export cap per slot, W; Infinity when none. */
  exportLimitW?: readonly number[];
  /** Currency per kW of the billing month's peak. */
  demandChargePerKW: number;
  /** The month's billed peak so far, W: raising the peak above it is what costs. */
  peakSoFarW: number;
  carbonPricePerKg: number;
  unmetPenaltyPerKWh: number;
  battery?: PlanBattery;
  /** Fuses below the connection point (the connection point itself is importLimitW). */
  circuits?: readonly PlanCircuit[];
  /** Phase-to-neutral voltage, for circuit currents. */
  voltageV?: number;
  /** Share a shortfall evenly (priority scheme 'equal') instead of by priority weight. */
  fairShortfall?: boolean;
  sessions: readonly PlanSession[];
}

export interface SessionPlan {
  key: string;
  steer: boolean;
  /** The max power the plan assumed for the car, W. */
  maxPowerW?: number;
  /** Its PlanSession.priorityWeight (higher is shorted last). */
  priorityWeight?: number;
  /** Its PlanSession.maxAssumed: the car may be faster than maxPowerW. */
  maxAssumed?: boolean;
  /** Planned average power per slot, W. */
  powerW: number[];
  /**
   * Per slot, the share of it the car is plugged in as planned (arrival, and departure less its
   * margin; 1 = the whole slot); absent: 1 throughout. powerW[t] / presence[t] is its power while there.
   */
  presence?: number[];
  plannedWh: number;
  unmetWh: number;
}

export type PlanStatus = 'optimal' | 'infeasible' | 'time-limit' | 'error' | 'empty';

export interface Plan {
  startMs: number;
  slotMs: number;
  slotCount: number;
  status: PlanStatus;
  sessions: SessionPlan[];
  /** Planned grid import per slot, W (negative = export). */
  gridW: number[];
  /**
   * Import capacity the plan leaves unused per slot, W (the import limit less gridW, at least 0):
   * what rounding a small target up to a car's minimum may take without taking it from another car.
   */
  headroomW?: number[];
  batteryW: number[];
  peakW: number;
  /** Objective terms, currency. */
  energyCost: number;
  demandCharge: number;
  unmetPenalty: number;
  objective: number;
  /** Import beyond the limit the plan could not avoid (base load alone above it), Wh. */
  overloadWh: number;
  detail?: string;
}
