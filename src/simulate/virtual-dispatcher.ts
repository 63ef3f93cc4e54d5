// src/ocpp's profile dispatcher, step for step, in virtual time: the caps of one cycle become
// SetChargingProfile calls (TxProfile for a running transaction, TxDefaultProfile otherwise) for
// what changed by 0.1 A or is due for a refresh; decreases go first, and increases only once every
// decrease was confirmed (or after answerWaitMs without them: then held); increases to a connector
// rate-limited; refusals retried with backoff; every profile reported on the bus as
// 'profile.status' (pending, then accepted/rejected). The wire payload is src/ocpp/profile.ts's.
// Kept in step with src/ocpp/profile-dispatcher.ts; it differs only in waiting on virtual time.
import type { ChargerConfig } from '../../config/schema.ts';
import { connectorKey, type ConnectorCap } from '../../optimizer/types.ts';
import type { PlantProfile, ProfileAnswer } from '../../plant/index.ts';
import type { Bus } from '../bus.ts';
import { txDefaultProfile, txProfile, type LimitSpec } from '../ocpp/profile.ts';
import type { ChargingProfile } from '../ocpp/messages.ts';
import { floorToTenth } from '../ocpp/rounding.ts';

const TENTH_EPSILON = 0.05;
const BACKOFF_START_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;
const CAPABILITIES = { rateUnit: 'A' as const, maxStackLevel: 3, maxPeriods: 1 };

interface Installed {
  limitA: number;
  phases: 1 | 3;
  atMs: number;
  transactionId?: number;
}

interface ConnectorProfiles {
  txDefault?: Installed;
  tx?: Installed;
  failures: number;
  retryAtMs?: number;
  lastIncreaseAtMs?: number;
  triedTransactionId?: number;
}

interface Plan {
  chargerId: string;
  connectorId: number;
  key: string;
  transactionId?: number;
  limitA: number;
  phases: 1 | 3;
  inForceA: number;
  change: 'decrease' | 'same' | 'increase';
}

export interface DispatcherHost {
  bus: Bus;
  voltageV: number;
  profileDurationS: number;
  profileMinIntervalMs: number;
  answerWaitMs: number;
  charger(chargerId: string): ChargerConfig | undefined;
  ready(chargerId: string): boolean;
  activeTransaction(chargerId: string, connectorId: number): number | undefined;
  /** Puts a SetChargingProfile on the wire at wall time `atMs`; the answer comes back through `answer()`. */
  send(chargerId: string, connectorId: number, profile: PlantProfile): { requestId: number; status: ProfileAnswer };
}

/** One profile change sent, for counting cap changes per connector. */
export interface SentProfile {
  atMs: number;
  key: string;
  limitA: number;
  purpose: 'TxProfile' | 'TxDefaultProfile';
}

interface Round {
  waiting: Set<number>;
  deadlineMs: number;
  stage: 'first' | 'increases';
  decreases: Set<number>;
  confirmed: Set<number>;
  increases: Plan[];
}

export class VirtualDispatcher {
  private readonly connectors = new Map<string, ConnectorProfiles>();
  private readonly inFlight = new Map<number, { plan: Plan; sentAtMs: number }>();
  private readonly inFlightKeys = new Set<string>();
  private round: Round | undefined;
  readonly sent: SentProfile[] = [];

  constructor(
    private readonly host: DispatcherHost,
    private readonly startAtMs: number,
  ) {}

  get busy(): boolean {
    return this.round !== undefined;
  }

  chargerReset(chargerId: string, floors: readonly { connectorId: number; limitA: number; phases: 1 | 3 }[], atMs: number): void {
    for (const key of [...this.connectors.keys()]) if (key.startsWith(`${chargerId}/`)) this.connectors.delete(key);
    for (const floor of floors) this.connectors.set(connectorKey(chargerId, floor.connectorId), { failures: 0, txDefault: { ...floor, atMs } });
  }

  transactionEnded(chargerId: string, connectorId: number): void {
    const state = this.connectors.get(connectorKey(chargerId, connectorId));
    if (state) state.tx = undefined;
  }

  /** Starts a round of caps at wall time `atMs`. Call only when not busy. */
  applyCaps(caps: readonly ConnectorCap[], atMs: number): void {
    const plans = caps.map((cap) => this.plan(cap, atMs)).filter((p): p is Plan => p !== undefined);
    const first = plans.filter((p) => p.change !== 'increase');
    const round: Round = { waiting: new Set(), deadlineMs: atMs + this.host.answerWaitMs, stage: 'first', decreases: new Set(), confirmed: new Set(), increases: plans.filter((p) => p.change === 'increase') };
    this.round = round;
    for (const p of first) {
      const id = this.sendPlan(p, atMs);
      if (id === undefined) continue;
      round.waiting.add(id);
      if (p.change === 'decrease') round.decreases.add(id);
    }
    this.advance(atMs);
  }

  /** The plant answered a SetChargingProfile. */
  answer(requestId: number, status: ProfileAnswer, atMs: number): void {
    const flight = this.inFlight.get(requestId);
    if (!flight) return;
    this.inFlight.delete(requestId);
    this.inFlightKeys.delete(flight.plan.key);
    const ok = this.settle(flight.plan, status, flight.sentAtMs, atMs);
    if (this.round?.waiting.delete(requestId) && ok) this.round.confirmed.add(requestId);
    this.advance(atMs);
  }

  /** Time passes: a round whose answers are late goes on after answerWaitMs. */
  tick(atMs: number): void {
    if (this.round && atMs >= this.round.deadlineMs) this.advance(atMs, true);
  }

  private advance(atMs: number, deadlinePassed = false): void {
    const round = this.round;
    if (!round || (round.waiting.size > 0 && !deadlinePassed)) return;
    if (round.stage === 'first') {
      const unconfirmed = [...round.decreases].filter((id) => !round.confirmed.has(id)).length;
      if (unconfirmed > 0 || round.increases.length === 0) {
        this.round = undefined;
        return;
      }
      round.stage = 'increases';
      round.waiting.clear();
      round.deadlineMs = atMs + this.host.answerWaitMs;
      for (const p of round.increases) {
        this.state(p.key).lastIncreaseAtMs = atMs;
        const id = this.sendPlan(p, atMs);
        if (id !== undefined) round.waiting.add(id);
      }
      if (round.waiting.size === 0) this.round = undefined;
      return;
    }
    this.round = undefined;
  }

  private state(key: string): ConnectorProfiles {
    let state = this.connectors.get(key);
    if (!state) this.connectors.set(key, (state = { failures: 0 }));
    return state;
  }

  inForceA(chargerId: string, connectorId: number, maxA: number): number {
    const state = this.connectors.get(connectorKey(chargerId, connectorId));
    const transactionId = this.host.activeTransaction(chargerId, connectorId);
    if (transactionId !== undefined && state?.tx?.transactionId === transactionId) return state.tx.limitA;
    return state?.txDefault?.limitA ?? maxA;
  }

  private plan(cap: ConnectorCap, nowMs: number): Plan | undefined {
    const config = this.host.charger(cap.chargerId);
    if (!config || !this.host.ready(cap.chargerId)) return undefined;
    const key = connectorKey(cap.chargerId, cap.connectorId);
    if (this.inFlightKeys.has(key)) return undefined;
    const state = this.state(key);
    const transactionId = this.host.activeTransaction(cap.chargerId, cap.connectorId);
    const limitA = floorToTenth(Math.min(Number.isFinite(cap.currentA) ? cap.currentA : 0, config.maxCurrent));
    const phases = cap.phases === 1 ? 1 : 3;
    const confirmed = transactionId === undefined ? state.txDefault : state.tx?.transactionId === transactionId ? state.tx : undefined;
    const refreshDue = transactionId !== undefined && confirmed !== undefined && nowMs - confirmed.atMs >= (this.host.profileDurationS * 1000) / 2;
    if (confirmed && Math.abs(confirmed.limitA - limitA) < TENTH_EPSILON && confirmed.phases === phases && !refreshDue) return undefined;
    if (state.retryAtMs !== undefined && nowMs < state.retryAtMs) return undefined;
    const inForceA = this.inForceA(cap.chargerId, cap.connectorId, config.maxCurrent);
    const change = limitA < inForceA - TENTH_EPSILON ? 'decrease' : limitA > inForceA + TENTH_EPSILON ? 'increase' : 'same';
    if (change === 'increase' && state.lastIncreaseAtMs !== undefined && nowMs - state.lastIncreaseAtMs < this.host.profileMinIntervalMs) return undefined;
    return { chargerId: cap.chargerId, connectorId: cap.connectorId, key, transactionId, limitA, phases, inForceA, change };
  }

  private emit(p: Plan, state: 'pending' | 'accepted' | 'rejected', atMs: number, detail?: string, capA = p.limitA): void {
    this.host.bus.emit('profile.status', { chargerId: p.chargerId, connectorId: p.connectorId, state, capA, previousCapA: p.inForceA, atMs, ...(detail === undefined ? {} : { detail }) });
  }

  private sendPlan(p: Plan, atMs: number): number | undefined {
    const spec: LimitSpec = { capA: p.limitA, phases: p.phases, voltageV: this.host.voltageV, unit: 'A', car: p.transactionId === undefined ? 'any' : 'known' };
    const wire =
      p.transactionId === undefined
        ? txDefaultProfile(p.connectorId, spec)
        : txProfile(p.connectorId, p.transactionId, spec, atMs, this.host.profileDurationS, CAPABILITIES);
    this.emit(p, 'pending', atMs);
    this.sent.push({ atMs, key: p.key, limitA: p.limitA, purpose: p.transactionId === undefined ? 'TxDefaultProfile' : 'TxProfile' });
    const { requestId, status } = this.host.send(p.chargerId, p.connectorId, plantProfile(wire.connectorId, wire.csChargingProfiles, this.startAtMs));
    if (status === 'Offline') {
      this.settle(p, 'Offline', atMs, atMs);
      return undefined;
    }
    this.inFlight.set(requestId, { plan: p, sentAtMs: atMs });
    this.inFlightKeys.add(p.key);
    return requestId;
  }

  /** True when the charger accepted. */
  private settle(p: Plan, status: ProfileAnswer, sentAtMs: number, atMs: number): boolean {
    const state = this.state(p.key);
    const firstForTransaction = p.transactionId !== undefined && state.triedTransactionId !== p.transactionId;
    if (p.transactionId !== undefined) state.triedTransactionId = p.transactionId;
    if (status === 'Accepted') {
      const installed: Installed = { limitA: p.limitA, phases: p.phases, atMs: sentAtMs };
      if (p.transactionId === undefined) state.txDefault = installed;
      else state.tx = { ...installed, transactionId: p.transactionId };
      state.failures = 0;
      state.retryAtMs = undefined;
      this.emit(p, 'accepted', atMs);
      return true;
    }
    if (firstForTransaction && status === 'Rejected' && state.failures === 0) {
      this.emit(p, 'accepted', atMs, 'TxProfile not taken yet; the connector default holds', p.inForceA);
      return false;
    }
    state.failures++;
    state.retryAtMs = atMs + Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** (state.failures - 1));
    this.emit(p, 'rejected', atMs, status);
    return false;
  }
}

/** A wire ChargingProfile as the plant holds it (wall times → plant times). */
export function plantProfile(connectorId: number, wire: ChargingProfile, startAtMs: number): PlantProfile {
  const schedule = wire.chargingSchedule;
  return {
    id: wire.chargingProfileId,
    connectorId,
    purpose: wire.chargingProfilePurpose,
    stackLevel: wire.stackLevel,
    kind: wire.chargingProfileKind,
    ...(wire.recurrencyKind ? { recurrency: wire.recurrencyKind } : {}),
    ...(wire.transactionId === undefined ? {} : { transactionId: wire.transactionId }),
    ...(schedule.startSchedule ? { startScheduleMs: Date.parse(schedule.startSchedule) - startAtMs } : {}),
    ...(schedule.duration === undefined ? {} : { durationS: schedule.duration }),
    ...(wire.validFrom ? { validFromMs: Date.parse(wire.validFrom) - startAtMs } : {}),
    ...(wire.validTo ? { validToMs: Date.parse(wire.validTo) - startAtMs } : {}),
    unit: schedule.chargingRateUnit,
    periods: schedule.chargingSchedulePeriod.map((p) => ({ startPeriodS: p.startPeriod, limit: p.limit, ...(p.numberPhases === undefined ? {} : { numberPhases: p.numberPhases }) })),
  };
}
