// What the API reads from the tariff service and the planner; src/app.ts hands the real services
// in. Types only cross feature folders (the architecture test allows `import type`).
import type { Kpis } from '../../optimizer/kpi.ts';
import type { PlannerStatus } from '../planner/planner-service.ts';
import type { SessionBill } from '../tariffs/session-billing.ts';

/** Today's figures so far (local day) and the billing month's demand peak. */
export type KpiFigures = Kpis & { sinceMs: number; currency: string; monthPeakW: number; monthPeakAtMs?: number; monthDemandCharge: number };

export interface PriceFigures {
  atMs: number;
  currency: string;
  importPricePerKWh: number;
  exportPricePerKWh: number;
  carbonGPerKWh: number;
  demandChargePerKW: number;
}

/** Energy and cost of one charging session (running or ended). */
export type BillFigures = SessionBill;

/** The tariff side: KPIs, prices and per-session bills. */
export interface EconomicsSource {
  kpis(): KpiFigures;
  prices(atMs?: number): PriceFigures;
  /** Running and recent ended bills, newest first. */
  sessionBills(limit?: number): BillFigures[];
  /** The running bill of the session on a connector. */
  sessionBill(chargerId: string, connectorId: number): BillFigures | undefined;
  /** Bills of sessions ended in [fromMs, toMs) and running ones, oldest first (exports). */
  billsBetween(fromMs: number, toMs: number): BillFigures[];
  /** The billing month's peak as held now (the store is written at most every 60 s behind it). */
  monthPeak?(atMs?: number): { month: string; peakW: number; atMs?: number };
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

export type PlanStatusFigures = PlannerStatus;

/** Per slot of the plan in force: the import price, PV forecast and import limit it was made with. */
export interface PlanSlotFigures {
  importPricePerKWh: readonly number[];
  pvW: readonly number[];
  importLimitW: readonly number[];
}

/** The horizon planner: its status and the plan in force. */
export interface PlanSource {
  currentPlan(): PlanFigures | undefined;
  status(): PlanStatusFigures;
  currentInputs?(): PlanSlotFigures | undefined;
}

/** What the plan view adds per session from the live state (name, departure, need). */
export interface PlanSessionFacts {
  idTag: string;
  name: string | null;
  departureAtMs?: number;
  energyNeedWh?: number;
  energyWh: number;
}
