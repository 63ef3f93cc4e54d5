import { PlantCar } from './car.ts';
import { compositeLimitsA, dropTransaction, installProfile, type ConnectorContext, type HeldProfile, type PlantProfile } from './charging-profile.ts';
import type { OutsideChange, PlantConnectorStatus, PlantEvent, ProfileAnswer } from './events.ts';
import type { SeededRandom } from './random.ts';
import type { LineConnection, PhaseRotation, PlantCarSpec, PlantChargerSpec, Triple } from './types.ts';

/** Charger terminal L1, L2, L3 → site phase index. */
export const ROTATIONS: Record<PhaseRotation, readonly [number, number, number]> = {
  L1L2L3: [0, 1, 2],
  L2L3L1: [1, 2, 0],
  L3L1L2: [2, 0, 1],
  L1L3L2: [0, 2, 1],
  L2L1L3: [1, 0, 2],
  L3L2L1: [2, 1, 0],
};

/** The two site lines (indices) of a line-to-line connection: the current flows out on the first, back on the second. */
export const LINE_PAIRS: Record<LineConnection, readonly [number, number]> = {
  'L1-L2': [0, 1],
  'L2-L3': [1, 2],
  'L3-L1': [2, 0],
};

/** From plug-in to StartTransaction (authorisation), ms. */
const AUTHORIZE_MS = 1_000;
/** Finishing → Available after unplugging, ms. */
const FINISHING_MS = 1_000;
/** A triggered sample is taken this long after the charger answered the TriggerMessage, ms. */
const TRIGGERED_SAMPLE_MS = 200;

interface PlantConnector {
  connectorId: number;
  car?: PlantCar;
  transactionId?: number;
  txStartMs?: number;
  status: PlantConnectorStatus;
  registerWh: number;
  nextMeterValuesAtMs?: number;
  /** A sample asked for with TriggerMessage is taken here (on top of the periodic ones). */
  triggeredSampleAtMs?: number;
  pilotA: number;
  availableAtMs?: number;
  /** The car was told to leave now (RemoteStopTransaction, a refused card): before its own leaveAtMs. */
  leaveAtMs?: number;
}

/** What a charger's connector is doing in truth (for measurement). */
export interface ConnectorTruth {
  chargerId: string;
  connectorId: number;
  carId?: string;
  transactionId?: number;
  /** The pilot limit in force, A per phase (after the charger applied its profiles). */
  pilotA: number;
  /** True draw per site phase, A (a line-to-line charger's current on both its lines). */
  drawSiteA: Triple;
  /** Set for a charger wired between two lines: drawSiteA is then not in phase with the lines' voltages. */
  connection?: LineConnection;
  /** True power the car takes, W (draw × phases × the voltage it is wired to); always set by the plant. */
  powerW?: number;
  /** True draw per car phase, A. */
  drawA: number;
  /** What the car would draw under an unlimited pilot, A per phase. */
  wantA: number;
  carPhases: number;
  status: PlantConnectorStatus;
}

/**
 * A charger: holds profiles the OCPP way and applies them after its own delay (or refuses, or
 * accepts and ignores them), offers its cars the composite limit, samples MeterValues at its own
 * period, and drops off the network in its offline windows (queueing what it would have sent).
 */
export class PlantCharger {
  readonly spec: PlantChargerSpec;
  readonly connectors: PlantConnector[];
  private held: HeldProfile[] = [];
  private readonly pendingProfiles: { atMs: number; profile: HeldProfile }[] = [];
  private readonly outbox: PlantEvent[] = [];
  private readonly arrivals: PlantCarSpec[];
  private wasOnline = true;
  private readonly truthCache: ConnectorTruth[] = [];
  /** The voltage across the charger, V: line-to-neutral, or √3 × that between two lines. */
  readonly circuitVoltageV: number;
  /** Site lines of a line-to-line charger. */
  private readonly lines: readonly [number, number] | undefined;

  constructor(
    spec: PlantChargerSpec,
    cars: readonly PlantCarSpec[],
    voltageV: number,
    private readonly random: SeededRandom,
    private readonly nextTransactionId: () => number,
    private readonly changes: OutsideChange[],
  ) {
    this.spec = spec;
    this.lines = spec.phases === 1 && spec.connection ? LINE_PAIRS[spec.connection] : undefined;
    this.circuitVoltageV = this.lines ? Math.sqrt(3) * voltageV : voltageV;
    this.connectors = Array.from({ length: spec.connectors }, (_, i) => ({
      connectorId: i + 1,
      status: 'Available' as PlantConnectorStatus,
      registerWh: (i + 1) * 1_000_000,
      pilotA: spec.maxCurrentA,
    }));
    this.arrivals = cars.filter((c) => c.chargerId === spec.id).sort((a, b) => a.arriveAtMs - b.arriveAtMs);
    this.wasOnline = this.onlineAt(0);
    if (this.wasOnline) {
      this.outbox.push({ kind: 'connected', atMs: 0, chargerId: spec.id });
      for (const c of this.connectors) this.outbox.push({ kind: 'status', atMs: 0, chargerId: spec.id, connectorId: c.connectorId, status: c.status });
    }
  }

  /** A car plugged in while the plant runs (the demo's arrivals). */
  addCar(car: PlantCarSpec): void {
    this.arrivals.push(car);
    this.arrivals.sort((a, b) => a.arriveAtMs - b.arriveAtMs);
  }

  onlineAt(atMs: number): boolean {
    return !(this.spec.offline ?? []).some((w) => atMs >= w.fromMs && atMs < w.toMs);
  }

  /** When the charger can next send: now if online, else the end of its offline window. */
  private sendableAtMs(atMs: number): number {
    for (const w of this.spec.offline ?? []) if (atMs >= w.fromMs && atMs < w.toMs) return w.toMs;
    return atMs;
  }

  private send(event: PlantEvent): void {
    this.outbox.push({ ...event, atMs: this.sendableAtMs(event.atMs) });
  }

  /** SetChargingProfile arriving at `atMs`; the answer goes out after answerDelayMs. */
  setChargingProfile(atMs: number, requestId: number, profile: PlantProfile): ProfileAnswer {
    const answerAtMs = atMs + this.spec.answerDelayMs;
    let status: ProfileAnswer;
    if (!this.onlineAt(atMs)) status = 'Offline';
    else if (this.spec.profiles === 'refuses') status = 'NotSupported';
    else if (profile.connectorId < 0 || profile.connectorId > this.spec.connectors) status = 'Rejected';
    else if (profile.purpose === 'TxProfile' && (profile.connectorId === 0 || this.connectors[profile.connectorId - 1]!.transactionId === undefined)) status = 'Rejected';
    else status = 'Accepted';
    if (status === 'Accepted' && this.spec.profiles === 'obeys') {
      const connector = profile.connectorId > 0 ? this.connectors[profile.connectorId - 1] : undefined;
      const held: HeldProfile = { ...profile, receivedAtMs: atMs };
      if (profile.purpose === 'TxProfile' && held.transactionId === undefined) held.transactionId = connector?.transactionId;
      this.pendingProfiles.push({ atMs: atMs + this.spec.applyDelayMs, profile: held });
    }
    if (status !== 'Offline') this.outbox.push({ kind: 'profile-answer', atMs: answerAtMs, chargerId: this.spec.id, requestId, status });
    return status;
  }

  /**
   * TriggerMessage MeterValues for one connector arriving at `atMs`: answered after answerDelayMs
   * as its `triggerMessage` behaviour says; when accepted, a sample of the connector (if a
   * transaction runs there) follows the answer by TRIGGERED_SAMPLE_MS and is delivered like a
   * periodic one (after meterValuesDelayMs). 'Offline' when the charger is off the network, and
   * 'Silent' when it never answers.
   */
  triggerMeterValues(atMs: number, requestId: number, connectorId: number): 'Offline' | 'Silent' | 'Sent' {
    if (!this.onlineAt(atMs)) return 'Offline';
    const behaviour = this.spec.triggerMessage ?? 'accepts';
    if (behaviour === 'silent') return 'Silent';
    const c = this.connectors[connectorId - 1];
    const status = behaviour === 'rejects' || !c ? 'Rejected' : behaviour === 'not-implemented' ? 'NotImplemented' : 'Accepted';
    const answerAtMs = atMs + this.spec.answerDelayMs;
    this.outbox.push({ kind: 'trigger-answer', atMs: answerAtMs, chargerId: this.spec.id, requestId, connectorId, status });
    if (status === 'Accepted' && c) c.triggeredSampleAtMs = answerAtMs + TRIGGERED_SAMPLE_MS;
    return 'Sent';
  }

  /** ClearChargingProfile: drops held and pending profiles matching every given field; the number dropped. */
  clearProfiles(atMs: number, filter: { id?: number; connectorId?: number; purpose?: HeldProfile['purpose']; stackLevel?: number }): number {
    if (!this.onlineAt(atMs)) return 0;
    const matches = (p: HeldProfile) =>
      (filter.id === undefined || p.id === filter.id) &&
      (filter.connectorId === undefined || p.connectorId === filter.connectorId) &&
      (filter.purpose === undefined || p.purpose === filter.purpose) &&
      (filter.stackLevel === undefined || p.stackLevel === filter.stackLevel);
    const before = this.held.length + this.pendingProfiles.length;
    this.held = this.held.filter((p) => !matches(p));
    for (let i = this.pendingProfiles.length - 1; i >= 0; i--) if (matches(this.pendingProfiles[i]!.profile)) this.pendingProfiles.splice(i, 1);
    return before - this.held.length - this.pendingProfiles.length;
  }

  /** The car on this connector leaves at `atMs` (the transaction ends, the connector frees). */
  unplugAt(connectorId: number, atMs: number): void {
    const c = this.connectors[connectorId - 1];
    if (c?.car) c.leaveAtMs = atMs;
  }

  /** The profiles in force (for tests and the demo's GetCompositeSchedule). */
  heldProfiles(): readonly HeldProfile[] {
    return this.held;
  }

  step(atMs: number, dtMs: number): void {
    const online = this.onlineAt(atMs);
    if (online !== this.wasOnline) {
      this.wasOnline = online;
      this.changes.push({ atMs, kind: online ? 'charger-online' : 'charger-offline', id: this.spec.id });
      if (online) {
        this.outbox.push({ kind: 'connected', atMs, chargerId: this.spec.id });
        for (const c of this.connectors) this.outbox.push({ kind: 'status', atMs, chargerId: this.spec.id, connectorId: c.connectorId, status: c.status });
      } else this.outbox.push({ kind: 'disconnected', atMs, chargerId: this.spec.id });
    }
    while (this.pendingProfiles.length && this.pendingProfiles[0]!.atMs <= atMs) {
      const { profile } = this.pendingProfiles.shift()!;
      if (profile.purpose === 'TxProfile' && !this.connectors.some((c) => c.transactionId === profile.transactionId)) continue;
      this.held = installProfile(this.held, profile);
    }
    this.plugAndUnplug(atMs);
    const contexts: ConnectorContext[] = this.connectors.map((c) => ({
      connectorId: c.connectorId,
      transactionId: c.transactionId,
      txStartMs: c.txStartMs,
      voltageV: this.circuitVoltageV,
      phases: this.spec.phases,
    }));
    const pilots = compositeLimitsA(this.held, atMs, contexts, this.spec.maxCurrentA, this.connectors.map((c) => c.car !== undefined));
    for (const [i, c] of this.connectors.entries()) {
      c.pilotA = pilots[i]!;
      const car = c.car;
      if (!car) continue;
      const wasFull = car.phase === 'full';
      const pilotA = c.transactionId === undefined ? 0 : c.pilotA;
      const before = car.energyWh;
      car.step(atMs, dtMs, pilotA, this.circuitVoltageV, this.phasesOf(car));
      c.registerWh += car.energyWh - before;
      if (car.phase === 'full' && !wasFull) this.changes.push({ atMs, kind: 'car-full', id: car.spec.id });
      if (car.phase !== 'full' && wasFull) this.changes.push({ atMs, kind: 'car-woke', id: car.spec.id });
      if (c.transactionId !== undefined) {
        const status: PlantConnectorStatus = car.phase === 'full' ? 'SuspendedEV' : pilotA < 6 ? 'SuspendedEVSE' : 'Charging';
        this.setStatus(c, status, atMs);
        if (c.triggeredSampleAtMs !== undefined && atMs >= c.triggeredSampleAtMs) {
          c.triggeredSampleAtMs = undefined;
          // A sample of its own unless the periodic one is due in this very step anyway.
          if (c.nextMeterValuesAtMs === undefined || atMs < c.nextMeterValuesAtMs) this.sampleMeterValues(c, atMs);
        }
        if (c.nextMeterValuesAtMs !== undefined && atMs >= c.nextMeterValuesAtMs) {
          this.sampleMeterValues(c, atMs);
          // One sample per period; a long step (a replay between events) skips the periods it spanned.
          while (c.nextMeterValuesAtMs <= atMs) c.nextMeterValuesAtMs += this.spec.meterValuesPeriodMs;
        }
      }
    }
  }

  /** Phases a car draws on here: a 1-phase charger carries one. */
  private phasesOf(car: PlantCar): number {
    return this.spec.phases === 1 ? 1 : car.spec.phases;
  }

  private plugAndUnplug(atMs: number): void {
    while (this.arrivals.length && this.arrivals[0]!.arriveAtMs <= atMs) {
      const spec = this.arrivals[0]!;
      const c = this.connectors[spec.connectorId - 1];
      if (!c || c.car) {
        // Occupied: the car waits until the connector is free again.
        if (!c) this.arrivals.shift();
        break;
      }
      this.arrivals.shift();
      c.car = new PlantCar(spec);
      this.changes.push({ atMs, kind: 'car-arrived', id: spec.id });
      this.setStatus(c, 'Preparing', atMs);
    }
    for (const c of this.connectors) {
      const car = c.car;
      if (car && c.transactionId === undefined && c.status === 'Preparing' && atMs >= car.spec.arriveAtMs + AUTHORIZE_MS) {
        c.transactionId = this.nextTransactionId();
        c.txStartMs = atMs;
        c.nextMeterValuesAtMs = atMs + this.random.between(0.1, 1) * this.spec.meterValuesPeriodMs;
        this.send({ kind: 'transaction-started', atMs, chargerId: this.spec.id, connectorId: c.connectorId, transactionId: c.transactionId, idTag: car.spec.idTag, meterStartWh: Math.floor(c.registerWh) });
      }
      const leaveAtMs = Math.min(car?.spec.leaveAtMs ?? Infinity, c.leaveAtMs ?? Infinity);
      if (car && atMs >= leaveAtMs) {
        c.leaveAtMs = undefined;
        if (c.transactionId !== undefined) {
          this.send({ kind: 'transaction-ended', atMs, chargerId: this.spec.id, connectorId: c.connectorId, transactionId: c.transactionId, meterStopWh: Math.floor(c.registerWh) });
          this.held = dropTransaction(this.held, c.transactionId);
        }
        c.car = undefined;
        c.transactionId = undefined;
        c.txStartMs = undefined;
        c.nextMeterValuesAtMs = undefined;
        c.triggeredSampleAtMs = undefined;
        c.availableAtMs = atMs + FINISHING_MS;
        this.changes.push({ atMs, kind: 'car-left', id: car.spec.id });
        this.setStatus(c, 'Finishing', atMs);
      }
      if (!c.car && c.availableAtMs !== undefined && atMs >= c.availableAtMs) {
        c.availableAtMs = undefined;
        this.setStatus(c, 'Available', atMs);
      }
    }
  }

  private setStatus(c: PlantConnector, status: PlantConnectorStatus, atMs: number): void {
    if (c.status === status) return;
    c.status = status;
    this.send({ kind: 'status', atMs, chargerId: this.spec.id, connectorId: c.connectorId, status });
  }

  private terminalsA(c: PlantConnector): Triple {
    const car = c.car;
    const result: Triple = [0, 0, 0];
    if (!car) return result;
    for (let t = 0; t < this.phasesOf(car); t++) result[t] = car.drawA;
    return result;
  }

  private sampleMeterValues(c: PlantConnector, atMs: number): void {
    if (this.spec.meterValuesLossRate && this.random.chance(this.spec.meterValuesLossRate)) return;
    const terminals = this.terminalsA(c);
    const sumA = terminals[0] + terminals[1] + terminals[2];
    const base = {
      kind: 'meter-values' as const,
      atMs: atMs + this.spec.meterValuesDelayMs,
      chargerId: this.spec.id,
      connectorId: c.connectorId,
      measuredAtMs: atMs,
      // A line-to-line charger's one current at the line-to-line voltage.
      powerW: Math.round(sumA * this.circuitVoltageV),
      energyWh: Math.floor(c.registerWh),
      socPct: Math.floor(c.car?.socPct ?? 0),
    };
    const round = (a: number) => Math.round(a * 10) / 10;
    if (this.spec.currentReporting === 'per-phase') this.send({ ...base, currentA: terminals.map(round) as Triple });
    else if (this.spec.currentReporting === 'sum-of-phases') this.send({ ...base, currentImportA: round(sumA) });
    else this.send(base);
  }

  /** Events due at the EMS by `atMs`, in time order; removed from the outbox. */
  takeDue(atMs: number): PlantEvent[] {
    const due: PlantEvent[] = [];
    for (let i = 0; i < this.outbox.length; ) {
      if (this.outbox[i]!.atMs <= atMs) due.push(this.outbox.splice(i, 1)[0]!);
      else i++;
    }
    return due;
  }

  /** Each connector's truth now; the objects are reused and updated in place at every step. */
  truth(): readonly ConnectorTruth[] {
    const rotation = ROTATIONS[this.spec.phaseRotation] ?? ROTATIONS.L1L2L3;
    this.connectors.forEach((c, i) => {
      const car = c.car;
      const phases = car ? this.phasesOf(car) : 0;
      const drawA = car?.drawA ?? 0;
      const t = (this.truthCache[i] ??= { chargerId: this.spec.id, connectorId: c.connectorId, pilotA: 0, drawSiteA: [0, 0, 0], drawA: 0, wantA: 0, carPhases: 0, status: c.status, powerW: 0, ...(this.spec.connection && this.lines ? { connection: this.spec.connection } : {}) });
      t.carId = car?.spec.id;
      t.transactionId = c.transactionId;
      t.pilotA = c.pilotA;
      t.drawSiteA[0] = t.drawSiteA[1] = t.drawSiteA[2] = 0;
      if (this.lines && phases > 0) {
        t.drawSiteA[this.lines[0]] = drawA;
        t.drawSiteA[this.lines[1]] = drawA;
      } else for (let k = 0; k < phases; k++) t.drawSiteA[rotation[k]!] += drawA;
      t.drawA = drawA;
      t.wantA = car && c.transactionId !== undefined ? car.wantA() : 0;
      t.carPhases = phases;
      t.powerW = drawA * phases * this.circuitVoltageV;
      t.status = c.status;
    });
    return this.truthCache;
  }

}
