import type { ChargerConfig } from '../../config/schema.ts';
import { connectorKey, type ConnectorCap } from '../../optimizer/types.ts';
import type { Bus, ProfileState } from '../bus.ts';
import type { Clock } from '../clock.ts';
import type { ApplyResult } from '../control/charger-commands.ts';
import type { Logger } from '../log.ts';
import type { ChargerCapabilities } from './capabilities.ts';
import { txStackLevel, type LimitSpec } from './profile.ts';
import { floorToTenth } from './rounding.ts';

/** A profile to install, in protocol-neutral terms; the charger's link builds the wire payload. */
export type ProfileIntent =
  | { purpose: 'TxDefaultProfile'; connectorId: number; spec: LimitSpec; nowMs: number }
  | { purpose: 'TxProfile'; connectorId: number; transactionId: number; spec: LimitSpec; nowMs: number; durationS: number };

/** The part of a connected charger the dispatcher needs. */
export interface ProfileTarget {
  readonly chargerId: string;
  /** Connected and through its boot setup (capabilities known, floors installed). */
  readonly ready: boolean;
  readonly capabilities: ChargerCapabilities;
  readonly config: ChargerConfig;
  readonly log: Logger;
  /** Resolves with the charger's status; rejects on CALLERROR, timeout or a dropped socket. */
  sendProfile(intent: ProfileIntent): Promise<'Accepted' | 'Rejected' | 'NotSupported'>;
  /** A TxProfile at this stack level was refused: try one lower next time. */
  stepDownStackLevel(): void;
}

export interface DispatcherOptions {
  bus: Bus;
  clock: Clock;
  log: Logger;
  voltageV: number;
  profileDurationS: number;
  profileMinIntervalMs: number;
  /**
   * How long a round waits for answers before it goes on, ms. A profile still unanswered then stays
   * in flight (its connector skipped until it settles); an unanswered decrease holds the increases.
   * Keeps one silent charger from stalling the control loop for a whole call timeout.
   */
  answerWaitMs: number;
  target(chargerId: string): ProfileTarget | undefined;
  activeTransaction(chargerId: string, connectorId: number): number | undefined;
}

interface Installed {
  limitA: number;
  phases: 1 | 3;
  atMs: number;
  transactionId?: number;
}

interface ConnectorProfiles {
  /** What the charger confirmed, per purpose. */
  txDefault?: Installed;
  tx?: Installed;
  failures: number;
  retryAtMs?: number;
  lastIncreaseAtMs?: number;
  /** Transaction of the last TxProfile attempt, to spot the first one for a new transaction. */
  triedTransactionId?: number;
}

type Change = 'decrease' | 'same' | 'increase';

interface Plan {
  target: ProfileTarget;
  connectorId: number;
  key: string;
  transactionId?: number;
  limitA: number;
  phases: 1 | 3;
  inForceA: number;
  change: Change;
}

const TENTH_EPSILON = 0.05;
const BACKOFF_START_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;

/**
 * Turns caps into SetChargingProfile calls: only what changed (by 0.1 A or more) or is due for a
 * refresh; decreases first, all chargers at once, and increases only when every decrease was
 * confirmed; increases to one connector rate-limited; refusals retried with backoff. Every profile
 * is reported on the bus as 'profile.status' (pending before sending, accepted/rejected after).
 */
export class ProfileDispatcher {
  private readonly connectors = new Map<string, ConnectorProfiles>();
  private readonly inFlight = new Set<string>();
  private readonly unknownConnectorsWarned = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: DispatcherOptions) {}

  applyCaps(caps: readonly ConnectorCap[]): Promise<ApplyResult> {
    const round = this.queue.then(() => this.round(caps));
    this.queue = round.catch(() => undefined);
    return round;
  }

  /** After a (re)connect and boot setup: forget what was confirmed, keep what the floors installed. */
  chargerReset(chargerId: string, floors: readonly { connectorId: number; limitA: number; phases: 1 | 3 }[]): void {
    for (const key of [...this.connectors.keys()]) if (key.startsWith(`${chargerId}/`)) this.connectors.delete(key);
    const atMs = this.options.clock.nowMs();
    for (const floor of floors) this.connectors.set(connectorKey(chargerId, floor.connectorId), { failures: 0, txDefault: { ...floor, atMs } });
  }

  /** The TxProfile of a finished transaction is gone; what holds now is the connector's default. */
  transactionEnded(chargerId: string, connectorId: number): void {
    const state = this.connectors.get(connectorKey(chargerId, connectorId));
    if (state) state.tx = undefined;
  }

  /** The connector default the charger last confirmed, A; undefined when none. */
  confirmedDefaultA(chargerId: string, connectorId: number): number | undefined {
    return this.connectors.get(connectorKey(chargerId, connectorId))?.txDefault?.limitA;
  }

  /** What the charger holds for a connector, A; its max when nothing was confirmed. */
  inForceA(chargerId: string, connectorId: number, maxA: number): number {
    const state = this.connectors.get(connectorKey(chargerId, connectorId));
    const transactionId = this.options.activeTransaction(chargerId, connectorId);
    if (transactionId !== undefined && state?.tx?.transactionId === transactionId) return state.tx.limitA;
    return state?.txDefault?.limitA ?? maxA;
  }

  private state(key: string): ConnectorProfiles {
    let state = this.connectors.get(key);
    if (!state) this.connectors.set(key, (state = { failures: 0 }));
    return state;
  }

  private plan(cap: ConnectorCap, nowMs: number): Plan | undefined {
    const target = this.options.target(cap.chargerId);
    if (!target?.ready) return undefined;
    if (!Number.isInteger(cap.connectorId) || cap.connectorId < 1 || cap.connectorId > target.config.connectors) {
      const key = connectorKey(cap.chargerId, cap.connectorId);
      if (!this.unknownConnectorsWarned.has(key)) target.log.warn({ connectorId: cap.connectorId }, 'cap for a connector this charger does not have; ignored (logged once)');
      this.unknownConnectorsWarned.add(key);
      return undefined;
    }
    const key = connectorKey(cap.chargerId, cap.connectorId);
    if (this.inFlight.has(key)) return undefined;
    const state = this.state(key);
    const transactionId = this.options.activeTransaction(cap.chargerId, cap.connectorId);
    const limitA = floorToTenth(Math.min(Number.isFinite(cap.currentA) ? cap.currentA : 0, target.config.maxCurrent));
    const phases = cap.phases === 1 ? 1 : 3;
    const confirmed = transactionId === undefined ? state.txDefault : state.tx?.transactionId === transactionId ? state.tx : undefined;
    const refreshDue = transactionId !== undefined && confirmed !== undefined && nowMs - confirmed.atMs >= (this.options.profileDurationS * 1000) / 2;
    if (confirmed && Math.abs(confirmed.limitA - limitA) < TENTH_EPSILON && confirmed.phases === phases && !refreshDue) return undefined;
    if (state.retryAtMs !== undefined && nowMs < state.retryAtMs) return undefined;
    const inForceA = this.inForceA(cap.chargerId, cap.connectorId, target.config.maxCurrent);
    const change: Change = limitA < inForceA - TENTH_EPSILON ? 'decrease' : limitA > inForceA + TENTH_EPSILON ? 'increase' : 'same';
    if (change === 'increase' && state.lastIncreaseAtMs !== undefined && nowMs - state.lastIncreaseAtMs < this.options.profileMinIntervalMs) {
      return undefined;
    }
    return { target, connectorId: cap.connectorId, key, transactionId, limitA, phases, inForceA, change };
  }

  private async round(caps: readonly ConnectorCap[]): Promise<ApplyResult> {
    const nowMs = this.options.clock.nowMs();
    const plans = caps.map((cap) => this.plan(cap, nowMs)).filter((p): p is Plan => p !== undefined);
    const first = plans.filter((p) => p.change !== 'increase');
    const firstResults = await this.settle(first.map((p) => this.send(p)));
    const unconfirmedDecreases = first.filter((p, i) => p.change === 'decrease' && firstResults[i] !== true).length;
    if (unconfirmedDecreases > 0) {
      const held = plans.length - first.length;
      if (held > 0) this.options.log.info({ unconfirmedDecreases, held }, 'increases held back until every decrease is confirmed');
      return { sent: first.length, unconfirmedDecreases };
    }
    const increases = plans.filter((p) => p.change === 'increase');
    for (const p of increases) this.state(p.key).lastIncreaseAtMs = this.options.clock.nowMs();
    await this.settle(increases.map((p) => this.send(p)));
    return { sent: first.length + increases.length, unconfirmedDecreases: 0 };
  }

  /** Each result, or undefined for those still unanswered after answerWaitMs. */
  private async settle(sends: Promise<boolean>[]): Promise<(boolean | undefined)[]> {
    if (sends.length === 0) return [];
    const results: (boolean | undefined)[] = sends.map(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.answerWaitMs)));
    await Promise.race([Promise.all(sends.map((send, i) => send.then((ok) => (results[i] = ok)))), deadline]);
    clearTimeout(timer);
    return results;
  }

  private emit(p: Plan, state: ProfileState, detail?: string): void {
    this.options.bus.emit('profile.status', {
      chargerId: p.target.chargerId,
      connectorId: p.connectorId,
      state,
      capA: p.limitA,
      previousCapA: p.inForceA,
      atMs: this.options.clock.nowMs(),
      ...(detail === undefined ? {} : { detail }),
    });
  }

  /** True when the charger accepted. */
  private async send(p: Plan): Promise<boolean> {
    const { target } = p;
    // A session's cap knows its car's phases; an idle connector's default must hold for any car.
    const spec: LimitSpec = { capA: p.limitA, phases: p.phases, voltageV: this.options.voltageV, unit: target.capabilities.rateUnit, car: p.transactionId === undefined ? 'any' : 'known' };
    const sentAtMs = this.options.clock.nowMs();
    const intent: ProfileIntent =
      p.transactionId === undefined
        ? { purpose: 'TxDefaultProfile', connectorId: p.connectorId, spec, nowMs: sentAtMs }
        : { purpose: 'TxProfile', connectorId: p.connectorId, transactionId: p.transactionId, spec, nowMs: sentAtMs, durationS: this.options.profileDurationS };
    this.emit(p, 'pending');
    let status: string;
    this.inFlight.add(p.key);
    try {
      status = await target.sendProfile(intent);
    } catch (error) {
      status = error instanceof Error ? error.message : String(error);
    } finally {
      this.inFlight.delete(p.key);
    }
    const state = this.state(p.key);
    const firstForTransaction = p.transactionId !== undefined && state.triedTransactionId !== p.transactionId;
    if (p.transactionId !== undefined) state.triedTransactionId = p.transactionId;
    if (status === 'Accepted') {
      const installed: Installed = { limitA: p.limitA, phases: p.phases, atMs: sentAtMs };
      if (p.transactionId === undefined) state.txDefault = installed;
      else state.tx = { ...installed, transactionId: p.transactionId };
      if (state.failures > 0) target.log.info({ connectorId: p.connectorId }, 'charger accepts charging profiles again');
      state.failures = 0;
      state.retryAtMs = undefined;
      this.emit(p, 'accepted');
      return true;
    }
    if (firstForTransaction && status === 'Rejected' && state.failures === 0) {
      // Our StartTransaction answer and this profile can reach a charger in one read, before it
      // has noted the transaction. The default it holds still applies: retry next cycle, no backoff.
      target.log.debug({ connectorId: p.connectorId, transactionId: p.transactionId }, 'first TxProfile of a new transaction refused; retrying next cycle');
      this.emit({ ...p, limitA: p.inForceA }, 'accepted', 'TxProfile not taken yet; the connector default holds');
      return false;
    }
    if (state.failures === 0) {
      target.log.warn({ connectorId: p.connectorId, status, limitA: p.limitA }, 'charger did not accept a charging profile; its max stays reserved, retrying with backoff');
    }
    state.failures++;
    state.retryAtMs = this.options.clock.nowMs() + Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** (state.failures - 1));
    const level = txStackLevel(target.capabilities);
    if (p.transactionId !== undefined && (status === 'Rejected' || status === 'NotSupported') && level > 0 && level === target.capabilities.maxStackLevel) {
      target.stepDownStackLevel();
    }
    this.emit(p, 'rejected', status);
    return false;
  }
}
