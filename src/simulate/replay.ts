// Replays sessions against the site with simulated time, under one strategy:
//  - 'controlled': the horizon plan (same code as the live planner) steering the same decide() the
//    control loop runs every cycle;
//  - 'uncontrolled': every car at its maximum until full, ignoring every limit;
//  - 'equal-share': static balancing, each circuit's limit split evenly among the cars that still
//    want energy, no meter (the building's peak load is reserved instead).
// Site load and PV follow the planner's daily curves; cars draw min(cap, their max) until full.
import type { Config } from '../../config/schema.ts';
import { KpiAccumulator, type Kpis } from '../../optimizer/kpi.ts';
import type { Plan } from '../../optimizer/plan-types.ts';
import { powerWeightOf } from '../../optimizer/phase-map.ts';
import {
  connectorKey,
  initialDecideState,
  type CircuitNode,
  type ConnectorSnapshot,
  type DecideParams,
  type DecideState,
  type Decision,
  type PhaseValues,
  type SiteSnapshot,
} from '../../optimizer/types.ts';
import { rotationOf } from '../../optimizer/phase-map.ts';
import type { LpSolver } from '../planner/lp-solver.ts';
import { buildPlanInput, chargerMaxPowerW, curveAt, siteImportLimitW, type PlannerSession } from '../planner/plan-input.ts';
import { PlanCeilings } from '../planner/plan-ceilings.ts';
import { solvePlan } from '../planner/solve-plan.ts';
import { Tariff } from '../tariffs/tariff.ts';
import type { ReplaySession } from './replay-sessions.ts';

export type Strategy = 'controlled' | 'uncontrolled' | 'equal-share';
export type DecideFn = (snapshot: SiteSnapshot, params: DecideParams, previous: DecideState) => Decision;

export interface ReplayOptions {
  config: Config;
  params: DecideParams;
  sessions: readonly ReplaySession[];
  strategy: Strategy;
  stepMs?: number;
  /** Required for 'controlled'. */
  decide?: DecideFn;
  /** Required for 'controlled' unless planning is off. */
  solver?: LpSolver;
  /** 'controlled' without the horizon planner: decide() alone (greedy). */
  plan?: boolean;
}

export interface SessionResult {
  id: string;
  requestedWh: number;
  deliveredWh: number;
  unmetWh: number;
}

export interface ReplayResult {
  strategy: Strategy;
  kpis: Kpis;
  sessions: SessionResult[];
  plans: number;
  planSolveMs: number[];
  failedPlans: number;
}

interface Live {
  s: ReplaySession;
  key: string;
  deliveredWh: number;
  /** Per charger phase, A, drawn during the last step. */
  drawA: [number, number, number];
  powerW: number;
}

const TOLERANCE_A = 0.01;

export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const { config, params, strategy } = options;
  const stepMs = options.stepMs ?? 60_000;
  const voltage = config.site.voltage;
  const tariff = new Tariff(config.tariffs, config.site.timezone);
  const zone = tariff.zone;
  const chargers = new Map(params.chargers.map((c) => [c.id, c]));
  const connectorCount = params.chargers.reduce((n, c) => n + c.connectorCount, 0);
  const kpi = new KpiAccumulator(tariff.demandChargePerKW, (config.tariffs?.demandCharge?.windowMin ?? 15) * 60_000);
  const tierOf = (idTag: string, chargerId: string) =>
    config.idTags.find((t) => t.idTag === idTag)?.tier ?? config.chargers.find((c) => c.id === chargerId)?.tier ?? 'guest';

  const sessions = [...options.sessions].sort((a, b) => a.arrivalMs - b.arrivalMs);
  if (!sessions.length) return { strategy, kpis: kpi.result(), sessions: [], plans: 0, planSolveMs: [], failedPlans: 0 };
  const startMs = Math.floor(sessions[0].arrivalMs / stepMs) * stepMs;
  const endMs = Math.max(...sessions.map((s) => s.departureMs));
  const live = new Map<string, Live>(); // by connector key
  const results: SessionResult[] = [];
  let state: DecideState = initialDecideState;
  let next = 0;
  let plan: Plan | undefined;
  let planAtMs = -Infinity;
  let planDirty = true;
  const planSolveMs: number[] = [];
  let failedPlans = 0;
  const planning = strategy === 'controlled' && options.plan !== false;
  const slotMs = (config.planner?.slotMin ?? 15) * 60_000;
  const staticBudgetA = staticBuildingA(config);
  const ceilings = new PlanCeilings((key) => {
    const charger = chargers.get(key.slice(0, key.lastIndexOf('/')));
    const voltsTimesPhases = voltage * (charger ? powerWeightOf(charger) : 3);
    return { minPowerW: (charger?.minCurrentA ?? 0) * voltsTimesPhases, maxPowerW: (charger?.maxCurrentA ?? 0) * voltsTimesPhases, voltsTimesPhases };
  });

  for (let t = startMs; t < endMs; t += stepMs) {
    // Departures, then arrivals.
    for (const [key, l] of live) {
      if (l.s.departureMs <= t) {
        results.push({ id: l.s.id, requestedWh: l.s.energyWh, deliveredWh: l.deliveredWh, unmetWh: Math.max(0, l.s.energyWh - l.deliveredWh) });
        kpi.addSession({ requestedWh: l.s.energyWh, deliveredWh: l.deliveredWh });
        live.delete(key);
        planDirty = true;
      }
    }
    while (next < sessions.length && sessions[next].arrivalMs <= t) {
      const s = sessions[next++];
      live.set(connectorKey(s.chargerId, s.connectorId), { s, key: connectorKey(s.chargerId, s.connectorId), deliveredWh: 0, drawA: [0, 0, 0], powerW: 0 });
      planDirty = true;
    }

    const baseW = curveAt(config.planner?.baseLoadW, zone, t);
    const pvW = curveAt(config.planner?.pvForecastW, zone, t);
    const remainingWh = (l: Live) => Math.max(0, l.s.energyWh - l.deliveredWh);
    const stepH = stepMs / 3_600_000;
    const powerFor = (l: Live, capA: number): number => {
      const charger = chargers.get(l.s.chargerId);
      const phases = charger?.phases ?? 3;
      return Math.max(0, Math.min(capA * voltage * phases, l.s.maxPowerW, remainingWh(l) / stepH));
    };

    const capsA = new Map<string, number>();
    if (strategy === 'uncontrolled') {
      for (const l of live.values()) capsA.set(l.key, chargers.get(l.s.chargerId)?.maxCurrentA ?? 0);
    } else if (strategy === 'equal-share') {
      equalShareCaps(params, [...live.values()].filter((l) => remainingWh(l) > 0), staticBudgetA, capsA);
    } else {
      if (!options.decide) throw new Error('controlled replay needs decide()');
      if (planning && options.solver && (planDirty || t - planAtMs >= slotMs)) {
        const plannerSessions: PlannerSession[] = [...live.values()].map((l) => ({
          key: l.key,
          chargerId: l.s.chargerId,
          arrivalAtMs: l.s.arrivalMs,
          departureAtMs: l.s.departureMs,
          energyWh: l.deliveredWh,
          energyNeedWh: l.s.energyWh,
          tier: tierOf(l.s.idTag, l.s.chargerId),
          tierRank: config.control.tiers[tierOf(l.s.idTag, l.s.chargerId)] ?? 0,
          carMaxPowerW: l.s.maxPowerW,
        }));
        const input = buildPlanInput({ config, tariff, zone, atMs: t, sessions: plannerSessions, peakSoFarW: kpi.result().peakW });
        const started = performance.now();
        plan = await solvePlan(input, options.solver, config.planner?.timeLimitMs ?? 5000);
        planSolveMs.push(performance.now() - started);
        if (plan.status !== 'optimal' && plan.status !== 'empty') failedPlans++;
        planAtMs = t;
        planDirty = false;
      }
      ceilings.setPlan(plan);
      const measured = siteSnapshot(t, params, live, baseW, pvW, voltage, (l) => ({ tierRank: config.control.tiers[tierOf(l.s.idTag, l.s.chargerId)] ?? 0 }));
      const decision = options.decide(withCeilings(measured, ceilings.ceilingsW(measured)), params, state);
      state = decision.nextState;
      for (const cap of decision.caps) capsA.set(connectorKey(cap.chargerId, cap.connectorId), cap.currentA);
    }

    // Cars draw for one step.
    let evW = 0;
    let charging = 0;
    for (const l of live.values()) {
      const powerW = powerFor(l, capsA.get(l.key) ?? 0);
      const charger = chargers.get(l.s.chargerId);
      const phases = charger?.phases ?? 3;
      const perPhaseA = powerW / (voltage * phases);
      l.drawA = phases === 3 ? [perPhaseA, perPhaseA, perPhaseA] : [perPhaseA, 0, 0];
      l.powerW = powerW;
      l.deliveredWh += powerW * stepH;
      evW += powerW;
      if (powerW > 0) charging++;
    }
    const gridW = baseW - pvW + evW;
    kpi.addStep({
      atMs: t,
      durationMs: stepMs,
      gridPowerW: gridW,
      evPowerW: evW,
      pvPowerW: pvW,
      importPricePerKWh: tariff.importPricePerKWh(t),
      exportPricePerKWh: tariff.exportPricePerKWh(t),
      carbonGPerKWh: tariff.carbonGPerKWh(t),
      chargingConnectors: charging,
      connectorCount,
      overLimit: overLimit(params, live, baseW, pvW, voltage, config),
    });
  }
  for (const l of live.values()) {
    results.push({ id: l.s.id, requestedWh: l.s.energyWh, deliveredWh: l.deliveredWh, unmetWh: Math.max(0, l.s.energyWh - l.deliveredWh) });
    kpi.addSession({ requestedWh: l.s.energyWh, deliveredWh: l.deliveredWh });
  }
  return { strategy, kpis: kpi.result(), sessions: results, plans: planSolveMs.length, planSolveMs, failedPlans };
}

/** Site phase currents of the EV draws of the given chargers (after phase rotation). */
const rotationCache = new WeakMap<DecideParams, Map<string, string>>();

function evPhaseA(params: DecideParams, live: Map<string, Live>, chargerIds: ReadonlySet<string> | null): [number, number, number] {
  let rotations = rotationCache.get(params);
  if (!rotations) rotationCache.set(params, (rotations = new Map(params.chargers.map((c) => [c.id, c.phaseRotation]))));
  const sum: [number, number, number] = [0, 0, 0];
  for (const l of live.values()) {
    if (chargerIds && !chargerIds.has(l.s.chargerId)) continue;
    const rotation = rotationOf(rotations.get(l.s.chargerId) ?? 'L1L2L3');
    for (let p = 0; p < 3; p++) sum[rotation[p]] += l.drawA[p];
  }
  return sum;
}

const subtreeCache = new WeakMap<CircuitNode, Set<string>>();

function chargersUnder(node: CircuitNode): Set<string> {
  const cached = subtreeCache.get(node);
  if (cached) return cached;
  const ids = new Set<string>(node.chargerIds);
  for (const child of node.children) for (const id of chargersUnder(child)) ids.add(id);
  subtreeCache.set(node, ids);
  return ids;
}

function overLimit(params: DecideParams, live: Map<string, Live>, baseW: number, pvW: number, voltage: number, config: Config): boolean {
  const buildingA = (baseW - pvW) / (3 * voltage);
  const visit = (node: CircuitNode, root: boolean): boolean => {
    const ev = evPhaseA(params, live, chargersUnder(node));
    const extra = root ? buildingA : 0;
    if (ev.some((a) => a + extra > node.maxCurrentA + TOLERANCE_A)) return true;
    return node.children.some((child) => visit(child, false));
  };
  if (visit(params.circuit, true)) return true;
  const gridW = baseW - pvW + [...live.values()].reduce((sum, l) => sum + l.powerW, 0);
  return config.grid.maxPower !== undefined && gridW > config.grid.maxPower + 1;
}

function siteSnapshot(
  atMs: number,
  params: DecideParams,
  live: Map<string, Live>,
  baseW: number,
  pvW: number,
  voltage: number,
  tierOf: (l: Live) => { tierRank: number },
): SiteSnapshot {
  const buildingA = (baseW - pvW) / (3 * voltage);
  const ev = evPhaseA(params, live, null);
  const currentA: PhaseValues = [buildingA + ev[0], buildingA + ev[1], buildingA + ev[2]];
  const evW = [...live.values()].reduce((sum, l) => sum + l.powerW, 0);
  const connectors: ConnectorSnapshot[] = [];
  for (const charger of params.chargers) {
    for (let connectorId = 1; connectorId <= charger.connectorCount; connectorId++) {
      const l = live.get(connectorKey(charger.id, connectorId));
      if (!l) {
        connectors.push({ chargerId: charger.id, connectorId, status: 'Available', session: null, drawA: [0, 0, 0], drawAtMs: atMs });
        continue;
      }
      const full = l.deliveredWh >= l.s.energyWh - 1e-6;
      connectors.push({
        chargerId: charger.id,
        connectorId,
        status: full ? 'SuspendedEV' : 'Charging',
        session: {
          id: l.s.id,
          startedAtMs: l.s.arrivalMs,
          departureAtMs: l.s.departureMs,
          energyWh: l.deliveredWh,
          energyNeedWh: l.s.energyWh,
          tierRank: tierOf(l).tierRank,
          paused: false,
          carPhases: charger.phases,
          carMaxCurrentA: l.s.maxPowerW / (voltage * charger.phases),
        },
        drawA: l.drawA,
        drawAtMs: atMs,
      });
    }
  }
  return {
    atMs,
    grid: { atMs, currentA, powerW: baseW - pvW + evW },
    circuitLoads: [],
    pvPowerW: pvW,
    connectors,
    signals: {},
  };
}

/** The planner's targets as session ceilings, as the control loop applies them. */
function withCeilings(snapshot: SiteSnapshot, ceilingsW: ReadonlyMap<string, number>): SiteSnapshot {
  return {
    ...snapshot,
    connectors: snapshot.connectors.map((c) => {
      const ceiling = ceilingsW.get(connectorKey(c.chargerId, c.connectorId));
      return c.session && ceiling !== undefined ? { ...c, session: { ...c.session, targetPowerW: ceiling } } : c;
    }),
  };
}

/** Building load a static installation must reserve: its daily peak, A per phase. */
function staticBuildingA(config: Config): number {
  const curve = config.planner?.baseLoadW ?? [0];
  return Math.max(0, ...curve) / (3 * config.site.voltage);
}

/** Static equal share: top-down, each node's limit (after margin) split evenly among its wanting cars. */
function equalShareCaps(params: DecideParams, wanting: Live[], buildingA: number, caps: Map<string, number>): void {
  const margin = 1 - params.grid.safetyMargin;
  const byCharger = new Map<string, Live[]>();
  for (const l of wanting) byCharger.set(l.s.chargerId, [...(byCharger.get(l.s.chargerId) ?? []), l]);
  const importCapA = params.grid.maxImportPowerW !== undefined ? params.grid.maxImportPowerW / (3 * params.voltageV) : Infinity;
  const visit = (node: CircuitNode, parentShareA: number, root: boolean) => {
    const under = wanting.filter((l) => chargersUnder(node).has(l.s.chargerId));
    if (!under.length) return;
    const limitA = Math.min(node.maxCurrentA, root ? importCapA : Infinity) * margin - (root ? buildingA : 0);
    const shareA = Math.min(parentShareA, Math.max(0, limitA) / under.length);
    for (const id of node.chargerIds) {
      for (const l of byCharger.get(id) ?? []) {
        const charger = params.chargers.find((c) => c.id === id)!;
        const capA = Math.min(shareA, charger.maxCurrentA);
        caps.set(l.key, capA >= charger.minCurrentA ? capA : 0);
      }
    }
    for (const child of node.children) visit(child, shareA, false);
  };
  visit(params.circuit, Infinity, true);
}
