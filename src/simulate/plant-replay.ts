// `ems simulate` on the site plant (plant/): every session is a car on a plant charger with its
// own timing (profile answer and apply delay, MeterValues period, car response, ramp, taper, full);
// the EMS sees only what reaches it (meter readings, MeterValues, status, answers) through the same
// SiteState the live system feeds from its bus, runs the live control step (with the horizon
// planner's ceilings), and its caps reach the chargers as SetChargingProfile calls the way src/ocpp
// sends them (virtual-dispatcher.ts). Energy, cost and every limit violation are measured on the
// plant, not by construction.
//
// Speed: the plant is stepped finely (FINE_MS) while anything moves — a cap changed in the last
// QUIET_AFTER_MS, a profile or answer in flight, a car not yet at what its pilot allows — and in one
// long step (up to the replay step, and never past the next arrival, departure, building or PV
// change, plan slot or a car getting full) while the site is quiet — not within a reaction window
// after a building or PV change, which the EMS sees only on its meters; one control cycle follows
// each long step, as the live loop would run on the next meter reading.
import type { Config } from '../../config/schema.ts';
import { KpiAccumulator } from '../../optimizer/kpi.ts';
import { powerWeightOf } from '../../optimizer/phase-map.ts';
import type { Plan } from '../../optimizer/plan-types.ts';
import { connectorKey, type ConnectorSnapshot, type DecideParams, type Decision, type SiteSnapshot } from '../../optimizer/types.ts';
import { SitePlant, type PlantCar, type PlantEvent, type PlantTruth } from '../../plant/index.ts';
import { Bus, type BusEvent } from '../bus.ts';
import { controlStep, initialControlMemory, type ControlMemory } from '../control/control-step.ts';
import { silentLogger } from '../log.ts';
import { staticShares } from '../ocpp/static-share.ts';
import { CarDrawWatcher, carModelOf } from '../planner/car-draw-watcher.ts';
import { buildPlanInput, type PlannerSession } from '../planner/plan-input.ts';
import { PlanCeilings } from '../planner/plan-ceilings.ts';
import { nextLocalTimeMs } from '../planner/planner-service.ts';
import { solvePlan } from '../planner/solve-plan.ts';
import { SiteState } from '../state/site-state.ts';
import { Tariff } from '../tariffs/tariff.ts';
import { OvershootMeter } from './plant-overshoot.ts';
import { FIELD_TIMING, replayPlant, type PlantTiming, type ReplayPlant } from './plant-scenario.ts';
import { plannerConfig } from './planner-site-view.ts';
import { importLimitW, staticBalancerParams, type ReplayOptions, type ReplayResult, type ReplaySeries, type SessionResult } from './replay.ts';
import { SiteTruth } from './site-truth.ts';
import { PlantBootSetup, type BootFloor } from './plant-boot-setup.ts';
import { VirtualDispatcher } from './virtual-dispatcher.ts';

/** Plant step while something moves, ms. */
const FINE_MS = 250;
/** The site is quiet once no cap changed for this long and every car draws what its pilot allows, ms. */
const QUIET_AFTER_MS = 8_000;
/** Bus events after which the live loop runs a cycle at once (src/control/control-loop.ts). */
const TRIGGERS: readonly BusEvent[] = ['device.reading', 'connector.status', 'connector.meter', 'session.started', 'session.ended', 'charger.connected', 'charger.disconnected'];
const MIN_TRIGGER_GAP_MS = 100;
/** src/ocpp's default: a round waits this long for answers. */
const ANSWER_WAIT_MS = 2_000;
/** Outside changes that open a reaction window (the EMS cannot foresee them). */
const UNFORESEEN = new Set(['load-step', 'pv-swing', 'signal']);
/** Slack between a long step and the expiry of the profiles the dispatcher renews, ms. */
const RENEW_MARGIN_MS = 10_000;
/** While a car tapers its draw falls with its charge: long steps are at most this, ms. */
const TAPER_STEP_MS = 60_000;

export interface PlantReplayOptions extends ReplayOptions {
  /** Field timing to draw chargers and cars from (default FIELD_TIMING). */
  timing?: PlantTiming;
}

/** What the plant replay measured beyond the KPIs. */
export interface PlantMeasures {
  emsCausedAs: number;
  outsideAs: number;
  episodes: number;
  emsCausedEpisodes: number;
  reactionWindowMs: number;
  worst: { node: string; phase: number; fromMs: number; toMs: number; ampereSeconds: number; peakA: number; limitA: number }[];
  /** The largest episodes inside a reaction window after an outside change (a building step). */
  worstOutside: { node: string; phase: number; fromMs: number; toMs: number; ampereSeconds: number; peakA: number; limitA: number }[];
  /** The highest true current on each line at the connection point, A. */
  peakLineA: [number, number, number];
  /** SetChargingProfile calls sent (refreshes included). */
  profiles: number;
  /** TxProfiles that carried a new limit for their connector. */
  capChanges: number;
  cycles: number;
  fineSteps: number;
  longSteps: number;
}

export async function replayOnPlant(options: PlantReplayOptions): Promise<ReplayResult> {
  return new PlantReplay(options).run();
}

interface Tracked {
  sessionId: string;
  car: PlantCar;
}

class PlantReplay {
  private readonly config: Config;
  private readonly params: DecideParams;
  private readonly bus = new Bus(silentLogger);
  private readonly state: SiteState;
  private readonly plant: SitePlant;
  private readonly startAtMs: number;
  private readonly pvOnItsOwn: boolean;
  /** A PV device reports PV on its own; without one the meters show the building net of PV. */
  private readonly pvMetered: boolean;
  /** What the plant serves now (the sample in force), as the site's meters would show it. */
  private readonly served: ReplayPlant['served'];
  /** The config as the planner may know it (planner-site-view.ts). */
  private readonly plannerConfig: Config;
  private readonly truth: SiteTruth;
  private readonly tariff: Tariff;
  private readonly dispatcher?: VirtualDispatcher;
  private readonly kpi: KpiAccumulator;
  private readonly overshoot: OvershootMeter;
  private readonly sessionsById: Map<string, ReplayOptions['sessions'][number]>;
  private readonly tracked = new Map<string, Tracked>();
  private readonly results: SessionResult[] = [];
  private readonly ready = new Set<string>();
  private readonly activeTx = new Map<string, number>();
  private readonly bootSetup: PlantBootSetup;
  private readonly nodeLimits: { id: string; limitA: number; keys: readonly string[] }[] = [];
  private readonly staticParams: DecideParams;
  private readonly ceilings: PlanCeilings;
  private readonly carDraws: CarDrawWatcher;
  private readonly planning: boolean;
  private readonly slotMs: number;
  /** Outside events the long steps must not pass, plant ms, sorted; consumed from `nextScheduled`. */
  private readonly scheduled: number[];
  private nextScheduled = 0;
  private memory: ControlMemory = initialControlMemory;
  private nowMs = 0;
  private nextTickMs = 0;
  private triggerAtMs: number | undefined;
  private lastCycleMs = -Infinity;
  private rerun = false;
  private lastCapChangeMs = 0;
  private lastCaps = new Map<string, number>();
  private plan: Plan | undefined;
  private planAtMs = -Infinity;
  private planDirty = true;
  private readonly planSolveMs: number[] = [];
  private failedPlans = 0;
  private changeIndex = 0;
  private lastUnforeseenMs = -Infinity;
  /** When the newest meter reading delivered was taken, plant ms; and the newest the last cycle ran on. */
  private readingMs = -Infinity;
  private cycleReadingMs = -Infinity;
  private cycles = 0;
  private fineSteps = 0;
  private longSteps = 0;
  private readonly series?: ReplaySeries;
  private nextSeriesMs = 0;
  private readonly seriesEveryMs: number;
  private lastTruthRecordMs = -Infinity;
  private readonly peakLineA = [0, 0, 0];
  /** Longest meter delay + 1, ms. */
  private readonly meterDelayMs: number;

  constructor(private readonly options: PlantReplayOptions) {
    this.config = options.config;
    this.params = options.params;
    this.tariff = new Tariff(this.config.tariffs, this.config.site.timezone);
    this.truth = new SiteTruth(this.config, this.tariff.zone, options.seed ?? 1, !options.idealSite);
    const built = replayPlant(this.config, this.params, options.sessions, this.truth, options.seed ?? 1, options.timing ?? FIELD_TIMING);
    this.startAtMs = built.startAtMs;
    this.pvOnItsOwn = built.pvOnItsOwn;
    this.pvMetered = this.config.devices.some((d) => d.role === 'pv');
    this.served = built.served;
    this.plannerConfig = plannerConfig(this.config, built.pvOnItsOwn);
    this.plant = new SitePlant(built.scenario, { maxStepMs: Number.MAX_SAFE_INTEGER });
    this.state = new SiteState(this.config, this.bus);
    this.kpi = new KpiAccumulator(this.tariff.demandChargePerKW, (this.config.tariffs?.demandCharge?.windowMin ?? 15) * 60_000);
    this.sessionsById = new Map(options.sessions.map((s) => [s.id, s]));
    this.bootSetup = new PlantBootSetup(this.config, this.plant, staticShares(this.config), (chargerId, floors) => this.setupDone(chargerId, floors));
    this.staticParams = staticBalancerParams(this.params, this.config);
    this.planning = options.strategy === 'controlled' && options.plan !== false && options.solver !== undefined;
    this.slotMs = (this.config.planner?.slotMin ?? 15) * 60_000;
    this.carDraws = new CarDrawWatcher(this.config);
    const voltage = this.config.site.voltage;
    const chargers = new Map(this.params.chargers.map((c) => [c.id, c]));
    this.ceilings = new PlanCeilings((key) => {
      const charger = chargers.get(key.slice(0, key.lastIndexOf('/')));
      const voltsTimesPhases = voltage * (charger ? powerWeightOf(charger) : 3);
      return { minPowerW: (charger?.minCurrentA ?? 0) * voltsTimesPhases, maxPowerW: (charger?.maxCurrentA ?? 0) * voltsTimesPhases, voltsTimesPhases };
    });
    const collect = (node: DecideParams['circuit'], root: boolean) => {
      this.nodeLimits.push({ id: node.id, limitA: root ? Math.min(node.maxCurrentA, this.params.grid.maxCurrentA) : node.maxCurrentA, keys: [0, 1, 2].map((p) => `${node.id}/${p}`) });
      node.children.forEach((child) => collect(child, false));
    };
    collect(this.params.circuit, true);
    const scenario = built.scenario;
    const car = Math.max(0, ...scenario.cars.map((c) => c.responseDelayMs));
    const charger = Math.max(0, ...scenario.chargers.map((c) => c.answerDelayMs + c.applyDelayMs));
    const meter = Math.max(0, ...scenario.meters.map((m) => m.periodMs + m.delayMs));
    this.meterDelayMs = Math.max(1, ...scenario.meters.map((m) => m.delayMs + 1));
    this.overshoot = new OvershootMeter(meter + this.config.control.intervalMs + MIN_TRIGGER_GAP_MS + charger + car + 200);
    const times = new Set<number>();
    for (const c of scenario.cars) {
      times.add(c.arriveAtMs);
      if (c.leaveAtMs !== undefined) times.add(c.leaveAtMs);
    }
    for (const step of scenario.loads[0]?.steps ?? []) times.add(step.atMs);
    for (const p of scenario.pv?.curve ?? []) times.add(p.atMs);
    this.scheduled = [...times].sort((a, b) => a - b);
    this.seriesEveryMs = options.seriesPoints ? Math.max(1_000, scenario.durationMs / options.seriesPoints) : Infinity;
    if (options.seriesPoints) this.series = { atMs: [], gridW: [], evW: [], limitW: [], sessionWh: {}, sessionFirst: {} };
    if (options.strategy !== 'uncontrolled') {
      this.dispatcher = new VirtualDispatcher(
        {
          bus: this.bus,
          voltageV: voltage,
          profileDurationS: this.config.control.profileDurationS,
          profileMinIntervalMs: this.config.control.profileMinIntervalMs,
          answerWaitMs: ANSWER_WAIT_MS,
          charger: (id) => this.config.chargers.find((c) => c.id === id),
          ready: (id) => this.ready.has(id),
          activeTransaction: (chargerId, connectorId) => this.activeTx.get(connectorKey(chargerId, connectorId)),
          send: (chargerId, _connectorId, profile) => this.plant.setChargingProfile(chargerId, profile),
        },
        this.startAtMs,
      );
      for (const event of TRIGGERS) this.bus.on(event, () => this.trigger());
    }
  }

  private wall(atMs: number): number {
    return this.startAtMs + atMs;
  }

  async run(): Promise<ReplayResult> {
    const started = performance.now();
    const endMs = this.plant.scenario.durationMs;
    // A TxProfile expires after profileDurationS into the connector's default; the live dispatcher
    // renews it at half its duration. A long step never outlasts that renewal (and its answer).
    const renewMs = (this.config.control.profileDurationS * 1000) / 2 - RENEW_MARGIN_MS;
    const maxLongMs = Math.max(FINE_MS, Math.min(this.options.stepMs ?? 60_000, renewMs));
    let lastProgress = -1;
    while (this.nowMs < endMs) {
      const quiet = this.isQuiet();
      const target = quiet ? Math.min(endMs, this.longStepEnd(maxLongMs)) : Math.min(endMs, this.nowMs + FINE_MS);
      const long = target > this.nowMs + FINE_MS;
      if (long) this.longSteps++;
      else this.fineSteps++;
      const events = this.plant.stepTo(target, (truth, dtMs) => this.measure(truth, dtMs));
      this.nowMs = target;
      if (long && target < endMs) {
        // The reading taken at the end of a quiet while is still on its way: the live loop's next
        // cycle runs on it, not on the one before the quiet while.
        this.nowMs = Math.min(endMs, target + this.meterDelayMs);
        events.push(...this.plant.stepTo(this.nowMs, (truth, dtMs) => this.measure(truth, dtMs)));
      }
      for (const event of events) this.deliver(event);
      this.dispatcher?.tick(this.wall(this.nowMs));
      if (this.dispatcher) {
        if (this.nowMs >= this.nextTickMs) {
          this.nextTickMs = this.nowMs + this.config.control.intervalMs;
          await this.cycle();
        } else if (this.triggerAtMs !== undefined && this.nowMs >= this.triggerAtMs) {
          this.triggerAtMs = undefined;
          await this.cycle();
        }
      }
      const progress = Math.floor((this.nowMs / endMs) * 200);
      if (this.options.onProgress && progress !== lastProgress) {
        lastProgress = progress;
        this.options.onProgress(progress / 200);
      }
    }
    for (const [key, t] of this.tracked) this.finish(key, t);
    // A car that left before its transaction started (a stay shorter than the authorisation) got nothing.
    for (const s of [...this.sessionsById.values()]) {
      this.results.push({ id: s.id, requestedWh: s.energyWh, deliveredWh: 0, unmetWh: s.energyWh });
      this.kpi.addSession({ requestedWh: s.energyWh, deliveredWh: 0 });
      this.sessionsById.delete(s.id);
    }
    this.options.onProgress?.(1);
    const summary = this.overshoot.summary();
    const kpis = this.kpi.result();
    const plant: PlantMeasures = {
      emsCausedAs: summary.emsCausedAs,
      outsideAs: summary.outsideAs,
      episodes: summary.episodes,
      emsCausedEpisodes: summary.emsCausedEpisodes,
      reactionWindowMs: summary.reactionWindowMs,
      worst: summary.worst.map(({ emsCaused: _e, ...rest }) => ({ ...rest, fromMs: this.wall(rest.fromMs), toMs: this.wall(rest.toMs) })),
      worstOutside: summary.worstOutside.map(({ emsCaused: _e, ...rest }) => ({ ...rest, fromMs: this.wall(rest.fromMs), toMs: this.wall(rest.toMs) })),
      peakLineA: [this.peakLineA[0], this.peakLineA[1], this.peakLineA[2]],
      profiles: this.dispatcher?.sent.length ?? 0,
      capChanges: this.capChanges(),
      cycles: this.cycles,
      fineSteps: this.fineSteps,
      longSteps: this.longSteps,
    };
    return {
      strategy: this.options.strategy,
      kpis,
      sessions: this.results,
      plans: this.planSolveMs.length,
      planSolveMs: this.planSolveMs,
      failedPlans: this.failedPlans,
      wallMs: performance.now() - started,
      worstOverA: summary.worstOverA,
      plant,
      ...(this.series ? { series: this.series } : {}),
    };
  }

  private capChanges(): number {
    const last = new Map<string, number>();
    let n = 0;
    for (const sent of this.dispatcher?.sent ?? []) {
      if (sent.purpose !== 'TxProfile' || last.get(sent.key) === sent.limitA) continue;
      last.set(sent.key, sent.limitA);
      n++;
    }
    return n;
  }

  // --- when to step finely -------------------------------------------------------------------

  private isQuiet(): boolean {
    if (this.nowMs - this.lastCapChangeMs < QUIET_AFTER_MS) return false;
    // After a building step or PV swing the EMS must have run a cycle on a reading taken after it
    // before the site is quiet (then a changed cap keeps it fine, above): a long step before that
    // is a while the EMS never looked (the depot at 90 A, seed 2, sat at 104.8 A for 64 s after a
    // 21.9 A building step at 120 s steps, its one cycle after the step on a reading from before
    // it). Within the reaction window only: a meter that lost its readings does not hold the
    // replay fine. Only the EMS reads the meters: the baselines have nothing to react with.
    if (this.options.strategy === 'controlled' && this.cycleReadingMs < this.lastUnforeseenMs && this.nowMs - this.lastUnforeseenMs <= this.overshoot.reactionWindowMs) return false;
    if (this.dispatcher?.busy || this.bootSetup.busy || this.triggerAtMs !== undefined) return false;
    for (const charger of this.plant.chargers.values()) {
      for (const c of charger.connectors) {
        const car = c.car;
        if (!car) {
          if (c.status === 'Finishing') return false;
          continue;
        }
        if (c.transactionId === undefined) return false;
        if (car.phase === 'full') continue;
        if (Math.abs(car.drawA - car.targetUnderA(c.pilotA)) > 0.01) return false;
      }
    }
    return true;
  }

  /** Where a long step from now ends: the replay step, the next outside event, the next plan slot, a car getting full. */
  private longStepEnd(maxLongMs: number): number {
    let end = this.nowMs + maxLongMs;
    while (this.nextScheduled < this.scheduled.length && this.scheduled[this.nextScheduled]! <= this.nowMs) this.nextScheduled++;
    const next = this.scheduled[this.nextScheduled];
    // Stop just before it: the change is then stepped finely (the plant integrates with end-of-step values).
    if (next !== undefined) end = Math.min(end, Math.max(this.nowMs + FINE_MS, next - 1));
    if (this.planning) end = Math.min(end, Math.max(this.nowMs + FINE_MS, this.planAtMs - this.startAtMs + this.slotMs));
    for (const charger of this.plant.chargers.values()) {
      for (const c of charger.connectors) {
        const car = c.car;
        if (!car || car.phase === 'full' || car.drawA <= 0) continue;
        if (car.socPct >= car.spec.taperFromPct) end = Math.min(end, this.nowMs + TAPER_STEP_MS);
        const phases = charger.spec.phases === 1 ? 1 : car.spec.phases;
        const leftWh = ((car.targetSocPct - car.socPct) / 100) * car.spec.capacityWh;
        const toFullMs = (leftWh / (car.drawA * phases * charger.circuitVoltageV)) * 3_600_000;
        end = Math.min(end, this.nowMs + Math.max(FINE_MS, toFullMs));
      }
    }
    return Math.max(this.nowMs + FINE_MS, Math.floor(end));
  }

  // --- the control loop --------------------------------------------------------------------

  private trigger(): void {
    if (this.triggerAtMs !== undefined) return;
    this.triggerAtMs = Math.max(this.nowMs, this.lastCycleMs + MIN_TRIGGER_GAP_MS);
  }

  private async cycle(): Promise<void> {
    const dispatcher = this.dispatcher!;
    if (dispatcher.busy) {
      this.rerun = true;
      return;
    }
    this.rerun = false;
    this.lastCycleMs = this.nowMs;
    this.cycleReadingMs = this.readingMs;
    this.cycles++;
    const atMs = this.wall(this.nowMs);
    let decision: Decision;
    if (this.options.strategy === 'controlled') {
      // The car max each car shows by its draw, learnt as the live planner learns it (car-draw-watcher.ts).
      if (this.carDraws.watch(atMs, this.state.connectors.values(), this.state.lastDecision?.caps)) this.planDirty = true;
      if (this.planning && (this.planDirty || atMs - this.planAtMs >= this.slotMs)) await this.replan(atMs);
      this.ceilings.setPlan(this.plan);
      // Not given decide() the cars' learnt whole amps (carDraws.withWholeAmps): with this session's
      // estimation and meter gate it caused 27.2 A·s over a limit on the public hub at 100 A (issue #11).
      const snapshot = this.state.snapshot(atMs);
      const result = controlStep({ snapshot, params: this.params, memory: this.memory, ceilingsW: this.planning ? [this.ceilings.ceilingsW(snapshot)] : [] });
      this.memory = result.memory;
      decision = result.decision;
    } else {
      const result = controlStep({ snapshot: this.staticSnapshot(atMs), params: this.staticParams, memory: this.memory });
      this.memory = result.memory;
      decision = result.decision;
    }
    const caps = new Map(decision.caps.map((c) => [connectorKey(c.chargerId, c.connectorId), Math.floor(c.currentA * 10) / 10]));
    for (const [key, a] of caps) {
      if (this.activeTx.has(key) && this.lastCaps.get(key) !== a) this.lastCapChangeMs = this.nowMs;
    }
    this.lastCaps = caps;
    this.bus.emit('decision', decision);
    dispatcher.applyCaps(decision.caps, atMs);
  }

  private async replan(atMs: number): Promise<void> {
    const sessions: PlannerSession[] = [];
    const tiers = this.config.control.tiers;
    for (const c of this.state.connectors.values()) {
      if (!c.session) continue;
      sessions.push({
        key: connectorKey(c.chargerId, c.connectorId),
        chargerId: c.chargerId,
        arrivalAtMs: c.session.startedAtMs,
        departureAtMs: c.session.departureAtMs,
        energyWh: c.session.energyWh,
        energyNeedWh: c.session.energyNeedWh,
        tier: c.session.tier,
        tierRank: tiers[c.session.tier] ?? 0,
        socPct: c.session.socPct,
        ...carModelOf(this.carDraws.carModel(c.chargerId, c.connectorId, c.session.transactionId)),
      });
    }
    // What the site's meters show now: the plant's sample in force, not the curve at this instant;
    // without a PV device the building net of PV and no PV reading.
    const served = this.served(atMs);
    const measuredNow = this.pvMetered ? { baseLoadW: served.buildingW, pvW: served.pvW ?? 0 } : { baseLoadW: served.buildingW - (served.pvW ?? 0) };
    const input = buildPlanInput({
      config: this.plannerConfig,
      tariff: this.tariff,
      zone: this.tariff.zone,
      atMs,
      sessions,
      peakSoFarW: this.kpi.result().peakW,
      forecast: this.truth.forecast(),
      measuredNow,
    });
    this.planAtMs = atMs;
    this.planDirty = false;
    const solveStarted = performance.now();
    this.plan = await solvePlan(input, this.options.solver!, this.config.planner?.timeLimitMs ?? 5000);
    this.planSolveMs.push(performance.now() - solveStarted);
    this.options.onPlan?.(this.plan, atMs, { input, measuredNow });
    if (this.plan.status !== 'optimal' && this.plan.status !== 'empty') this.failedPlans++;
  }

  /** A static balancer's view: which connectors have a car that charges (status), nothing measured. */
  private staticSnapshot(atMs: number): SiteSnapshot {
    const rotate = this.options.strategy === 'round-robin';
    const connectors: ConnectorSnapshot[] = [...this.state.connectors.values()].map((c) => {
      const charging = c.session !== null && c.status !== 'SuspendedEV' && c.status !== 'Finishing';
      const session = this.sessionOf(c.chargerId, c.connectorId);
      const charger = this.config.chargers.find((x) => x.id === c.chargerId);
      return {
        chargerId: c.chargerId,
        connectorId: c.connectorId,
        status: charging ? 'Charging' : 'Available',
        session:
          charging && c.session
            ? {
                id: String(c.session.transactionId),
                startedAtMs: rotate ? c.session.energyWh : c.session.startedAtMs,
                energyWh: c.session.energyWh,
                tierRank: 0,
                paused: false,
                ...(session?.phases === 1 && charger?.phases === 3 ? { carPhases: 1 as const } : {}),
              }
            : null,
        drawA: [0, 0, 0],
      };
    });
    return { atMs, grid: null, circuitLoads: [], connectors, signals: {} };
  }

  private sessionOf(chargerId: string, connectorId: number) {
    const tracked = this.tracked.get(connectorKey(chargerId, connectorId));
    return tracked ? this.sessionsById.get(tracked.sessionId) : undefined;
  }

  // --- what reaches the EMS -----------------------------------------------------------------

  private deliver(event: PlantEvent): void {
    const bus = this.bus;
    const at = this.wall(event.atMs);
    switch (event.kind) {
      case 'meter': {
        const meter = this.plant.scenario.meters.find((m) => m.id === event.meterId)!;
        const role = meter.circuitId === this.plant.scenario.circuit.id ? 'grid-meter' : 'load';
        this.readingMs = Math.max(this.readingMs, event.measuredAtMs);
        bus.emit('device.reading', { deviceId: event.meterId, role, atMs: this.wall(event.measuredAtMs), currentA: [...event.currentA], powerW: event.powerW });
        return;
      }
      case 'meter-values': {
        const session = this.sessionOf(event.chargerId, event.connectorId);
        bus.emit('connector.meter', {
          chargerId: event.chargerId,
          connectorId: event.connectorId,
          atMs: this.wall(event.measuredAtMs),
          ...(event.currentA ? { currentA: [...event.currentA] as [number, number, number] } : {}),
          powerW: event.powerW,
          energyWh: event.energyWh,
          // An AC charger reports the car's SoC only where the session says the car tells it.
          ...(session?.socPct !== undefined ? { socPct: event.socPct } : {}),
        });
        return;
      }
      case 'status':
        bus.emit('connector.status', { chargerId: event.chargerId, connectorId: event.connectorId, status: event.status, atMs: at });
        return;
      case 'transaction-started': {
        const key = connectorKey(event.chargerId, event.connectorId);
        this.activeTx.set(key, event.transactionId);
        const car = this.plant.chargers.get(event.chargerId)?.connectors[event.connectorId - 1]?.car;
        const s = car ? this.sessionsById.get(car.spec.id) : undefined;
        if (car && s) this.tracked.set(key, { sessionId: s.id, car });
        const tag = this.config.idTags.find((t) => t.idTag === event.idTag);
        const tier = tag?.tier ?? this.config.chargers.find((c) => c.id === event.chargerId)?.tier ?? 'guest';
        const departureAtMs = s?.departureKnown ? s.departureMs : tag?.departure ? nextLocalTimeMs(this.tariff.zone, at, tag.departure) : undefined;
        const energyNeedWh = s?.energyKnown ? s.energyWh : tag?.energyNeedWh;
        bus.emit('session.started', {
          chargerId: event.chargerId,
          connectorId: event.connectorId,
          transactionId: event.transactionId,
          idTag: event.idTag,
          tier,
          startedAtMs: at,
          meterStartWh: event.meterStartWh,
          ...(departureAtMs !== undefined ? { departureAtMs } : {}),
          ...(energyNeedWh !== undefined ? { energyNeedWh } : {}),
        });
        this.planDirty = true;
        return;
      }
      case 'transaction-ended': {
        const key = connectorKey(event.chargerId, event.connectorId);
        this.activeTx.delete(key);
        this.dispatcher?.transactionEnded(event.chargerId, event.connectorId);
        const t = this.tracked.get(key);
        if (t) this.finish(key, t);
        bus.emit('session.ended', { chargerId: event.chargerId, connectorId: event.connectorId, transactionId: event.transactionId, endedAtMs: at, meterStopWh: event.meterStopWh });
        this.planDirty = true;
        return;
      }
      case 'connected':
        bus.emit('charger.connected', { chargerId: event.chargerId, atMs: at, protocol: 'ocpp1.6' });
        if (this.dispatcher) this.bootSetup.start(event.chargerId, this.nowMs);
        return;
      case 'disconnected':
        this.ready.delete(event.chargerId);
        bus.emit('charger.disconnected', { chargerId: event.chargerId, atMs: at });
        return;
      case 'profile-answer': {
        if (this.bootSetup.answer(event.requestId, event.status, at, bus)) return;
        this.dispatcher?.answer(event.requestId, event.status, at);
        if (this.rerun && !this.dispatcher?.busy) this.trigger();
        return;
      }
    }
  }

  private setupDone(chargerId: string, floors: BootFloor[]): void {
    this.dispatcher!.chargerReset(chargerId, floors, this.wall(this.nowMs));
    this.ready.add(chargerId);
    this.trigger();
  }

  private finish(key: string, t: Tracked): void {
    this.tracked.delete(key);
    const s = this.sessionsById.get(t.sessionId)!;
    const deliveredWh = t.car.energyWh;
    this.results.push({ id: s.id, requestedWh: s.energyWh, deliveredWh, unmetWh: Math.max(0, s.energyWh - deliveredWh) });
    this.kpi.addSession({ requestedWh: s.energyWh, deliveredWh });
    this.sessionsById.delete(t.sessionId);
  }

  // --- measured on the plant -----------------------------------------------------------------

  private measure(truth: PlantTruth, dtMs: number): void {
    const t = truth.atMs;
    const changes = this.plant.changes;
    while (this.changeIndex < changes.length && changes[this.changeIndex]!.atMs <= t) {
      const change = changes[this.changeIndex++]!;
      if (UNFORESEEN.has(change.kind)) this.lastUnforeseenMs = Math.max(this.lastUnforeseenMs, change.atMs);
    }
    const inWindow = t - this.lastUnforeseenMs <= this.overshoot.reactionWindowMs;
    const dtS = dtMs / 1000;
    let opened = false;
    for (const node of this.nodeLimits) {
      const a = truth.nodeA.get(node.id)!;
      for (let p = 0; p < 3; p++) opened = this.overshoot.track(node.keys[p]!, node.id, p, a[p]!, node.limitA, t, dtS, inWindow) || opened;
    }
    const root = truth.nodeA.get(this.plant.scenario.circuit.id)!;
    for (let p = 0; p < 3; p++) if (root[p]! > this.peakLineA[p]!) this.peakLineA[p] = root[p]!;
    const voltage = this.config.site.voltage;
    if (this.config.grid.maxPower !== undefined) opened = this.overshoot.track('import', 'import', -1, truth.gridPowerW / voltage, this.config.grid.maxPower / voltage, t, dtS, inWindow) || opened;
    let evW = 0;
    let charging = 0;
    for (const c of truth.connectors) {
      // The plant's own figure: a line-to-line charger's car charges at √3 × the voltage.
      const w = c.powerW ?? c.drawA * c.carPhases * voltage;
      evW += w;
      if (w > 0) charging++;
    }
    // The step ran from t - dt to t with the values at its end (the plant integrates forward).
    const atMs = this.wall(t - dtMs);
    const pvW = this.pvOnItsOwn ? truth.pvPowerW : this.truth.pvW(atMs);
    this.kpi.addStep({
      atMs,
      durationMs: dtMs,
      gridPowerW: truth.gridPowerW,
      evPowerW: evW,
      pvPowerW: pvW,
      importPricePerKWh: this.tariff.importPricePerKWh(atMs),
      exportPricePerKWh: this.tariff.exportPricePerKWh(atMs),
      carbonGPerKWh: this.tariff.carbonGPerKWh(atMs),
      chargingConnectors: charging,
      connectorCount: truth.connectors.length,
      overLimit: opened,
    });
    if (t - this.lastTruthRecordMs >= 60_000) {
      this.lastTruthRecordMs = t;
      // The EMS learns its profiles from its meters: what the plant serves, net of PV without a PV device.
      const served = this.served(this.wall(t));
      this.truth.record(this.wall(t), this.pvMetered ? served.buildingW : served.buildingW - (served.pvW ?? 0), this.pvMetered ? (served.pvW ?? 0) : 0);
    }
    if (this.series && t >= this.nextSeriesMs) {
      this.nextSeriesMs = t + this.seriesEveryMs;
      const series = this.series;
      series.atMs.push(this.wall(t));
      series.gridW.push(Math.round(truth.gridPowerW));
      series.evW.push(Math.round(evW));
      series.limitW.push(Math.round(importLimitW(this.config)));
      for (const [, tr] of this.tracked) {
        series.sessionFirst[tr.sessionId] ??= series.atMs.length - 1;
        (series.sessionWh[tr.sessionId] ??= []).push(Math.round(tr.car.energyWh));
      }
    }
  }
}
