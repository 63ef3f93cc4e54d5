// What one charger holds: every profile slot the EMS writes (the charger-wide floor and the lift
// above it, each connector's TxDefaultProfile and the TxProfile of its running transaction), what
// the charger confirmed, what is still unanswered, and one retry policy per slot and per
// transaction. Pure: no I/O, no clock; every time is a monotonic ms the caller passes in.
//
// The one question it answers for the rest of the EMS: if the EMS died right now, what is the most
// this connector could draw from now on, including after every duration expires (holdA)? An
// unanswered profile may or may not be installed, so both it and the one before count; a slot the
// charger never confirmed counts as no limit (the charger's max); a charger that cannot be capped
// counts at its max.

import { floorToTenth } from './rounding.ts';

/** Retry policy of one slot (or one transaction's TxProfile): 1 s doubling to 60 s. */
export class Backoff {
  failures = 0;
  retryAtMs = 0;

  static readonly START_MS = 1_000;
  static readonly MAX_MS = 60_000;

  ready(nowMs: number): boolean {
    return nowMs >= this.retryAtMs;
  }

  fail(nowMs: number): void {
    this.failures++;
    this.retryAtMs = nowMs + Math.min(Backoff.MAX_MS, Backoff.START_MS * 2 ** (this.failures - 1));
  }

  succeed(): void {
    this.failures = 0;
    this.retryAtMs = 0;
  }
}

export interface HeldLimit {
  limitA: number;
  phases: 1 | 3;
  /** Monotonic ms when it was sent. */
  sentAtMs: number;
  /** Monotonic ms from when the charger no longer applies it (a bounded duration); none = for ever. */
  expiresAtMs?: number;
}

/** One profile slot on the charger (one purpose, connector and stack level). */
export class ProfileSlot {
  /** What the charger confirmed last. */
  confirmed?: HeldLimit;
  /** Sent and not refused: installed or not, we cannot tell until an answer comes. */
  pending?: HeldLimit;
  /** Sent earlier and never answered: any of them may be what the charger holds, until one is confirmed. */
  uncertain: HeldLimit[] = [];
  /** A call for this slot is on the wire right now. */
  inFlight = false;
  /** The last answer was a refusal (the charger holds what it held before). */
  refused = false;
  backoff = new Backoff();
  lastIncreaseAtMs?: number;

  /** The confirmed limit while it still applies. */
  inForce(nowMs: number): HeldLimit | undefined {
    const c = this.confirmed;
    return c && (c.expiresAtMs === undefined || nowMs < c.expiresAtMs) ? c : undefined;
  }

  /** Every limit this slot may hold now or later. Empty when it holds nothing for sure. */
  possibleA(nowMs: number): number[] {
    const values: number[] = [];
    const inForce = this.inForce(nowMs);
    if (inForce) values.push(inForce.limitA);
    for (const p of [this.pending, ...this.uncertain]) if (p && (p.expiresAtMs === undefined || nowMs < p.expiresAtMs)) values.push(p.limitA);
    return values;
  }

  begin(limit: HeldLimit): void {
    this.pending = limit;
    this.inFlight = true;
  }

  accepted(): void {
    if (this.pending) this.confirmed = this.pending;
    this.pending = undefined;
    // Calls to one charger are answered in order: this one replaced whatever went before it.
    this.uncertain = [];
    this.inFlight = false;
    this.refused = false;
  }

  /** The charger said no: it holds what it held before. */
  refusedNow(): void {
    this.pending = undefined;
    this.inFlight = false;
    this.refused = true;
  }

  /** No answer (timeout, dropped socket): the pending limit may or may not be installed; it stays counted. */
  unanswered(): void {
    if (this.pending) this.uncertain.push(this.pending);
    this.pending = undefined;
    this.inFlight = false;
  }

  forget(): void {
    this.confirmed = undefined;
    this.pending = undefined;
    this.uncertain = [];
    this.inFlight = false;
    this.refused = false;
  }
}

/** The TxProfile slot of a connector, tied to one transaction: a new transaction starts clean. */
export class TxSlot extends ProfileSlot {
  /** The first TxProfile of this transaction was tried (its first refusal is retried at once). */
  tried = false;
  constructor(readonly transactionId: number) {
    super();
  }
}

export interface HoldingsSettings {
  chargerId: string;
  connectors: number;
  /** The charger's max current, A per phase. */
  maxA: number;
  /** Static safe share, A per phase per connector. */
  shareA: number;
}

export type Uncontrollable = { reason: string; sinceMs: number };

/** Everything one charger holds, and what it could draw from that if the EMS died now. */
export class ChargerHoldings {
  readonly chargerId: string;
  readonly connectors: number;
  readonly maxA: number;
  shareA: number;
  /** Charger-wide floor (ChargePointMaxProfile / ChargingStationMaxProfile, stack level 0, no duration). */
  readonly floor = new ProfileSlot();
  /** Charger-wide lift above the floor (stack level 1, bounded duration). */
  readonly lift = new ProfileSlot();
  /** The lift cannot go on (the charger takes one stack level): the floor is all there is. */
  liftUnsupported = false;
  private readonly defaults: ProfileSlot[] = [];
  private readonly txSlots: (TxSlot | undefined)[] = [];
  /** Set when the charger refuses or ignores profiles: it counts at its max, nothing is sent to it. */
  uncontrollable?: Uncontrollable;

  constructor(settings: HoldingsSettings) {
    this.chargerId = settings.chargerId;
    this.connectors = settings.connectors;
    this.maxA = settings.maxA;
    this.shareA = settings.shareA;
    for (let c = 0; c <= settings.connectors; c++) this.defaults.push(new ProfileSlot());
  }

  defaultSlot(connectorId: number): ProfileSlot {
    return this.defaults[connectorId];
  }

  /** The TxProfile slot of a transaction; a new transaction gets a fresh slot and fresh backoff. */
  txSlot(connectorId: number, transactionId: number): TxSlot {
    let slot = this.txSlots[connectorId];
    if (!slot || slot.transactionId !== transactionId) this.txSlots[connectorId] = slot = new TxSlot(transactionId);
    return slot;
  }

  /** The TxProfile slot of a connector's transaction, if one was ever made for it. */
  existingTxSlot(connectorId: number, transactionId: number): TxSlot | undefined {
    const slot = this.txSlots[connectorId];
    return slot?.transactionId === transactionId ? slot : undefined;
  }

  /** The transaction ended: its TxProfile is gone from the charger. */
  transactionEnded(connectorId: number): void {
    this.txSlots[connectorId] = undefined;
  }

  /**
   * After a (re)connect or boot: the charger may have kept or lost anything. Until it confirms
   * again, every slot counts as unknown (its max). The transactions' TxProfiles are kept as
   * possible (a 1.6 charger keeps them while offline) but must be confirmed again.
   */
  reconnected(): void {
    this.floor.forget();
    this.lift.forget();
    this.liftUnsupported = false;
    for (const slot of this.defaults) slot.forget();
    for (const slot of this.txSlots) {
      if (!slot) continue;
      // Still possibly held (a 1.6 charger keeps a TxProfile while offline), to be confirmed again.
      slot.uncertain = [...slot.uncertain, ...[slot.confirmed, slot.pending].filter((h): h is HeldLimit => h !== undefined)];
      slot.confirmed = undefined;
      slot.pending = undefined;
      slot.inFlight = false;
      slot.tried = false;
      slot.backoff = new Backoff();
    }
  }

  markUncontrollable(reason: string, nowMs: number): boolean {
    if (this.uncontrollable) return false;
    this.uncontrollable = { reason, sinceMs: nowMs };
    return true;
  }

  /** The default a connector should hold for a cap: never above the cap (0 when paused) nor the share. */
  defaultTargetA(capA: number): number {
    return floorToTenth(Math.max(0, Math.min(capA, this.shareA, this.maxA)));
  }

  /**
   * The most a connector may draw from now on, whatever the EMS does next and even if it died now
   * (every duration expiring), A per phase: the TxProfile of its running transaction while it may
   * apply, then the connector default; the charger's max for anything not confirmed.
   */
  holdA(connectorId: number, transactionId: number | undefined, nowMs: number): number {
    if (this.uncontrollable) return this.maxA;
    const def = this.defaults[connectorId];
    const defaults = def ? def.possibleA(nowMs) : [];
    // Nothing confirmed: the charger may hold no default at all (no limit), or the one on connector 0.
    let worstA = def?.inForce(nowMs) ? Math.max(...defaults) : this.maxA;
    if (transactionId !== undefined) {
      const tx = this.existingTxSlot(connectorId, transactionId);
      if (tx) for (const a of tx.possibleA(nowMs)) worstA = Math.max(worstA, a);
    }
    // The charger-wide floor does not bound one connector for sure: the lift above it comes and goes.
    return Math.min(this.maxA, worstA);
  }

  /** What the connector holds right now (the limit a car may draw at this moment), A. */
  inForceA(connectorId: number, transactionId: number | undefined, nowMs: number): number {
    if (this.uncontrollable) return this.maxA;
    const defaultA = this.defaults[connectorId]?.inForce(nowMs)?.limitA ?? this.maxA;
    const tx = transactionId === undefined ? undefined : this.existingTxSlot(connectorId, transactionId)?.inForce(nowMs)?.limitA;
    return Math.min(this.maxA, tx ?? defaultA);
  }

  /** Every slot's confirmed limit is to be re-sent (after a clock step): due for a refresh now. */
  refreshAll(): void {
    const slots = [this.floor, this.lift, ...this.defaults, ...this.txSlots.filter((s): s is TxSlot => s !== undefined)];
    for (const slot of slots) if (slot.confirmed) slot.confirmed = { ...slot.confirmed, sentAtMs: -Infinity };
  }
}
