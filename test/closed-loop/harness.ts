// The closed loop in virtual time: the EMS's real state and control step against the site plant.
// The plant's meters and chargers report at their own times; SiteState is fed exactly as the live
// system feeds it over the bus; the control step runs every control.intervalMs and, coalesced to
// one per 100 ms, after every bus event that triggers the live loop; its caps reach the plant's
// chargers the way src/ocpp sends them. Everything is measured on the plant, never on the EMS.
import type { Config } from '../../config/schema.ts';
import type { Decision } from '../../optimizer/types.ts';
import { SitePlant, type OutsideChange, type PlantChargerSpec, type PlantCircuit, type PlantEvent, type PlantScenario, type PlantTruth, type Triple } from '../../plant/index.ts';
import { Bus, type BusEvent, type GridSignal } from '../../src/bus.ts';
import { silentLogger } from '../../src/log.ts';
import { staticShares } from '../../src/ocpp/static-share.ts';
import { PlantBootSetup, type BootFloor } from '../../src/simulate/plant-boot-setup.ts';
import { OvershootMeter, type OvershootEpisode } from '../../src/simulate/plant-overshoot.ts';
import { VirtualDispatcher } from '../../src/simulate/virtual-dispatcher.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { decideParamsFromConfig } from '../../src/control/decide-params.ts';
import { MeterTriggers, type TriggerCounts } from '../../src/ocpp/meter-triggers.ts';
import type { ConnectorSampleState } from '../../src/ocpp/samples-wanted.ts';
import { createEmsStep, type EmsStep } from './ems-step.ts';
import { flushPromises, RealDispatcherDriver, type LoopDispatcher } from './real-dispatcher.ts';
import { idealEvA } from './ideal-share.ts';
import { emsConfig, type EmsSettings } from './site-config.ts';

/** Bus events after which the live loop runs a cycle at once (src/control/control-loop.ts). */
const TRIGGERS: readonly BusEvent[] = ['device.reading', 'device.health', 'connector.status', 'connector.meter', 'session.started', 'session.ended', 'session.update', 'signals.changed', 'charger.connected', 'charger.disconnected'];
const MIN_TRIGGER_GAP_MS = 100;
/** src/ocpp's default: a round waits this long for answers before it goes on. */
const ANSWER_WAIT_MS = 2_000;
const USE_SAMPLE_MS = 1_000;
/** src/ocpp's TriggerMessage timeout (charger-link.ts), and the lead before a sample goes stale it asks with (central-system.ts). */
const TRIGGER_TIMEOUT_MS = 5_000;
const REFRESH_LEAD_MS = 5_000;
/**
 * Outside changes the EMS cannot foresee. A car that plugs in, fills up, wakes, or a charger that
 * drops out all act under limits the EMS installed beforehand (guarantee 9), so they open no
 * reaction window: an overshoot after them is the EMS's.
 */
const UNFORESEEN: ReadonlySet<OutsideChange['kind']> = new Set(['load-step', 'signal', 'pv-swing']);

export interface ClosedLoopOptions {
  ems?: EmsSettings;
  /** The EMS side (default: the live control step); it may look at the plant only to build an oracle. */
  createStep?: (config: Config, plant: SitePlant) => EmsStep;
  /** Plant integration step, ms (default 100). */
  stepMs?: number;
  /** Steady state starts this long after the reaction window of the last outside change, ms (default 20 s). */
  settleMs?: number;
  /** Record one sample per second (for debugging and saved failures). */
  trace?: boolean;
  /** Trace period, ms (default 1000). */
  traceEveryMs?: number;
  /** Sees the plant's truth after every plant step (benchmarks measure reaction times with it). */
  onStep?: (truth: PlantTruth) => void;
  /**
   * Which profile dispatcher sends the caps: 'virtual' (default; src/simulate/virtual-dispatcher.ts,
   * synchronous) or 'real' (src/ocpp/profile-dispatcher.ts itself on virtual time and timers, see
   * real-dispatcher.ts; only through runClosedLoopOnRealDispatcher).
   */
  dispatcher?: 'virtual' | 'real';
  /**
   * Asked after every plant step (run() only): true ends the run there, and the report covers the
   * time simulated so far (durationMs, stoppedEarly). Benchmarks bound their wall time with it.
   */
  stopWhen?: () => boolean;
  /** Sees every steady-state headroom-use sample (classifying scripts read why a car drew less than its share). */
  onUseSample?: (sample: UseSample) => void;
  /**
   * Whether the EMS asks chargers for samples (TriggerMessage MeterValues) as src/ocpp does
   * (src/ocpp/meter-triggers.ts); default true, CLOSED_LOOP_TRIGGERS=0 turns it off (A/B).
   */
  triggers?: boolean;
}

export interface UseSample {
  atMs: number;
  truth: PlantTruth;
  /** What the cars could draw in all (Σ A × phases) and per connector (A). */
  idealA: number;
  shareA: ReadonlyMap<string, number>;
  /** The caps last decided, by `${chargerId}/${connectorId}`. */
  caps: ReadonlyMap<string, number>;
  decision: Decision | undefined;
}

export type OverLimitEpisode = OvershootEpisode;

export interface TraceSample {
  atMs: number;
  rootA: Triple;
  buildingA: Triple;
  connectors: { key: string; capA?: number; pilotA: number; drawA: number; status: string }[];
  failsafe: boolean;
  /** What the EMS took for the non-EV load at the connection point in its last decision, A. */
  emsBuildingA?: Triple;
}

export interface ClosedLoopReport {
  name: string;
  /** Time simulated, ms: the scenario's duration unless stopWhen ended the run early. */
  durationMs: number;
  /** True when stopWhen ended the run before the scenario's end. */
  stoppedEarly?: boolean;
  reactionWindowMs: number;
  /** A·s above a limit the EMS caused (outside every reaction window), and those after outside changes. */
  emsCausedAs: number;
  outsideAs: number;
  episodes: readonly OverLimitEpisode[];
  /** Cars' draw over what they could draw, in steady state (undefined: no steady state with demand). */
  headroomUse?: number;
  steadyMs: number;
  /** TriggerMessage MeterValues the EMS sent and what came of them (absent with triggers off). */
  triggers?: TriggerCounts;
  /** Real dispatcher only: increases put on the wire before a decrease of their round was accepted. */
  orderViolations?: string[];
  /** Cap changes (TxProfiles with a new limit) per connector within 10 s in steady state: the largest count. */
  maxCapChangesPer10s: number;
  /** Steady-state cap changes that were the 2nd+ within 10 s on their connector. */
  flaps: number;
  capChanges: number;
  /** Full cars whose share was wanted by others: time until their cap fell below the minimum, ms. */
  fullReleaseMs: number[];
  /** Such full cars still holding a cap ≥ the minimum 30 s after they became full. */
  fullUnreleased: number;
  decisions: number;
  failsafeMs: number;
  /** A charging car (drawing) that still wanted current had its cap cut from ≥ its minimum to 0. */
  pauses: number;
  /** Steady-state time some car that wanted current sat at a cap of 0 while the site had room for its minimum, ms. */
  starvedMs: number;
  trace?: TraceSample[];
}

interface NodeLimit {
  id: string;
  maxCurrentA: number;
}

export function reactionWindowMs(scenario: PlantScenario, config: Config): number {
  const meter = Math.max(0, ...scenario.meters.map((m) => m.periodMs + m.delayMs));
  const charger = Math.max(0, ...scenario.chargers.map((c) => c.answerDelayMs + c.applyDelayMs));
  const car = Math.max(0, ...scenario.cars.map((c) => c.responseDelayMs));
  return meter + config.control.intervalMs + MIN_TRIGGER_GAP_MS + charger + car + 200;
}

export function runClosedLoop(scenario: PlantScenario, options: ClosedLoopOptions = {}): ClosedLoopReport {
  return new ClosedLoop(scenario, { ...options, dispatcher: 'virtual' }).run();
}

/** The closed loop with the live ProfileDispatcher: its promises run between plant steps. */
export function runClosedLoopOnRealDispatcher(scenario: PlantScenario, options: ClosedLoopOptions = {}): Promise<ClosedLoopReport> {
  return new ClosedLoop(scenario, { ...options, dispatcher: 'real' }).runAsync();
}

class ClosedLoop {
  readonly config: Config;
  readonly plant: SitePlant;
  readonly bus = new Bus(silentLogger);
  readonly state: SiteState;
  readonly step: EmsStep;
  readonly dispatcher: LoopDispatcher;
  readonly windowMs: number;
  private readonly settleMs: number;
  private readonly stepMs: number;
  private readonly nodes: NodeLimit[] = [];
  private readonly ready = new Set<string>();
  private readonly activeTx = new Map<string, number>();
  private readonly bootSetup: PlantBootSetup;
  private readonly chargerSpecs: Map<string, PlantChargerSpec>;
  private readonly importCapW?: number;
  // Control loop model.
  private running = false;
  private rerun = false;
  private triggerAtMs: number | undefined;
  private lastStartMs = -Infinity;
  private nextTickMs = 0;
  private nowMs = 0;
  private lastDecision: Decision | undefined;
  private lastCaps = new Map<string, number>();
  // Outside changes.
  private preloaded: { atMs: number; unforeseen: boolean }[] = [];
  private preloadedIndex = 0;
  private dynamicIndex: number;
  /** Any outside change (steady state starts a while after the last one). */
  private lastChangeAtMs = -Infinity;
  /**
   * An outside change the EMS could not foresee (load step, signal): opens a reaction window. The
   * start is one: chargers power up holding no profile (they offer their max) until the boot floor
   * the EMS sends on connect has been answered and applied and their cars have followed it.
   */
  private lastUnforeseenAtMs = 0;
  // Measurements.
  private readonly report: ClosedLoopReport;
  private readonly overshoot: OvershootMeter;
  private useNumerator = 0;
  private useDenominator = 0;
  private nextUseSampleMs = 0;
  private readonly steadyIntervals: [number, number][] = [];
  private readonly fullWatch = new Map<string, number>();
  // TriggerMessage MeterValues (src/ocpp/meter-triggers.ts), and the requests awaiting an answer.
  private readonly meterTriggers: MeterTriggers | undefined;
  private readonly pendingTriggers = new Map<number, { chargerId: string; connectorId: number; sentAtMs: number }>();

  constructor(
    readonly scenario: PlantScenario,
    readonly options: ClosedLoopOptions,
  ) {
    this.config = emsConfig(scenario, options.ems);
    this.plant = new SitePlant(scenario, { maxStepMs: options.stepMs ?? 100 });
    this.state = new SiteState(this.config, this.bus);
    this.step = (options.createStep ?? createEmsStep)(this.config, this.plant);
    this.windowMs = reactionWindowMs(scenario, this.config);
    this.overshoot = new OvershootMeter(this.windowMs);
    this.settleMs = options.settleMs ?? 20_000;
    this.stepMs = options.stepMs ?? 100;
    this.bootSetup = new PlantBootSetup(this.config, this.plant, staticShares(this.config), (chargerId, floors) => this.setupDone(chargerId, floors));
    this.chargerSpecs = new Map(scenario.chargers.map((c) => [c.id, c]));
    this.importCapW = options.ems?.maxPowerW;
    const collect = (node: PlantCircuit) => {
      this.nodes.push({ id: node.id, maxCurrentA: node.maxCurrentA });
      node.children.forEach(collect);
    };
    collect(scenario.circuit);
    this.preloaded = this.plant.changes.map((c) => ({ atMs: c.atMs, unforeseen: UNFORESEEN.has(c.kind) })).sort((a, b) => a.atMs - b.atMs);
    this.dynamicIndex = this.plant.changes.length;
    const shares = staticShares(this.config);
    this.dispatcher =
      options.dispatcher === 'real'
        ? new RealDispatcherDriver(this.plant, this.config, this.bus, shares, scenario.startAtMs, this.activeTx, ANSWER_WAIT_MS)
        : new VirtualDispatcher(
            {
              bus: this.bus,
              voltageV: scenario.voltageV,
              profileDurationS: this.config.control.profileDurationS,
              profileMinIntervalMs: this.config.control.profileMinIntervalMs,
              answerWaitMs: ANSWER_WAIT_MS,
              charger: (id) => this.config.chargers.find((c) => c.id === id),
              ready: (id) => this.ready.has(id),
              activeTransaction: (chargerId, connectorId) => this.activeTx.get(`${chargerId}/${connectorId}`),
              send: (chargerId, _connectorId, profile) => this.plant.setChargingProfile(chargerId, profile),
            },
            scenario.startAtMs,
          );
    for (const event of TRIGGERS) this.bus.on(event, () => this.trigger());
    if (options.triggers ?? process.env.CLOSED_LOOP_TRIGGERS !== '0') {
      const params = decideParamsFromConfig(this.config);
      this.meterTriggers = new MeterTriggers({ carResponseMs: params.carResponseMs ?? 5_000, drawStaleMs: params.drawStaleAfterMs ?? params.staleAfterMs, refreshLeadMs: REFRESH_LEAD_MS });
    }
    this.report = {
      name: scenario.name,
      durationMs: scenario.durationMs,
      reactionWindowMs: this.windowMs,
      emsCausedAs: 0,
      outsideAs: 0,
      episodes: [],
      steadyMs: 0,
      maxCapChangesPer10s: 0,
      flaps: 0,
      capChanges: 0,
      fullReleaseMs: [],
      fullUnreleased: 0,
      decisions: 0,
      failsafeMs: 0,
      pauses: 0,
      starvedMs: 0,
      ...(options.trace ? { trace: [] } : {}),
      ...(this.meterTriggers ? { triggers: this.meterTriggers.counts } : {}),
    };
  }

  private wall(atMs: number): number {
    return this.scenario.startAtMs + atMs;
  }

  run(): ClosedLoopReport {
    const signals: GridSignal[] = [];
    const pendingSignals = [...this.scenario.signals].sort((a, b) => a.fromMs - b.fromMs);
    const stopWhen = this.options.stopWhen;
    for (let t = this.stepMs; t <= this.scenario.durationMs; t += this.stepMs) {
      this.stepTo(t, signals, pendingSignals);
      if (stopWhen?.() && t < this.scenario.durationMs) {
        this.report.durationMs = t;
        this.report.stoppedEarly = true;
        break;
      }
    }
    return this.finish();
  }

  /** As run(), letting the dispatcher's promises run after every plant step (the real dispatcher). */
  async runAsync(): Promise<ClosedLoopReport> {
    const signals: GridSignal[] = [];
    const pendingSignals = [...this.scenario.signals].sort((a, b) => a.fromMs - b.fromMs);
    for (let t = this.stepMs; t <= this.scenario.durationMs; t += this.stepMs) {
      this.stepTo(t, signals, pendingSignals);
      await flushPromises();
      this.settleCycle();
      if (this.triggerAtMs !== undefined && t >= this.triggerAtMs) {
        this.triggerAtMs = undefined;
        this.runCycle();
        await flushPromises();
        this.settleCycle();
      }
    }
    return this.finish();
  }

  private stepTo(t: number, signals: GridSignal[], pendingSignals: PlantScenario['signals'][number][]): void {
    const events = this.plant.stepTo(t, (truth, dtMs) => {
      this.measure(truth, dtMs);
      this.options.onStep?.(truth);
    });
    this.nowMs = t;
    while (pendingSignals.length && pendingSignals[0]!.fromMs <= t) {
      const s = pendingSignals.shift()!;
      signals.push({ id: s.id, source: 'operator', kind: 'import-limit', startMs: this.wall(s.fromMs), endMs: this.wall(s.toMs), value: s.valueW });
      this.bus.emit('signals.changed', { signals: [...signals], source: 'operator' });
    }
    for (const event of events) this.deliver(event);
    for (const [requestId, pending] of this.pendingTriggers) {
      if (t - pending.sentAtMs < TRIGGER_TIMEOUT_MS) continue;
      this.pendingTriggers.delete(requestId);
      this.meterTriggers?.answered(pending.chargerId, pending.connectorId, 'Failed', t);
    }
    this.dispatcher.tick(this.wall(t));
    this.settleCycle();
    if (t >= this.nextTickMs) {
      this.nextTickMs = t + this.config.control.intervalMs;
      this.runCycle();
    }
    if (this.triggerAtMs !== undefined && t >= this.triggerAtMs) {
      this.triggerAtMs = undefined;
      this.runCycle();
    }
    if (this.options.trace && t % (this.options.traceEveryMs ?? 1000) === 0) this.sample(t);
  }

  // --- the control loop, as src/control/control-loop.ts runs it --------------------------------

  private trigger(): void {
    if (this.running) {
      this.rerun = true;
      return;
    }
    if (this.triggerAtMs !== undefined) return;
    this.triggerAtMs = Math.max(this.nowMs, this.lastStartMs + MIN_TRIGGER_GAP_MS);
  }

  private runCycle(): void {
    if (this.running) {
      this.rerun = true;
      return;
    }
    this.running = true;
    this.lastStartMs = this.nowMs;
    const decision = this.step.run(this.state, this.wall(this.nowMs));
    this.report.decisions++;
    this.lastDecision = decision;
    const caps = new Map(decision.caps.map((c) => [`${c.chargerId}/${c.connectorId}`, c.currentA]));
    for (const c of this.plant.truth().connectors) {
      const key = `${c.chargerId}/${c.connectorId}`;
      // A car that was charging (drawing) and still wants current; a car just plugged in and held
      // at 0 while others slow down (the handover) is not a pause.
      if (c.transactionId !== undefined && c.wantA > 0 && c.drawA > 1 && (this.lastCaps.get(key) ?? 0) >= 6 && (caps.get(key) ?? 0) === 0) this.report.pauses++;
    }
    this.lastCaps = caps;
    this.bus.emit('decision', decision);
    this.dispatcher.applyCaps(decision.caps, this.wall(this.nowMs));
    this.askForSamples(decision);
    this.settleCycle();
  }

  /** After the caps, as src/ocpp/central-system.ts: TriggerMessage MeterValues to the chargers MeterTriggers picks. */
  private askForSamples(decision: Decision): void {
    const triggers = this.meterTriggers;
    if (!triggers) return;
    const state = this.state;
    const ready = this.ready;
    function* connectors(): Generator<ConnectorSampleState> {
      for (const c of state.connectors.values()) yield { chargerId: c.chargerId, connectorId: c.connectorId, session: c.session !== null, lastSampleAtMs: c.drawAtMs, reachable: ready.has(c.chargerId) };
    }
    for (const want of triggers.pick(decision, connectors, this.nowMs)) {
      const { requestId, status } = this.plant.triggerMeterValues(want.chargerId, want.connectorId);
      if (status === 'Offline') triggers.answered(want.chargerId, want.connectorId, 'Closed', this.nowMs);
      else this.pendingTriggers.set(requestId, { chargerId: want.chargerId, connectorId: want.connectorId, sentAtMs: this.nowMs });
    }
  }

  private settleCycle(): void {
    if (!this.running || this.dispatcher.busy) return;
    this.running = false;
    if (this.rerun) {
      this.rerun = false;
      this.trigger();
    }
  }

  // --- what the devices report, as src/ocpp and the device service put it on the bus ----------

  private deliver(event: PlantEvent): void {
    const bus = this.bus;
    const at = this.wall(event.atMs);
    switch (event.kind) {
      case 'meter': {
        const meter = this.scenario.meters.find((m) => m.id === event.meterId)!;
        const role = meter.circuitId === this.scenario.circuit.id ? 'grid-meter' : 'load';
        bus.emit('device.reading', { deviceId: event.meterId, role, atMs: at, currentA: [...event.currentA], powerW: event.powerW });
        return;
      }
      case 'meter-values': {
        const phases = this.chargerSpecs.get(event.chargerId)?.phases ?? 3;
        // A Current.Import without a phase counts for every phase the charger has (src/ocpp/meter-values.ts).
        const currentA: [number, number, number] | undefined = event.currentA
          ? [...event.currentA]
          : event.currentImportA !== undefined
            ? phases === 3
              ? [event.currentImportA, event.currentImportA, event.currentImportA]
              : [event.currentImportA, 0, 0]
            : undefined;
        bus.emit('connector.meter', {
          chargerId: event.chargerId,
          connectorId: event.connectorId,
          atMs: this.wall(event.measuredAtMs),
          ...(currentA ? { currentA } : {}),
          powerW: event.powerW,
          energyWh: event.energyWh,
          socPct: event.socPct,
        });
        return;
      }
      case 'status':
        bus.emit('connector.status', { chargerId: event.chargerId, connectorId: event.connectorId, status: event.status, atMs: at });
        return;
      case 'transaction-started':
        this.activeTx.set(`${event.chargerId}/${event.connectorId}`, event.transactionId);
        bus.emit('session.started', { chargerId: event.chargerId, connectorId: event.connectorId, transactionId: event.transactionId, idTag: event.idTag, tier: 'guest', startedAtMs: at, meterStartWh: event.meterStartWh });
        return;
      case 'transaction-ended':
        this.activeTx.delete(`${event.chargerId}/${event.connectorId}`);
        this.dispatcher.transactionEnded(event.chargerId, event.connectorId);
        bus.emit('session.ended', { chargerId: event.chargerId, connectorId: event.connectorId, transactionId: event.transactionId, endedAtMs: at, meterStopWh: event.meterStopWh });
        return;
      case 'connected':
        bus.emit('charger.connected', { chargerId: event.chargerId, atMs: at, protocol: 'ocpp1.6' });
        this.bootSetup.start(event.chargerId, this.nowMs);
        return;
      case 'disconnected':
        this.ready.delete(event.chargerId);
        this.dispatcher.disconnected?.(event.chargerId);
        bus.emit('charger.disconnected', { chargerId: event.chargerId, atMs: at });
        return;
      case 'trigger-answer': {
        if (!this.pendingTriggers.delete(event.requestId)) return;
        this.meterTriggers?.answered(event.chargerId, event.connectorId, event.status, this.nowMs);
        return;
      }
      case 'profile-answer': {
        if (this.bootSetup.answer(event.requestId, event.status, at, bus)) return;
        this.dispatcher.answer(event.requestId, event.status, at);
        this.settleCycle();
        return;
      }
    }
  }

  private setupDone(chargerId: string, floors: BootFloor[]): void {
    this.dispatcher.chargerReset(chargerId, floors, this.wall(this.nowMs));
    this.ready.add(chargerId);
    this.trigger();
  }

  // --- measurement on the plant -----------------------------------------------------------

  private updateChanges(atMs: number): void {
    while (this.preloadedIndex < this.preloaded.length && this.preloaded[this.preloadedIndex]!.atMs <= atMs) {
      const change = this.preloaded[this.preloadedIndex++]!;
      this.lastChangeAtMs = Math.max(this.lastChangeAtMs, change.atMs);
      if (change.unforeseen) this.lastUnforeseenAtMs = Math.max(this.lastUnforeseenAtMs, change.atMs);
    }
    const changes = this.plant.changes;
    while (this.dynamicIndex < changes.length) {
      const change = changes[this.dynamicIndex++]!;
      this.lastChangeAtMs = Math.max(this.lastChangeAtMs, change.atMs);
      if (UNFORESEEN.has(change.kind)) this.lastUnforeseenAtMs = Math.max(this.lastUnforeseenAtMs, change.atMs);
      if (change.kind === 'car-full') this.watchFull(change.id, change.atMs);
    }
  }

  private watchFull(carId: string, atMs: number): void {
    const truth = this.plant.truth();
    const connector = truth.connectors.find((c) => c.carId === carId);
    if (!connector) return;
    // Only when another car wants more than it draws: then the share matters.
    const starved = truth.connectors.some((c) => c.carId !== carId && c.transactionId !== undefined && c.wantA >= 6 && c.drawA < c.wantA - 1);
    if (starved) this.fullWatch.set(`${connector.chargerId}/${connector.connectorId}`, atMs);
  }

  private measure(truth: PlantTruth, dtMs: number): void {
    const t = truth.atMs;
    this.updateChanges(t);
    const inWindow = t - this.lastUnforeseenAtMs <= this.windowMs;
    const dtS = dtMs / 1000;
    for (const node of this.nodes) {
      const a = truth.nodeA.get(node.id)!;
      for (let p = 0; p < 3; p++) this.track(`${node.id}/${p}`, node.id, p, a[p]!, node.maxCurrentA, t, dtS, inWindow);
    }
    const limits = [this.plant.signalLimitW(t), this.importCapW].filter((w): w is number => w !== undefined);
    if (limits.length) {
      const v = this.scenario.voltageV;
      this.track('import', 'import', -1, truth.gridPowerW / v, Math.min(...limits) / v, t, dtS, inWindow);
    }
    if (this.lastDecision?.failsafe) this.report.failsafeMs += dtMs;
    const steady = t - this.lastChangeAtMs >= this.windowMs + this.settleMs;
    if (steady) {
      this.report.steadyMs += dtMs;
      const last = this.steadyIntervals.at(-1);
      if (last && last[1] >= t - dtMs) last[1] = t;
      else this.steadyIntervals.push([t, t]);
      if (t >= this.nextUseSampleMs) {
        this.nextUseSampleMs = t + USE_SAMPLE_MS;
        const limitW = limits.length ? Math.min(...limits) : undefined;
        const { totalA: ideal, shareA } = idealEvA(this.scenario, truth, this.config.grid.safetyMargin, limitW);
        for (const [key, share] of shareA) if (share >= 6 && (this.lastCaps.get(key) ?? 0) === 0) this.report.starvedMs += USE_SAMPLE_MS;
        if (ideal >= 1) {
          const actual = truth.connectors.reduce((sum, c) => sum + (this.chargerSpecs.get(c.chargerId)?.profiles === 'obeys' ? c.drawA * c.carPhases : 0), 0);
          this.useNumerator += Math.min(actual, ideal);
          this.useDenominator += ideal;
        }
        this.options.onUseSample?.({ atMs: t, truth, idealA: ideal, shareA, caps: this.lastCaps, decision: this.lastDecision });
      }
    }
    for (const [key, fromMs] of this.fullWatch) {
      const cap = this.lastCaps.get(key);
      if (cap !== undefined && cap < 6) {
        this.report.fullReleaseMs.push(t - fromMs);
        this.fullWatch.delete(key);
      } else if (t - fromMs > 30_000) {
        this.report.fullUnreleased++;
        this.fullWatch.delete(key);
      }
    }
  }

  private track(key: string, node: string, phase: number, a: number, limitA: number, t: number, dtS: number, inWindow: boolean): void {
    this.overshoot.track(key, node, phase, a, limitA, t, dtS, inWindow);
  }

  private sample(t: number): void {
    const truth = this.plant.truth();
    this.report.trace!.push({
      atMs: t,
      rootA: truth.nodeA.get(this.scenario.circuit.id)!.map((a) => Math.round(a * 10) / 10) as Triple,
      buildingA: truth.buildingA.get(this.scenario.circuit.id)!.map((a) => Math.round(a * 10) / 10) as Triple,
      connectors: truth.connectors.map((c) => ({ key: `${c.chargerId}/${c.connectorId}`, capA: this.lastCaps.get(`${c.chargerId}/${c.connectorId}`), pilotA: Math.round(c.pilotA * 10) / 10, drawA: Math.round(c.drawA * 10) / 10, status: c.status })),
      failsafe: this.lastDecision?.failsafe ?? false,
      ...(this.lastDecision ? { emsBuildingA: [...this.lastDecision.headroom.buildingA] as Triple } : {}),
    });
  }

  private finish(): ClosedLoopReport {
    const r = this.report;
    if (this.dispatcher instanceof RealDispatcherDriver) r.orderViolations = this.dispatcher.orderViolations;
    Object.assign(r, this.overshoot.totals());
    r.headroomUse = this.useDenominator > 0 ? this.useNumerator / this.useDenominator : undefined;
    // Cap changes: profiles that carried a new limit for their connector.
    const lastLimit = new Map<string, number>();
    const byKey = new Map<string, number[]>();
    // Only TxProfiles count: a car follows them; an idle connector's default moves no current.
    for (const s of this.dispatcher.sent) {
      if (s.purpose !== 'TxProfile' || lastLimit.get(s.key) === s.limitA) continue;
      lastLimit.set(s.key, s.limitA);
      r.capChanges++;
      const t = s.atMs - this.scenario.startAtMs;
      if (!this.steadyIntervals.some(([from, to]) => t >= from && t <= to)) continue;
      const times = byKey.get(s.key) ?? [];
      times.push(t);
      byKey.set(s.key, times);
      const within = times.filter((x) => t - x < 10_000).length;
      r.maxCapChangesPer10s = Math.max(r.maxCapChangesPer10s, within);
      if (within > 1) r.flaps++;
    }
    return r;
  }
}

/** One line per EMS-caused episode, for failure messages. */
export function describeViolations(report: ClosedLoopReport): string {
  return report.episodes
    .filter((e) => e.emsCaused)
    .slice(0, 5)
    .map((e) => `${e.node}${e.phase >= 0 ? ` L${e.phase + 1}` : ''}: ${e.peakA.toFixed(1)} A on ${e.limitA.toFixed(1)} A from ${(e.fromMs / 1000).toFixed(1)} s to ${(e.toMs / 1000).toFixed(1)} s (${e.ampereSeconds.toFixed(1)} A·s)`)
    .join('; ');
}
