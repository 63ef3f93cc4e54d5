import { LINE_PAIRS, PlantCharger, type ConnectorTruth } from './charger.ts';
import type { PlantProfile } from './charging-profile.ts';
import type { OutsideChange, PlantEvent, ProfileAnswer } from './events.ts';
import { PlantMeter } from './meter.ts';
import { SeededRandom } from './random.ts';
import { loadA, pvAvailableW, pvOutputW, stepBattery, type BatteryState, type DeviceSetpoints } from './site-physics.ts';
import type { PlantCarSpec, PlantCircuit, PlantScenario, Triple } from './types.ts';

const COS30 = Math.sqrt(3) / 2;

/** The physical truth at one moment (what an ideal instrument would read); updated in place by each step. */
export interface PlantTruth {
  atMs: number;
  /**
   * True current per circuit node and site phase, A (the root is the connection point): the
   * magnitude of the phasor sum of every load on that line, signed as its active power (negative:
   * export). With only line-to-neutral and three-phase loads it is the plain sum.
   */
  nodeA: Map<string, Triple>;
  /** Non-EV load per circuit node and site phase, A (PV and battery only at the root). */
  buildingA: Map<string, Triple>;
  /** Import at the connection point, W (negative = export). */
  gridPowerW: number;
  pvPowerW: number;
  batteryPowerW: number;
  batterySocPct?: number;
  connectors: ConnectorTruth[];
}

export interface PlantOptions {
  /** Largest internal integration step, ms (default 100). */
  maxStepMs?: number;
}

/**
 * The one model of the physical site, pure and seeded: time is data (`stepTo(atMs)` in plant ms
 * since the scenario start), randomness comes from the scenario's seed, nothing reads a clock.
 * In: SetChargingProfile (`setChargingProfile`), battery and PV setpoints, cars plugged in later.
 * Out: what the devices send, each when it arrives (`stepTo` returns it), and the truth (`truth()`).
 */
export class SitePlant {
  readonly scenario: PlantScenario;
  readonly chargers = new Map<string, PlantCharger>();
  readonly meters: PlantMeter[];
  /** Outside changes so far (load steps, arrivals, full cars, drop-outs, signals), in time order. */
  readonly changes: OutsideChange[] = [];
  private atMs = 0;
  private transactionCounter = 0;
  private requestCounter = 0;
  private readonly random: SeededRandom;
  private readonly battery?: BatteryState;
  private readonly setpoints: DeviceSetpoints = {};
  private readonly nodes: { node: PlantCircuit; parent?: string; depth: number }[] = [];
  private readonly chargerNode = new Map<string, string>();
  private readonly maxStepMs: number;
  private current: PlantTruth;
  private readonly bottomUp: { node: PlantCircuit; parent?: string; depth: number }[];
  /**
   * Per node and line: the current's component in quadrature with the line's own voltage, A (only
   * line-to-line loads have one). The in-phase component is accumulated in nodeA, then replaced by
   * the magnitude.
   */
  private readonly nodeQuadratureA = new Map<string, Triple>();
  /** Per node and line: in-phase component over magnitude (a meter's power from its currents). */
  private readonly nodePowerFactor = new Map<string, Triple>();

  constructor(scenario: PlantScenario, options: PlantOptions = {}) {
    // Steps and curves sorted by time (stable: of two at the same moment the later entry wins, as listed).
    const byTime = <T extends { atMs: number }>(list: readonly T[]) => [...list].sort((a, b) => a.atMs - b.atMs);
    this.scenario = {
      ...scenario,
      loads: scenario.loads.map((l) => (l.steps ? { ...l, steps: byTime(l.steps) } : l)),
      ...(scenario.pv?.curve ? { pv: { ...scenario.pv, curve: byTime(scenario.pv.curve) } } : {}),
    };
    this.random = new SeededRandom(scenario.seed);
    this.maxStepMs = options.maxStepMs ?? 100;
    const visit = (node: PlantCircuit, parent: string | undefined, depth: number) => {
      this.nodes.push({ node, parent, depth });
      for (const id of node.chargerIds) this.chargerNode.set(id, node.id);
      node.children.forEach((child) => visit(child, node.id, depth + 1));
    };
    visit(scenario.circuit, undefined, 0);
    for (const spec of scenario.chargers) {
      if (!this.chargerNode.has(spec.id)) this.chargerNode.set(spec.id, scenario.circuit.id);
      const random = new SeededRandom(scenario.seed ^ hashId(spec.id));
      this.chargers.set(spec.id, new PlantCharger(spec, scenario.cars, scenario.voltageV, random, () => ++this.transactionCounter, this.changes));
    }
    this.meters = scenario.meters.map((m) => new PlantMeter(m, new SeededRandom(scenario.seed ^ hashId(m.id))));
    if (scenario.battery) this.battery = { socPct: scenario.battery.socPct, powerW: 0, mode: 'self' };
    for (const load of scenario.loads) for (const step of load.steps ?? []) this.changes.push({ atMs: step.atMs, kind: 'load-step', id: load.circuitId });
    for (const point of scenario.pv?.curve ?? []) this.changes.push({ atMs: point.atMs, kind: 'pv-swing', id: 'pv' });
    for (const s of scenario.signals) {
      this.changes.push({ atMs: s.fromMs, kind: 'signal', id: s.id });
      this.changes.push({ atMs: s.toMs, kind: 'signal', id: s.id });
    }
    this.changes.sort((a, b) => a.atMs - b.atMs);
    this.bottomUp = [...this.nodes].sort((a, b) => b.depth - a.depth);
    for (const { node } of this.nodes) {
      this.nodeQuadratureA.set(node.id, [0, 0, 0]);
      this.nodePowerFactor.set(node.id, [1, 1, 1]);
    }
    this.current = {
      atMs: 0,
      nodeA: new Map(this.nodes.map(({ node }) => [node.id, [0, 0, 0] as Triple])),
      buildingA: new Map(this.nodes.map(({ node }) => [node.id, [0, 0, 0] as Triple])),
      gridPowerW: 0,
      pvPowerW: 0,
      batteryPowerW: 0,
      connectors: [],
    };
    this.measure(0, 0);
  }

  get nowMs(): number {
    return this.atMs;
  }

  /** Wall-clock time (epoch ms) of a plant time. */
  wallMs(atMs = this.atMs): number {
    return this.scenario.startAtMs + atMs;
  }

  /**
   * Advances the site to `atMs` in steps of at most maxStepMs; returns what reached the EMS in
   * that time, in arrival order. `onStep` sees the truth after every internal step.
   */
  stepTo(atMs: number, onStep?: (truth: PlantTruth, dtMs: number) => void): PlantEvent[] {
    while (this.atMs < atMs) {
      const dtMs = Math.min(this.maxStepMs, atMs - this.atMs);
      this.atMs += dtMs;
      for (const charger of this.chargers.values()) charger.step(this.atMs, dtMs);
      this.measure(this.atMs, dtMs);
      for (const meter of this.meters) meter.step(this.atMs, this.current.nodeA.get(meter.spec.circuitId) ?? [0, 0, 0], this.scenario.voltageV, this.nodePowerFactor.get(meter.spec.circuitId));
      onStep?.(this.current, dtMs);
    }
    const events: PlantEvent[] = [];
    for (const meter of this.meters) events.push(...meter.takeDue(atMs));
    for (const charger of this.chargers.values()) events.push(...charger.takeDue(atMs));
    return events.sort((a, b) => a.atMs - b.atMs);
  }

  /** SetChargingProfile sent at `atMs` (≥ now); the answer comes back as a 'profile-answer' event. */
  setChargingProfile(chargerId: string, profile: PlantProfile, atMs = this.atMs): { requestId: number; status: ProfileAnswer } {
    const requestId = ++this.requestCounter;
    const charger = this.chargers.get(chargerId);
    return { requestId, status: charger ? charger.setChargingProfile(atMs, requestId, profile) : 'Offline' };
  }

  /** TriggerMessage MeterValues sent at `atMs` (≥ now); the answer comes back as a 'trigger-answer' event (none when Offline or Silent). */
  triggerMeterValues(chargerId: string, connectorId: number, atMs = this.atMs): { requestId: number; status: 'Offline' | 'Silent' | 'Sent' } {
    const requestId = ++this.requestCounter;
    const charger = this.chargers.get(chargerId);
    return { requestId, status: charger ? charger.triggerMeterValues(atMs, requestId, connectorId) : 'Offline' };
  }

  /** ClearChargingProfile (OCPP): drops the matching profiles; how many. */
  clearChargingProfiles(chargerId: string, filter: Parameters<PlantCharger['clearProfiles']>[1]): number {
    return this.chargers.get(chargerId)?.clearProfiles(this.atMs, filter) ?? 0;
  }

  /** The car on a connector leaves at `atMs` (default now): RemoteStopTransaction, a refused card, the demo closing. */
  unplug(chargerId: string, connectorId: number, atMs = this.atMs): void {
    this.chargers.get(chargerId)?.unplugAt(connectorId, atMs);
  }

  /** A car that arrives while the plant runs (the demo's own arrivals). */
  addCar(car: PlantCarSpec): void {
    this.chargers.get(car.chargerId)?.addCar(car);
  }

  /** The EMS writes the battery's power (+ discharge / − charge, W); `holdMs` is its revert timer. */
  setBatteryPowerW(powerW: number, holdMs?: number): void {
    this.setpoints.batteryPowerW = powerW;
    this.setpoints.batterySetAtMs = this.atMs;
    this.setpoints.batteryHoldMs = holdMs;
  }

  /** The EMS limits PV output, W; undefined lifts the limit. */
  setPvLimitW(limitW: number | undefined, holdMs?: number): void {
    this.setpoints.pvLimitW = limitW;
    this.setpoints.pvLimitSetAtMs = this.atMs;
    this.setpoints.pvLimitHoldMs = holdMs;
  }

  /** The truth now. The object is updated in place at every step: copy what you keep. */
  truth(): PlantTruth {
    return this.current;
  }

  /** The import limit from outside signals in force now, W; undefined when none. */
  signalLimitW(atMs = this.atMs): number | undefined {
    let limit: number | undefined;
    for (const s of this.scenario.signals) if (s.fromMs <= atMs && atMs < s.toMs) limit = Math.min(limit ?? Infinity, s.valueW);
    return limit;
  }

  /** Updates the truth in place (one set of buffers for the whole run: no garbage per step). */
  private measure(atMs: number, dtMs: number): PlantTruth {
    const s = this.scenario;
    const wallMs = this.wallMs(atMs);
    const truth = this.current;
    let lineToLine = false;
    for (const { node } of this.nodes) {
      truth.nodeA.get(node.id)!.fill(0);
      truth.buildingA.get(node.id)!.fill(0);
      this.nodeQuadratureA.get(node.id)!.fill(0);
    }
    for (let i = 0; i < s.loads.length; i++) {
      const load = s.loads[i]!;
      const a = loadA(load, i, s.seed, atMs, wallMs, s.utcOffsetH);
      const building = truth.buildingA.get(load.circuitId) ?? truth.buildingA.get(s.circuit.id)!;
      const total = truth.nodeA.get(load.circuitId) ?? truth.nodeA.get(s.circuit.id)!;
      for (let p = 0; p < 3; p++) {
        building[p] += a[p]!;
        total[p] += a[p]!;
      }
    }
    let n = 0;
    for (const charger of this.chargers.values()) {
      const nodeId = this.chargerNode.get(charger.spec.id)!;
      const total = truth.nodeA.get(nodeId)!;
      const quadrature = this.nodeQuadratureA.get(nodeId)!;
      for (const c of charger.truth()) {
        truth.connectors[n++] = c;
        if (c.connection) {
          // Between lines a and b the current is in phase with Va − Vb: 30° ahead of Va on line a,
          // and (flowing back) 30° behind Vb on line b. Each line's own frame: cos 30° in phase.
          const [a, b] = LINE_PAIRS[c.connection];
          total[a] += c.drawA * COS30;
          total[b] += c.drawA * COS30;
          quadrature[a] += c.drawA / 2;
          quadrature[b] -= c.drawA / 2;
          if (c.drawA !== 0) lineToLine = true;
        } else for (let p = 0; p < 3; p++) total[p] += c.drawSiteA[p]!;
      }
    }
    truth.connectors.length = n;
    // Children into parents, deepest first.
    for (const { node, parent } of this.bottomUp) {
      if (parent === undefined) continue;
      const total = truth.nodeA.get(parent)!;
      const building = truth.buildingA.get(parent)!;
      const childTotal = truth.nodeA.get(node.id)!;
      const childBuilding = truth.buildingA.get(node.id)!;
      const quadrature = this.nodeQuadratureA.get(parent)!;
      const childQuadrature = this.nodeQuadratureA.get(node.id)!;
      for (let p = 0; p < 3; p++) {
        total[p] += childTotal[p]!;
        building[p] += childBuilding[p]!;
        quadrature[p] += childQuadrature[p]!;
      }
    }
    const available = s.pv ? pvAvailableW(s.pv, s.seed, wallMs, s.utcOffsetH, atMs) : 0;
    const pvW = pvOutputW(available, this.setpoints, atMs);
    const root = truth.nodeA.get(s.circuit.id)!;
    let batteryW = 0;
    if (this.battery && s.battery) {
      const netW = (root[0] + root[1] + root[2]) * s.voltageV - pvW;
      if (dtMs > 0) stepBattery(s.battery, this.battery, netW, this.setpoints, atMs, dtMs);
      batteryW = this.battery.powerW;
    }
    const offsetA = (pvW + batteryW) / 3 / s.voltageV;
    if (offsetA !== 0) {
      const building = truth.buildingA.get(s.circuit.id)!;
      for (let p = 0; p < 3; p++) {
        root[p] -= offsetA;
        building[p] -= offsetA;
      }
    }
    truth.atMs = atMs;
    // Active power from the in-phase components, before they become magnitudes.
    truth.gridPowerW = (root[0] + root[1] + root[2]) * s.voltageV;
    if (lineToLine) {
      for (const { node } of this.nodes) {
        const total = truth.nodeA.get(node.id)!;
        const quadrature = this.nodeQuadratureA.get(node.id)!;
        const factor = this.nodePowerFactor.get(node.id)!;
        for (let p = 0; p < 3; p++) {
          const inPhase = total[p]!;
          const magnitude = Math.hypot(inPhase, quadrature[p]!);
          total[p] = inPhase < 0 ? -magnitude : magnitude;
          factor[p] = magnitude > 0 ? Math.abs(inPhase) / magnitude : 1;
        }
      }
    } else for (const factor of this.nodePowerFactor.values()) factor.fill(1);
    truth.pvPowerW = pvW;
    truth.batteryPowerW = batteryW;
    truth.batterySocPct = this.battery?.socPct;
    return truth;
  }
}

function hashId(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h >>> 0;
}
