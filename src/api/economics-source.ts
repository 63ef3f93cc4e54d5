// What the API reads from the tariff service and the planner. Declared here, structurally, so
// src/api depends on no other feature folder's code; src/app.ts hands the real services in.

/** Today's figures so far (local day) and the billing month's demand peak. */
export interface KpiFigures {
  sinceMs: number;
  currency: string;
  peakW: number;
  energyCost: number;
  demandCharge: number;
  totalCost: number;
  energyRequestedWh: number;
  energyDeliveredWh: number;
  unmetWh: number;
  sessionSuccessRate: number;
  renewableShare: number;
  utilization: number;
  limitViolations: number;
  costPerKWh: number;
  evEnergyWh: number;
  gridImportWh: number;
  gridExportWh: number;
  carbonKg: number;
  sessions: number;
  monthPeakW: number;
  monthDemandCharge: number;
}

export interface PriceFigures {
  atMs: number;
  currency: string;
  importPricePerKWh: number;
  exportPricePerKWh: number;
  carbonGPerKWh: number;
  demandChargePerKW: number;
}

/** Energy and cost of one charging session (running or ended). */
export interface BillFigures {
  chargerId: string;
  connectorId: number;
  transactionId: number;
  idTag: string;
  tier: string;
  startedAtMs: number;
  endedAtMs?: number;
  energyWh: number;
  cost: number;
  currency: string;
  carbonG: number;
}

/** The tariff side: KPIs, prices and per-session bills. */
export interface EconomicsSource {
  kpis(): KpiFigures;
  prices(atMs?: number): PriceFigures;
  /** Running and recent ended bills, newest first. */
  sessionBills(limit?: number): BillFigures[];
  /** The running bill of the session on a connector. */
  sessionBill(chargerId: string, connectorId: number): BillFigures | undefined;
}

export interface PlanFigures {
  startMs: number;
  slotMs: number;
  slotCount: number;
  status: string;
  sessions: readonly { key: string; steer: boolean; powerW: readonly number[]; plannedWh: number; unmetWh: number }[];
  gridW: readonly number[];
  batteryW: readonly number[];
  peakW: number;
  energyCost: number;
  demandCharge: number;
  unmetPenalty: number;
  overloadWh: number;
}

export interface PlanStatusFigures {
  enabled: boolean;
  solver: string;
  plans: number;
  failures: number;
  lastPlanAtMs?: number;
  lastSolveMs?: number;
  lastError?: string;
}

/** The horizon planner: its status and the plan in force. */
export interface PlanSource {
  currentPlan(): PlanFigures | undefined;
  status(): PlanStatusFigures;
}
