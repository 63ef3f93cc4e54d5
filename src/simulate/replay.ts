// Replays sessions against the site with simulated time, under one strategy:
//  - 'controlled': the live control step (src/control/control-step.ts) fed by the horizon plan
//    (same code as the live planner), knowing only what the live system would know: departures and
//    needs only when the session says they were told (else idTag schedules, tier defaults, SoC), each
//    car's max power only once it has been seen drawing less than its cap, building load and PV only
//    as configured curves or as learned from earlier in the replay;
//  - 'uncontrolled': every car at its maximum until full, ignoring every limit;
//  - 'equal-share': a static load balancer: every limit split evenly among the cars that charge (the
//    building's peak reserved, no meter), capacity a car cannot use handed to the others;
//  - 'round-robin': the same even split, but when the share is below the minimum current the cars
//    that got the least so far charge first, so the ones waiting rotate.
// Building load and PV are the configured curves with seeded deviations (site-truth.ts). Cars draw
// min(cap, their max) until full. Limits are measured with exact phasor line currents.
import type { Config } from '../../config/schema.ts';
import { KpiAccumulator, type Kpis } from '../../optimizer/kpi.ts';
import { lineCurrentsA, powerWeightOf, rotationOf, type LineLoad } from '../../optimizer/phase-map.ts';
import type { Plan, PlanInput } from '../../optimizer/plan-types.ts';
import {
  connectorKey,
  type ChargerParams,
  type ConnectorCap,
  type CircuitNode,
  type ConnectorSnapshot,
  type DecideParams,
  type PhaseValues,
  type SiteSnapshot,
} from '../../optimizer/types.ts';
import { controlStep, initialControlMemory, type ControlMemory } from '../control/control-step.ts';
import type { LpSolver } from '../planner/lp-solver.ts';
import { CarMaxLearner, LEARN_GAP_A } from '../planner/car-max-learner.ts';
import { buildPlanInput, type PlanContext, type PlannerSession } from '../planner/plan-input.ts';
import { PlanCeilings } from '../planner/plan-ceilings.ts';
import { nextLocalTimeMs } from '../planner/planner-service.ts';
import { solvePlan } from '../planner/solve-plan.ts';
import { Tariff } from '../tariffs/tariff.ts';
import type { PlantMeasures } from './plant-replay.ts';
import type { ReplaySession } from './replay-sessions.ts';
import { SiteTruth } from './site-truth.ts';

export type Strategy = 'controlled' | 'uncontrolled' | 'equal-share' | 'round-robin';

export interface ReplayOptions {
  config: Config;
  params: DecideParams;
  sessions: readonly ReplaySession[];
  strategy: Strategy;
  stepMs?: number;
  /** Required for 'controlled' unless planning is off. */
  solver?: LpSolver;
  /** 'controlled' without the horizon planner: the control step alone. */
  plan?: boolean;
  /** Seed of the building and PV deviations (default 1). */
  seed?: number;
  /** True: building load and PV follow the configured curves exactly (perfect forecast). */
  idealSite?: boolean;
  /** Called with the fraction done, now and then. */
  onProgress?: (fraction: number) => void;
  /** Record a time series for the report's chart (about this many points). */
  seriesPoints?: number;
  /** Sees every plan the replay's planner makes, with the replay time it was made at (tests, debugging). */
  /** Each plan, with what the planner was given (its input, and what it took as the meters' readings now). */
  onPlan?: (plan: Plan, atMs: number, seen: { input: PlanInput; measuredNow: PlanContext['measuredNow'] }) => void;
}

export interface SessionResult {
  id: string;
  requestedWh: number;
  deliveredWh: number;
  unmetWh: number;
}

export interface ReplaySeries {
  atMs: number[];
  gridW: number[];
  evW: number[];
  /** Import limit in force (W) at each point: the main fuse over three phases, the power cap, signals. */
  limitW: number[];
  /** Energy delivered so far per session id, Wh, at each point while it was plugged in. */
  sessionWh: Record<string, number[]>;
  /** Index into atMs of each session's first point. */
  sessionFirst: Record<string, number>;
}

export interface ReplayResult {
  strategy: Strategy;
  kpis: Kpis;
  sessions: SessionResult[];
  /** Plans made by solving (an empty site's plan included), one per entry of planSolveMs. */
  plans: number;
  planSolveMs: number[];
  failedPlans: number;
  /** Wall time of the whole replay, ms. */
  wallMs: number;
  /** Highest exact line current over its limit seen at any node, A (0 when none). */
  worstOverA: number;
  series?: ReplaySeries;
  /** Set when the replay ran on the site plant (plant-replay.ts): violations measured there. */
  plant?: PlantMeasures;
}

interface Live {
  s: ReplaySession;
  key: string;
  charger: ChargerParams;
  /** Phases the car draws on. */
  carPhases: 1 | 3;
  deliveredWh: number;
  /** Per charger phase, A, drawn during the last step. */
  drawA: [number, number, number];
  powerW: number;
  /** The need and departure as the EMS knows them. */
  knownNeedWh?: number;
  knownDepartureMs?: number;
  lastServedMs: number;
}

const TOLERANCE_A = 0.05;
/** Decisions within one replay step after its first (hand-overs, held raises): bounded. */
const MAX_REDECIDES_PER_STEP = 4;

/** When the plan's slot after the one atMs is in starts; undefined without a plan or past its end. */
function nextSlotStartMs(plan: Plan | undefined, atMs: number): number | undefined {
  if (!plan || !(plan.slotMs > 0) || atMs < plan.startMs) return undefined;
  const index = Math.floor((atMs - plan.startMs) / plan.slotMs) + 1;
  return index < plan.slotCount ? plan.startMs + index * plan.slotMs : undefined;
}

/**
 * When the earliest raise held back by the cap hysteresis may be made: a cap the hysteresis kept
 * whose connector changed less than holdMs ago is free again holdMs after that change (the live
 * loop raises it at its next cycle then). Undefined when nothing is held that way.
 */
function holdEndMs(caps: readonly ConnectorCap[], memory: ControlMemory, atMs: number, holdMs: number): number | undefined {
  if (!(holdMs > 0)) return undefined;
  let endMs: number | undefined;
  for (const cap of caps) {
    if (cap.reason.kind !== 'hysteresis') continue;
    const changedAtMs = memory.decide.connectors[connectorKey(cap.chargerId, cap.connectorId)]?.changedAtMs;
    if (changedAtMs === undefined || !(changedAtMs + holdMs > atMs)) continue;
    endMs = Math.min(endMs ?? Infinity, changedAtMs + holdMs);
  }
  return endMs;
}

export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const started = performance.now();
  const { config, params, strategy } = options;
  const stepMs = options.stepMs ?? 60_000;
  const stepH = stepMs / 3_600_000;
  const voltage = config.site.voltage;
  const tariff = new Tariff(config.tariffs, config.site.timezone);
  const zone = tariff.zone;
  const truth = new SiteTruth(config, zone, options.seed ?? 1, !options.idealSite);
  /** A PV device reports PV on its own; without one the meters show the building net of PV. */
  const pvMetered = config.devices.some((d) => d.role === 'pv');
  const chargers = new Map(params.chargers.map((c) => [c.id, c]));
  const connectorCount = params.chargers.reduce((n, c) => n + c.connectorCount, 0);
  const kpi = new KpiAccumulator(tariff.demandChargePerKW, (config.tariffs?.demandCharge?.windowMin ?? 15) * 60_000);
  const idTags = new Map(config.idTags.map((t) => [t.idTag, t]));
  const tierOf = (idTag: string, chargerId: string) => idTags.get(idTag)?.tier ?? config.chargers.find((c) => c.id === chargerId)?.tier ?? 'guest';
  const tierRankOf = (l: Live) => config.control.tiers[tierOf(l.s.idTag, l.s.chargerId)] ?? 0;

  const sessions = [...options.sessions].sort((a, b) => a.arrivalMs - b.arrivalMs);
  const empty = (): ReplayResult => ({ strategy, kpis: kpi.result(), sessions: [], plans: 0, planSolveMs: [], failedPlans: 0, wallMs: 0, worstOverA: 0 });
  if (!sessions.length) return empty();
  const startMs = Math.floor(sessions[0].arrivalMs / stepMs) * stepMs;
  const endMs = Math.max(...sessions.map((s) => s.departureMs));
  const live = new Map<string, Live>(); // by connector key
  const results: SessionResult[] = [];
  let memory: ControlMemory = initialControlMemory;
  let next = 0;
  let plan: Plan | undefined;
  let planAtMs = -Infinity;
  let planDirty = true;
  const planSolveMs: number[] = [];
  let failedPlans = 0;
  let worstOverA = 0;
  const planning = strategy === 'controlled' && options.plan !== false && options.solver !== undefined;
  const slotMs = (config.planner?.slotMin ?? 15) * 60_000;
  const ceilings = new PlanCeilings((key) => {
    const charger = chargers.get(key.slice(0, key.lastIndexOf('/')));
    const voltsTimesPhases = voltage * (charger ? powerWeightOf(charger) : 3);
    return { minPowerW: (charger?.minCurrentA ?? 0) * voltsTimesPhases, maxPowerW: (charger?.maxCurrentA ?? 0) * voltsTimesPhases, voltsTimesPhases };
  });
  const staticParams = staticBalancerParams(params, config);
  const carMax = new CarMaxLearner(config);
  const lineLimits = lineLimitNodes(params.circuit);

  const totalSteps = Math.max(1, Math.ceil((endMs - startMs) / stepMs));
  const every = Math.max(1, Math.floor(totalSteps / Math.max(1, options.seriesPoints ?? 1)));
  const series: ReplaySeries | undefined = options.seriesPoints ? { atMs: [], gridW: [], evW: [], limitW: [], sessionWh: {}, sessionFirst: {} } : undefined;
  let stepIndex = 0;
  let lastGridW = 0;
  let lastEvW = 0;
  /** The caps in force, A by connector key. */
  const capsA = new Map<string, number>();

  const finish = (l: Live) => {
    results.push({ id: l.s.id, requestedWh: l.s.energyWh, deliveredWh: l.deliveredWh, unmetWh: Math.max(0, l.s.energyWh - l.deliveredWh) });
    kpi.addSession({ requestedWh: l.s.energyWh, deliveredWh: l.deliveredWh });
  };

  for (let t = startMs; t < endMs; t += stepMs, stepIndex++) {
    if (options.onProgress && stepIndex % 500 === 0) options.onProgress(stepIndex / totalSteps);
    for (const [key, l] of live) {
      if (l.s.departureMs <= t) {
        finish(l);
        live.delete(key);
        planDirty = true;
      }
    }
    while (next < sessions.length && sessions[next].arrivalMs <= t) {
      const s = sessions[next++];
      const charger = chargers.get(s.chargerId)!;
      const key = connectorKey(s.chargerId, s.connectorId);
      const tag = idTags.get(s.idTag);
      live.set(key, {
        s,
        key,
        charger,
        carPhases: charger.phases === 1 ? 1 : (s.phases ?? 3),
        deliveredWh: 0,
        drawA: [0, 0, 0],
        powerW: 0,
        knownNeedWh: s.energyKnown ? s.energyWh : tag?.energyNeedWh,
        knownDepartureMs: s.departureKnown ? s.departureMs : tag?.departure ? nextLocalTimeMs(zone, s.arrivalMs, tag.departure) : undefined,
        lastServedMs: s.arrivalMs,
      });
      planDirty = true;
    }

    const buildingW = truth.buildingW(t);
    const pvW = truth.pvW(t);
    const remainingWh = (l: Live) => Math.max(0, l.s.energyWh - l.deliveredWh);

    capsA.clear();
    if (strategy === 'uncontrolled') {
      for (const l of live.values()) capsA.set(l.key, l.charger.maxCurrentA);
    } else if (strategy === 'equal-share' || strategy === 'round-robin') {
      const wanting = [...live.values()].filter((l) => remainingWh(l) > 0);
      const snapshot = staticSnapshot(t, params, wanting, strategy === 'round-robin');
      const result = controlStep({ snapshot, params: staticParams, memory });
      memory = result.memory;
      for (const cap of result.decision.caps) capsA.set(connectorKey(cap.chargerId, cap.connectorId), cap.currentA);
    } else {
      if (planning && (planDirty || t - planAtMs >= slotMs)) {
        const plannerSessions: PlannerSession[] = [...live.values()].map((l) => ({
          key: l.key,
          chargerId: l.s.chargerId,
          arrivalAtMs: l.s.arrivalMs,
          departureAtMs: l.knownDepartureMs,
          energyWh: l.deliveredWh,
          energyNeedWh: l.knownNeedWh,
          tier: tierOf(l.s.idTag, l.s.chargerId),
          tierRank: tierRankOf(l),
          socPct: socOf(l),
          carMaxPowerW: carMax.carMaxPowerW(l.s.id),
        }));
        // What the site's meters show: without a PV device only the building net of PV (plan-input.ts).
        const measuredNow = pvMetered ? { pvW, baseLoadW: buildingW } : { baseLoadW: buildingW - pvW };
        const input = buildPlanInput({ config, tariff, zone, atMs: t, sessions: plannerSessions, peakSoFarW: kpi.result().peakW, forecast: truth.forecast(), measuredNow });
        planAtMs = t;
        planDirty = false;
        const solveStarted = performance.now();
        plan = await solvePlan(input, options.solver!, config.planner?.timeLimitMs ?? 5000);
        planSolveMs.push(performance.now() - solveStarted);
        if (plan.status !== 'optimal' && plan.status !== 'empty') failedPlans++;
        options.onPlan?.(plan, t, { input, measuredNow });
      }
      ceilings.setPlan(plan);
      const decideAt = (atMs: number) => {
        const snapshot = measuredSnapshot(atMs, params, live, buildingW, pvW, voltage, tierRankOf);
        const result = controlStep({ snapshot, params, memory, ceilingsW: planning ? [ceilings.ceilingsW(snapshot)] : [] });
        memory = result.memory;
        capsA.clear();
        for (const cap of result.decision.caps) capsA.set(connectorKey(cap.chargerId, cap.connectorId), cap.currentA);
        return result.decision;
      };
      // The live loop decides every control interval; the replay decides at the step and again
      // within it wherever the live loop would act on something new before the next step:
      // - a cap went down: the capacity it frees is handed on once the car has followed
      //   (carResponseS; the handover holds the increases it would pay for until then);
      // - a car offered clearly more than it can take shows its own limit within its response time,
      //   and what it leaves goes to the others (measured draw);
      // - the plan's next slot starts (its targets change there);
      // - an increase held back by the cap hysteresis (control.capHoldMs since the connector's last
      //   change) is made once the hold has passed.
      // Without these every hand-over or held raise would idle its capacity for a whole step.
      const responseMs = params.carResponseMs ?? 0;
      const holdMs = params.capHoldMs ?? 0;
      const stepEndMs = t + stepMs;
      let atMs = t;
      for (let redecides = 0; ; redecides++) {
        const before = new Map([...live.values()].map((l) => [l.key, Math.max(...l.drawA)]));
        const decision = decideAt(atMs);
        let nextMs = stepEndMs;
        if (redecides < MAX_REDECIDES_PER_STEP) {
          const decreased = [...live.values()].some((l) => (capsA.get(l.key) ?? 0) < (before.get(l.key) ?? 0) - TOLERANCE_A);
          const showsLimit = [...live.values()].some((l) => {
            if (carMax.learnedA(l.s.id) !== undefined) return false;
            const carMaxA = l.s.maxPowerW / (voltage * carWeight(l));
            const wantA = Math.max(0, l.s.energyWh - l.deliveredWh) / stepH / (voltage * carWeight(l));
            return (capsA.get(l.key) ?? 0) - carMaxA > LEARN_GAP_A && wantA - carMaxA > LEARN_GAP_A;
          });
          if ((decreased || showsLimit) && responseMs > 0) nextMs = Math.min(nextMs, atMs + responseMs);
          const heldUntilMs = holdEndMs(decision.caps, memory, atMs, holdMs);
          if (heldUntilMs !== undefined) nextMs = Math.min(nextMs, heldUntilMs);
          const slotEndMs = planning ? nextSlotStartMs(ceilings.current(), atMs) : undefined;
          if (slotEndMs !== undefined) nextMs = Math.min(nextMs, slotEndMs);
        }
        drawFor(atMs, nextMs - atMs, buildingW, pvW);
        if (nextMs >= stepEndMs) break;
        atMs = nextMs;
      }
    }
    if (strategy !== 'controlled') drawFor(t, stepMs, buildingW, pvW);
    // The EMS learns its profiles from its meters (net of PV without a PV device).
    truth.record(t, pvMetered ? buildingW : buildingW - pvW, pvMetered ? pvW : 0);
    if (series && stepIndex % every === 0) {
      series.atMs.push(t);
      series.gridW.push(Math.round(lastGridW));
      series.evW.push(Math.round(lastEvW));
      series.limitW.push(Math.round(importLimitW(config)));
      for (const l of live.values()) {
        series.sessionFirst[l.s.id] ??= series.atMs.length - 1;
        (series.sessionWh[l.s.id] ??= []).push(Math.round(l.deliveredWh));
      }
    }
  }
  for (const l of live.values()) finish(l);
  options.onProgress?.(1);
  return { strategy, kpis: kpi.result(), sessions: results, plans: planSolveMs.length, planSolveMs, failedPlans, wallMs: performance.now() - started, worstOverA, ...(series ? { series } : {}) };

  /** The cars draw under capsA from fromMs for durationMs (building and PV as given); the site's figures for that time go to the KPIs. */
  function drawFor(fromMs: number, durationMs: number, buildingW: number, pvW: number): void {
    const hours = durationMs / 3_600_000;
    let evW = 0;
    let charging = 0;
    for (const l of live.values()) {
      const capA = capsA.get(l.key) ?? 0;
      const weight = carWeight(l);
      const carMaxA = l.s.maxPowerW / (voltage * weight);
      const wantA = Math.max(0, l.s.energyWh - l.deliveredWh) / hours / (voltage * weight);
      const drawnA = Math.max(0, Math.min(capA, carMaxA, wantA));
      // What the car shows of its own limit, learnt as the live planner learns it.
      if (carMax.observe({ sessionId: l.s.id, chargerId: l.s.chargerId, capA, drawA: drawnA, phases: l.carPhases, wantsMore: wantA - drawnA > LEARN_GAP_A })) planDirty = true;
      const powerW = drawnA * voltage * weight;
      l.drawA = l.carPhases === 3 ? [drawnA, drawnA, drawnA] : [drawnA, 0, 0];
      l.powerW = powerW;
      l.deliveredWh += powerW * hours;
      if (powerW > 0) l.lastServedMs = fromMs;
      evW += powerW;
      if (powerW > 0) charging++;
    }
    const gridW = buildingW - pvW + evW;
    const overA = worstLineOverA(params, lineLimits, live, buildingW, pvW, voltage);
    worstOverA = Math.max(worstOverA, overA);
    const powerOver = config.grid.maxPower !== undefined && gridW > config.grid.maxPower + 1;
    kpi.addStep({
      atMs: fromMs,
      durationMs,
      gridPowerW: gridW,
      evPowerW: evW,
      pvPowerW: pvW,
      importPricePerKWh: tariff.importPricePerKWh(fromMs),
      exportPricePerKWh: tariff.exportPricePerKWh(fromMs),
      carbonGPerKWh: tariff.carbonGPerKWh(fromMs),
      chargingConnectors: charging,
      connectorCount,
      overLimit: overA > TOLERANCE_A || powerOver,
    });
    lastGridW = gridW;
    lastEvW = evW;
  }

  function carWeight(l: Live): number {
    return l.carPhases === 3 ? 3 : powerWeightOf(l.charger);
  }

  /** The SoC the car reports: from its SoC at arrival and what it has taken since. */
  function socOf(l: Live): number | undefined {
    if (l.s.socPct === undefined) return undefined;
    const batteryWh = l.s.batteryWh ?? config.planner?.carBatteryWh ?? 60_000;
    return Math.min(100, l.s.socPct + (100 * l.deliveredWh) / batteryWh);
  }

  function measuredSnapshot(atMs: number, p: DecideParams, cars: Map<string, Live>, buildingW: number, pvW: number, volts: number, rank: (l: Live) => number): SiteSnapshot {
    const buildingA = (buildingW - pvW) / (3 * volts);
    const ev = evPhaseA(cars.values());
    const currentA: PhaseValues = [buildingA + ev[0], buildingA + ev[1], buildingA + ev[2]];
    const evW = [...cars.values()].reduce((sum, l) => sum + l.powerW, 0);
    const connectors: ConnectorSnapshot[] = [];
    for (const charger of p.chargers) {
      for (let connectorId = 1; connectorId <= charger.connectorCount; connectorId++) {
        const l = cars.get(connectorKey(charger.id, connectorId));
        if (!l) {
          connectors.push({ chargerId: charger.id, connectorId, status: 'Available', session: null, drawA: [0, 0, 0], drawAtMs: atMs });
          continue;
        }
        const full = l.deliveredWh >= l.s.energyWh - 1e-6;
        const soc = socOf(l);
        connectors.push({
          chargerId: charger.id,
          connectorId,
          status: full ? 'SuspendedEV' : 'Charging',
          session: {
            id: l.s.id,
            startedAtMs: l.s.arrivalMs,
            ...(l.knownDepartureMs !== undefined ? { departureAtMs: l.knownDepartureMs } : {}),
            energyWh: l.deliveredWh,
            ...(l.knownNeedWh !== undefined ? { energyNeedWh: l.knownNeedWh } : {}),
            ...(soc !== undefined ? { socPct: soc } : {}),
            tierRank: rank(l),
            paused: false,
            ...(carMax.learnedA(l.s.id) !== undefined ? { carMaxCurrentA: carMax.learnedA(l.s.id) } : {}),
          },
          drawA: l.drawA,
          drawAtMs: atMs,
        });
      }
    }
    return { atMs, grid: { atMs, currentA, powerW: buildingW - pvW + evW }, circuitLoads: [], pvPowerW: pvW, connectors, signals: {} };
  }
}

/** Import limit at the connection point, W: the main fuse over three phases or the power cap. */
export function importLimitW(config: Config): number {
  return Math.min(config.grid.maxCurrent * config.site.voltage * 3, config.grid.maxPower ?? Infinity);
}

/**
 * A static load balancer's view: no meter, so the building's peak (and no PV) is reserved from the
 * connection point's fuse and power cap; every limit is then split by the same allocator, evenly.
 */
export function staticBalancerParams(params: DecideParams, config: Config): DecideParams {
  const peakW = Math.max(0, ...(config.planner?.baseLoadW ?? [0]));
  const peakA = peakW / (3 * config.site.voltage);
  return {
    ...params,
    priority: 'equal',
    grid: {
      ...params.grid,
      metered: false,
      maxCurrentA: Math.max(0, params.grid.maxCurrentA - peakA),
      ...(params.grid.maxImportPowerW !== undefined ? { maxImportPowerW: Math.max(0, params.grid.maxImportPowerW - peakW) } : {}),
    },
    circuit: { ...params.circuit, maxCurrentA: Math.max(0, params.circuit.maxCurrentA - peakA) },
  };
}

/**
 * Sessions as a static balancer sees them: plugged in and charging, nothing measured. Round robin
 * ranks the cars that got the least energy so far first (equal share ranks by plug-in time), so when
 * the even share is below the minimum, who waits rotates.
 */
function staticSnapshot(atMs: number, p: DecideParams, wanting: readonly Live[], rotate: boolean): SiteSnapshot {
  const byKey = new Map(wanting.map((l) => [l.key, l]));
  const connectors: ConnectorSnapshot[] = [];
  for (const charger of p.chargers) {
    for (let connectorId = 1; connectorId <= charger.connectorCount; connectorId++) {
      const l = byKey.get(connectorKey(charger.id, connectorId));
      connectors.push({
        chargerId: charger.id,
        connectorId,
        status: l ? 'Charging' : 'Available',
        session: l
          ? { id: l.s.id, startedAtMs: rotate ? l.deliveredWh : l.s.arrivalMs, energyWh: l.deliveredWh, tierRank: 0, paused: false, ...(l.carPhases === 1 && charger.phases === 3 ? { carPhases: 1 as const } : {}) }
          : null,
        drawA: [0, 0, 0],
      });
    }
  }
  return { atMs, grid: null, circuitLoads: [], connectors, signals: {} };
}

/** Every node with the chargers below it, for measuring line currents. */
function lineLimitNodes(root: CircuitNode): { node: CircuitNode; chargerIds: Set<string>; root: boolean }[] {
  const out: { node: CircuitNode; chargerIds: Set<string>; root: boolean }[] = [];
  const visit = (node: CircuitNode, isRoot: boolean): Set<string> => {
    const ids = new Set(node.chargerIds);
    for (const child of node.children) for (const id of visit(child, false)) ids.add(id);
    out.push({ node, chargerIds: ids, root: isRoot });
    return ids;
  };
  visit(root, true);
  return out;
}

function loadOf(l: Live): LineLoad[] {
  const amps = l.drawA[0];
  if (l.carPhases === 3) return [{ currentA: amps, threePhase: true }];
  if (l.charger.connection) return [{ currentA: amps, connection: l.charger.connection }];
  return [{ currentA: amps, phase: rotationOf(l.charger.phaseRotation)[0] }];
}

/** Per site phase, the EV draw of these cars (a line-to-line car counted on both lines), A. */
function evPhaseA(cars: Iterable<Live>): [number, number, number] {
  const sum: [number, number, number] = [0, 0, 0];
  for (const l of cars) {
    const rotation = rotationOf(l.charger.phaseRotation);
    for (let q = 0; q < 3; q++) sum[rotation[q]] += l.drawA[q];
  }
  return sum;
}

/** How far the worst exact line current is above its fuse (no margin), A; 0 when none is. */
function worstLineOverA(
  p: DecideParams,
  nodes: readonly { node: CircuitNode; chargerIds: Set<string>; root: boolean }[],
  live: Map<string, Live>,
  buildingW: number,
  pvW: number,
  voltage: number,
): number {
  let worst = 0;
  const buildingA = Math.max(0, (buildingW - pvW) / (3 * voltage));
  for (const { node, chargerIds, root } of nodes) {
    const loads: LineLoad[] = [];
    for (const l of live.values()) if (chargerIds.has(l.s.chargerId)) loads.push(...loadOf(l));
    if (root && buildingA > 0) loads.push({ currentA: buildingA, threePhase: true });
    const limitA = root ? Math.min(node.maxCurrentA, p.grid.maxCurrentA) : node.maxCurrentA;
    for (const a of lineCurrentsA(loads)) worst = Math.max(worst, a - limitA);
  }
  return worst;
}
