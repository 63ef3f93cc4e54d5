// The API's read models for money and the plan: today's KPIs, per-session bills, the planner's
// status and per-session power for the next slots. Schemas document the answers in OpenAPI;
// the builders are typed by them.
import { z } from 'zod';
import type { BillFigures, EconomicsSource, PlanSessionFacts, PlanSource } from './economics-source.ts';

const iso = z.string().describe('ISO 8601 time');
const isoOf = (atMs: number | undefined) => (atMs === undefined ? null : new Date(atMs).toISOString());
/** Money to 1/10000 of the currency unit, energy to 0.1 Wh, power to 1 W: exact enough, short to read. */
const money = (value: number) => Math.round(value * 10_000) / 10_000;
const wh = (value: number) => Math.round(value * 10) / 10;
const watts = (value: number) => Math.round(value);
const ratio = (value: number) => Math.round(value * 10_000) / 10_000;

export const kpisViewSchema = z.object({
  at: iso,
  since: iso.describe('local midnight the day figures start at'),
  currency: z.string(),
  today: z.object({
    evEnergyWh: z.number().describe('metered energy into cars so far today'),
    energyDeliveredWh: z.number().describe('toward what ended sessions asked for (the replay KPI); see evEnergyWh for the running total'),
    gridImportWh: z.number(),
    gridExportWh: z.number(),
    energyCost: z.number().describe('import cost − export revenue of the whole site so far'),
    costPerKWh: z.number().describe('energy cost per kWh delivered to cars'),
    peakW: z.number().describe("today's highest 15-min (demand window) mean import, W; the month's peak is never below it"),
    peakAt: iso.nullable().describe('start of the demand window of peakW; null before any import'),
    renewableShare: z.number().describe('share of EV energy from on-site PV, 0..1'),
    utilization: z.number().describe('share of connector-time a car was drawing, 0..1'),
    sessions: z.number().int().describe('sessions ended today'),
    sessionSuccessRate: z.number().describe('ended sessions that got what they wanted, 0..1'),
    unmetWh: z.number(),
    carbonKg: z.number(),
    limitViolations: z.number().int(),
  }),
  month: z.object({
    peakW: z.number().describe("the billing month's highest 15-min mean import so far (demand-charge base), W; same definition as today.peakW"),
    peakAt: iso.nullable().describe('start of the demand window of the month peak'),
    demandCharge: z.number().describe('peak kW × demand charge price'),
    demandChargePerKW: z.number(),
  }),
  prices: z.object({
    importPerKWh: z.number(),
    exportPerKWh: z.number(),
    carbonGPerKWh: z.number(),
  }),
});

export const billViewSchema = z.object({
  chargerId: z.string(),
  connectorId: z.number().int(),
  transactionId: z.number().int(),
  idTag: z.string(),
  tier: z.string(),
  startedAt: iso,
  endedAt: iso.nullable().describe('null while the session runs'),
  energyWh: z.number(),
  cost: z.number().describe('each Wh at the import price in force when it was drawn'),
  currency: z.string(),
  costPerKWh: z.number().nullable(),
  carbonG: z.number(),
});

export const planViewSchema = z.object({
  enabled: z.boolean(),
  solver: z.string().optional(),
  plans: z.number().int().optional().describe('plans made since start'),
  failures: z.number().int().optional(),
  lastPlanAt: iso.nullable().optional(),
  lastSolveMs: z.number().nullable().optional(),
  lastError: z.string().nullable().optional(),
  plan: z
    .object({
      start: iso.describe('start of the first slot shown (the current one)'),
      slotMs: z.number(),
      status: z.string(),
      peakW: z.number().describe('planned peak import over the horizon'),
      energyCost: z.number(),
      demandCharge: z.number(),
      overloadWh: z.number(),
      slots: z.array(
        z.object({
          start: iso,
          gridW: z.number(),
          batteryW: z.number().nullable(),
          importPricePerKWh: z.number().nullable().describe('import price the plan used for the slot'),
          pvW: z.number().nullable().describe('PV forecast the plan used, W'),
          limitW: z.number().nullable().describe('import limit the plan kept to (grid cap, signals), W'),
        }),
      ),
      sessions: z.array(
        z.object({
          chargerId: z.string(),
          connectorId: z.number().int().nullable(),
          steer: z.boolean().describe('false: planned as load only (charges as soon as possible)'),
          idTag: z.string().nullable(),
          name: z.string().nullable(),
          departure: iso.nullable(),
          energyNeedWh: z.number().nullable(),
          plannedWh: z.number(),
          unmetWh: z.number(),
          readyByDeparture: z.boolean().nullable().describe('true: the plan delivers the energy need by the departure (within 0.1 kWh); null without a departure'),
          powerW: z.array(z.number()).describe('planned mean power per slot shown, W'),
        }),
      ),
    })
    .nullable()
    .optional()
    .describe('null when no plan is in force (no sessions, or planning failed: greedy control runs alone)'),
});

export type KpisView = z.infer<typeof kpisViewSchema>;
export type BillView = z.infer<typeof billViewSchema>;
export type PlanView = z.infer<typeof planViewSchema>;

export function kpisView(economics: EconomicsSource, atMs: number): KpisView {
  const k = economics.kpis();
  const p = economics.prices(atMs);
  return {
    at: new Date(atMs).toISOString(),
    since: new Date(k.sinceMs).toISOString(),
    currency: k.currency,
    today: {
      evEnergyWh: wh(k.evEnergyWh),
      energyDeliveredWh: wh(k.energyDeliveredWh),
      gridImportWh: wh(k.gridImportWh),
      gridExportWh: wh(k.gridExportWh),
      energyCost: money(k.energyCost),
      costPerKWh: money(k.costPerKWh),
      peakW: watts(k.peakW),
      peakAt: isoOf(k.peakAtMs),
      renewableShare: ratio(k.renewableShare),
      utilization: ratio(k.utilization),
      sessions: k.sessions,
      sessionSuccessRate: ratio(k.sessionSuccessRate),
      unmetWh: wh(k.unmetWh),
      carbonKg: Math.round(k.carbonKg * 1000) / 1000,
      limitViolations: k.limitViolations,
    },
    month: { peakW: watts(k.monthPeakW), peakAt: isoOf(k.monthPeakAtMs), demandCharge: money(k.monthDemandCharge), demandChargePerKW: p.demandChargePerKW },
    prices: { importPerKWh: p.importPricePerKWh, exportPerKWh: p.exportPricePerKWh, carbonGPerKWh: p.carbonGPerKWh },
  };
}

export function billView(bill: BillFigures): BillView {
  return {
    chargerId: bill.chargerId,
    connectorId: bill.connectorId,
    transactionId: bill.transactionId,
    idTag: bill.idTag,
    tier: bill.tier,
    startedAt: new Date(bill.startedAtMs).toISOString(),
    endedAt: isoOf(bill.endedAtMs),
    energyWh: wh(bill.energyWh),
    cost: money(bill.cost),
    currency: bill.currency,
    costPerKWh: bill.energyWh > 0 ? money(bill.cost / (bill.energyWh / 1000)) : null,
    carbonG: Math.round(bill.carbonG),
  };
}

/** `${chargerId}/${connectorId}` back into its parts (charger ids may contain '/'). */
function splitKey(key: string): { chargerId: string; connectorId: number | null } {
  const cut = key.lastIndexOf('/');
  const connectorId = cut > 0 ? Number(key.slice(cut + 1)) : Number.NaN;
  return Number.isInteger(connectorId) ? { chargerId: key.slice(0, cut), connectorId } : { chargerId: key, connectorId: null };
}

/**
 * What a session's plan still holds from slot `first` on: the slots before it are past, and the page
 * draws the plan from the current slot (a plan 40 demo minutes old at x60 said 10.4 kWh planned over
 * an empty chart).
 */
function plannedFromWh(s: { powerW: readonly number[]; plannedWh: number }, first: number, slotMs: number): number {
  let pastWh = 0;
  for (let t = 0; t < first && t < s.powerW.length; t++) pastWh += ((s.powerW[t] ?? 0) * slotMs) / 3_600_000;
  return Math.max(0, s.plannedWh - pastWh);
}

/** Within this much of the need a car counts as ready (the success-rate threshold). */
const READY_WITHIN_WH = 100;

/** The planner's status and, when a plan is in force, its slots from the current one on (at most `slotCount`). */
export function planView(
  planner: PlanSource | undefined,
  atMs: number,
  slotCount: number,
  facts: (chargerId: string, connectorId: number | null) => PlanSessionFacts | undefined = () => undefined,
): PlanView {
  if (!planner) return { enabled: false };
  const status = planner.status();
  if (!status.enabled) return { enabled: false };
  const head = {
    enabled: true,
    solver: status.solver,
    plans: status.plans,
    failures: status.failures,
    lastPlanAt: isoOf(status.lastPlanAtMs),
    lastSolveMs: status.lastSolveMs === undefined ? null : Math.round(status.lastSolveMs),
    lastError: status.lastError ?? null,
  };
  const plan = planner.currentPlan();
  if (!plan) return { ...head, plan: null };
  const first = Math.min(Math.max(0, Math.floor((atMs - plan.startMs) / plan.slotMs)), plan.slotCount);
  const end = Math.min(plan.slotCount, first + slotCount);
  const range = Array.from({ length: end - first }, (_, i) => first + i);
  const inputs = planner.currentInputs?.();
  const at = (values: readonly number[] | undefined, t: number) => (values && Number.isFinite(values[t]) ? values[t] : null);
  return {
    ...head,
    plan: {
      start: new Date(plan.startMs + first * plan.slotMs).toISOString(),
      slotMs: plan.slotMs,
      status: plan.status,
      peakW: watts(plan.peakW),
      energyCost: money(plan.energyCost),
      demandCharge: money(plan.demandCharge),
      overloadWh: wh(plan.overloadWh),
      slots: range.map((t) => ({
        start: new Date(plan.startMs + t * plan.slotMs).toISOString(),
        gridW: watts(plan.gridW[t] ?? 0),
        batteryW: plan.batteryW.length ? watts(plan.batteryW[t] ?? 0) : null,
        importPricePerKWh: at(inputs?.importPricePerKWh, t),
        pvW: at(inputs?.pvW, t) === null ? null : watts(at(inputs?.pvW, t)!),
        limitW: at(inputs?.importLimitW, t) === null ? null : watts(at(inputs?.importLimitW, t)!),
      })),
      sessions: plan.sessions.map((s) => {
        const key = splitKey(s.key);
        const f = facts(key.chargerId, key.connectorId);
        return {
          ...key,
          steer: s.steer,
          idTag: f?.idTag ?? null,
          name: f?.name ?? null,
          departure: isoOf(f?.departureAtMs),
          energyNeedWh: f?.energyNeedWh ?? null,
          plannedWh: wh(plannedFromWh(s, first, plan.slotMs)),
          unmetWh: wh(s.unmetWh),
          readyByDeparture: f?.departureAtMs === undefined ? null : s.unmetWh < READY_WITHIN_WH,
          powerW: range.map((t) => watts(s.powerW[t] ?? 0)),
        };
      }),
    },
  };
}
