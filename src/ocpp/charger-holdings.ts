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

/** A limit sent (pending or unanswered) that the charger may still apply at `nowMs`. */
function live(h: HeldLimit | undefined, nowMs: number): boolean {
  return h !== undefined && (h.expiresAtMs === undefined || nowMs < h.expiresAtMs);
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
  /**
   * Only restored from the record of an EMS that stopped (its worst case, not what the charger
   * holds), and not confirmed by this process since: a refusal of its re-send tells nothing more.
   */
  restored = false;
  backoff = new Backoff();
  lastIncreaseAtMs?: number;
  /** Told after every change of what the slot may hold (its owner keeps that across a restart). */
  onChange?: () => void;

  /** The highest limit this slot may hold, whatever expired (for the record that survives a restart); undefined when it holds nothing for sure. */
  worstA(): number | undefined {
    const values = [this.confirmed, this.pending, ...this.uncertain].filter((h): h is HeldLimit => h !== undefined).map((h) => h.limitA);
    return values.length ? Math.max(...values) : undefined;
  }

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
    if (live(this.pending, nowMs)) values.push(this.pending!.limitA);
    for (let i = 0; i < this.uncertain.length; i++) if (live(this.uncertain[i], nowMs)) values.push(this.uncertain[i]!.limitA);
    return values;
  }

  /** Math.max(...possibleA(nowMs)) without the array (−∞ when it holds nothing for sure): it runs per connector per cycle. */
  mostPossibleA(nowMs: number): number {
    return this.foldPossibleA(nowMs, Math.max, Number.NEGATIVE_INFINITY);
  }

  /** Math.min(...possibleA(nowMs)) without the array (+∞ when it holds nothing for sure). */
  leastPossibleA(nowMs: number): number {
    return this.foldPossibleA(nowMs, Math.min, Number.POSITIVE_INFINITY);
  }

  /** possibleA(nowMs).length > 0 without the array. */
  holdsAny(nowMs: number): boolean {
    return this.foldPossibleA(nowMs, Math.max, Number.NEGATIVE_INFINITY) > Number.NEGATIVE_INFINITY;
  }

  /** Folds the limits possibleA(nowMs) would list, without building the list. */
  private foldPossibleA(nowMs: number, fold: (a: number, b: number) => number, startA: number): number {
    let resultA = startA;
    const inForce = this.inForce(nowMs);
    if (inForce) resultA = fold(resultA, inForce.limitA);
    if (live(this.pending, nowMs)) resultA = fold(resultA, this.pending!.limitA);
    for (let i = 0; i < this.uncertain.length; i++) if (live(this.uncertain[i], nowMs)) resultA = fold(resultA, this.uncertain[i]!.limitA);
    return resultA;
  }

  begin(limit: HeldLimit): void {
    this.pending = limit;
    this.inFlight = true;
    this.onChange?.();
  }

  accepted(): void {
    if (this.pending) this.confirmed = this.pending;
    this.pending = undefined;
    this.restored = false;
    // Calls to one charger are answered in order: this one replaced whatever went before it.
    this.uncertain = [];
    this.inFlight = false;
    this.refused = false;
    this.onChange?.();
  }

  /** The charger said no: it holds what it held before. */
  refusedNow(): void {
    this.pending = undefined;
    this.inFlight = false;
    this.refused = true;
    this.onChange?.();
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
    this.restored = false;
    this.onChange?.();
  }

  /** Still held as confirmed, but due to be sent again (a reconnect, a restart, a clock step). */
  markDue(): void {
    if (this.confirmed) this.confirmed = { ...this.confirmed, sentAtMs: -Infinity };
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
  /**
   * How long a charger-wide lift lasts (control.profileDurationS), ms: one an earlier EMS process
   * sent (its record survives) may be in force for that long after this process restored it.
   * Unknown: for ever.
   */
  liftDurationMs?: number;
}

/** How far back the record of what each connector could hold goes, ms (readings come late; sessions start before they are told). */
const HOLD_LOG_MS = 10 * 60_000;
/** At most this many changes are kept per connector. */
const HOLD_LOG_ENTRIES = 128;

export type Uncontrollable = { reason: string; sinceMs: number };

/** Where a charger's holdings go so they survive a restart (src/ocpp/holdings-store.ts, bound to one charger). */
export interface HoldingsSink {
  save(slot: string, limitA: number, transactionId?: number): void;
  remove(slot: string): void;
}

/** A slot's record from before a restart. */
export interface RestoredSlot {
  slot: string;
  limitA: number;
  transactionId?: number;
}

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
  /**
   * Its link is setting it up after a (re)connect (from reconnected() until it is ready): the
   * floor, once confirmed, bounds every connector until the lift goes on the wire (floorBoundA).
   * Once it is ready the dispatcher reports what each connector holds, and a lift sent again
   * then never makes a connector hold more than was reported.
   */
  settingUp = false;
  private readonly defaults: ProfileSlot[] = [];
  private readonly txSlots: (TxSlot | undefined)[] = [];
  /** Set when the charger refuses or ignores profiles: it counts at its max, nothing is sent to it. */
  uncontrollable?: Uncontrollable;
  /** What the sink has, per slot key, so only changes are written. */
  private readonly recorded = new Map<string, { limitA: number; transactionId?: number }>();
  private readonly liftDurationMs: number;
  /**
   * Per connector, what holdA was from each time on: [atMs, A, atMs, A, ...] (noteHolds). A rise is
   * noted when the profile goes on the wire, a fall when the charger answers (never before it was true).
   */
  private readonly holdLog: number[][] = [];

  constructor(
    settings: HoldingsSettings,
    private readonly sink?: HoldingsSink,
    /** Whether a car draws on this connector although its tag was refused (the transaction book says). */
    private readonly refusedDrawing?: (connectorId: number) => boolean,
  ) {
    this.chargerId = settings.chargerId;
    this.connectors = settings.connectors;
    this.maxA = settings.maxA;
    this.shareA = settings.shareA;
    this.liftDurationMs = settings.liftDurationMs ?? Number.POSITIVE_INFINITY;
    // A lift on the wire may outlive this process (the charger keeps it until its duration ends): recorded before it is sent.
    this.lift.onChange = () => this.record('lift:0', this.lift);
    for (let c = 0; c <= settings.connectors; c++) {
      const slot = new ProfileSlot();
      // A default the charger never confirmed may be no limit at all: then there is nothing to record (a restart counts the max).
      slot.onChange = () => this.record(`default:${c}`, slot.confirmed ? slot : new ProfileSlot());
      this.defaults.push(slot);
    }
  }

  /**
   * Writes a slot's worst case to the sink when it changed. Called from `begin()` before the
   * profile goes on the wire, so a higher limit is recorded before the charger can hold it.
   */
  private record(key: string, slot: ProfileSlot, transactionId?: number): void {
    if (!this.sink) return;
    const limitA = slot.worstA();
    const before = this.recorded.get(key);
    if (limitA === undefined) {
      if (before) this.sink.remove(key);
      this.recorded.delete(key);
      return;
    }
    if (before && before.limitA === limitA && before.transactionId === transactionId) return;
    this.sink.save(key, limitA, transactionId);
    this.recorded.set(key, { limitA, ...(transactionId === undefined ? {} : { transactionId }) });
  }

  /**
   * What the charger held when the EMS stopped: each slot counts at its recorded worst case,
   * confirmed (the charger keeps its profiles while the EMS is down) and due to be sent again. A
   * lift an earlier process sent may be in force for one lift duration from `nowMs` (monotonic).
   */
  restore(slots: readonly RestoredSlot[], nowMs = 0): void {
    for (const r of slots) {
      const [kind, raw] = r.slot.split(':');
      const connectorId = Number(raw);
      if (!Number.isInteger(connectorId) || connectorId < 0 || connectorId > this.connectors || !Number.isFinite(r.limitA)) continue;
      if (kind === 'lift') {
        this.lift.uncertain.push({ limitA: Math.max(0, r.limitA), phases: 3, sentAtMs: -Infinity, expiresAtMs: nowMs + this.liftDurationMs });
        this.recorded.set(r.slot, { limitA: r.limitA });
        continue;
      }
      const held: HeldLimit = { limitA: Math.max(0, Math.min(r.limitA, this.maxA)), phases: 3, sentAtMs: -Infinity };
      const slot = kind === 'default' ? this.defaults[connectorId] : kind === 'tx' && r.transactionId !== undefined ? this.txSlot(connectorId, r.transactionId) : undefined;
      if (!slot) continue;
      slot.confirmed = held;
      slot.restored = true;
      this.recorded.set(r.slot, { limitA: held.limitA, ...(r.transactionId === undefined ? {} : { transactionId: r.transactionId }) });
    }
  }

  defaultSlot(connectorId: number): ProfileSlot {
    return this.defaults[connectorId];
  }

  /** The TxProfile slot of a transaction; a new transaction gets a fresh slot and fresh backoff. */
  txSlot(connectorId: number, transactionId: number): TxSlot {
    let slot = this.txSlots[connectorId];
    if (!slot || slot.transactionId !== transactionId) {
      const fresh = new TxSlot(transactionId);
      fresh.onChange = () => this.record(`tx:${connectorId}`, fresh, transactionId);
      this.txSlots[connectorId] = slot = fresh;
    }
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
    this.record(`tx:${connectorId}`, new ProfileSlot());
  }

  /**
   * After a (re)connect. A charger that only lost its link keeps every profile it holds: they stay
   * counted as they were and are sent again. After a boot it may have kept or lost anything: until
   * it confirms again, every slot counts as unknown (its max); the transactions' TxProfiles are
   * kept as possible but must be confirmed again.
   */
  reconnected(booted = true): void {
    this.settingUp = true;
    if (!booted) {
      for (const slot of [this.floor, this.lift, ...this.defaults, ...this.txSlots]) {
        if (!slot) continue;
        slot.markDue();
        slot.inFlight = false;
        slot.backoff = new Backoff();
        if (slot instanceof TxSlot) slot.tried = false;
      }
      return;
    }
    this.floor.forget();
    // A lift it held may have survived the boot: possible until its duration ends (the floor bounds nothing until then).
    const lift = this.lift;
    lift.uncertain = [...lift.uncertain, ...[lift.confirmed, lift.pending].filter((h): h is HeldLimit => h !== undefined)];
    lift.confirmed = undefined;
    lift.pending = undefined;
    lift.inFlight = false;
    lift.refused = false;
    lift.onChange?.();
    this.liftUnsupported = false;
    for (const slot of this.defaults) slot.forget();
    for (const slot of this.txSlots) {
      if (!slot) continue;
      // Still possibly held (a 1.6 charger keeps a TxProfile while offline), to be confirmed again.
      slot.uncertain = [...slot.uncertain, ...[slot.confirmed, slot.pending].filter((h): h is HeldLimit => h !== undefined)];
      slot.confirmed = undefined;
      slot.restored = false;
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
   * apply, then the connector default; the charger's max for anything not confirmed, and for a
   * connector whose car draws although its tag was refused (the charger ignores authorization).
   */
  holdA(connectorId: number, transactionId: number | undefined, nowMs: number): number {
    if (this.uncontrollable || this.refusedDrawing?.(connectorId)) return this.maxA;
    const def = this.defaults[connectorId];
    // Nothing confirmed: the charger may hold no default at all (no limit), or the one on connector 0.
    let worstA = def?.inForce(nowMs) ? def.mostPossibleA(nowMs) : this.maxA;
    if (transactionId !== undefined) {
      const tx = this.existingTxSlot(connectorId, transactionId);
      if (tx) worstA = Math.max(worstA, tx.mostPossibleA(nowMs));
    }
    return Math.min(this.maxA, worstA, this.floorBoundA(nowMs));
  }

  /**
   * What the charger-wide floor bounds every connector to (its total) while the charger is being set
   * up, once the floor is confirmed and as long as no lift above it may be in force (after a boot,
   * before the lift goes on the wire: a car that starts then is offered no more); +∞ otherwise:
   * the lift above it comes and goes.
   */
  private floorBoundA(nowMs: number): number {
    if (!this.settingUp || !this.floor.inForce(nowMs) || this.lift.holdsAny(nowMs)) return Number.POSITIVE_INFINITY;
    return this.floor.mostPossibleA(nowMs);
  }

  /**
   * Notes what each connector may hold now (holdA, with its TxProfile whatever transaction it is
   * for). Called when a profile goes on the wire (a rise is noted at once) and when it is answered
   * (a fall is noted once it is true), after a reconnect, and before a reading or a session start is
   * judged against the past.
   */
  noteHolds(nowMs: number): void {
    for (let c = 1; c <= this.connectors; c++) {
      const holdA = this.holdA(c, this.txSlots[c]?.transactionId, nowMs);
      let log = this.holdLog[c];
      if (!log) this.holdLog[c] = log = [];
      if (log.length >= 2 && log[log.length - 1] === holdA) continue;
      let drop = 0;
      while (drop + 2 < log.length && (log[drop + 2]! <= nowMs - HOLD_LOG_MS || log.length - drop >= 2 * HOLD_LOG_ENTRIES)) drop += 2;
      if (drop > 0) log.splice(0, drop);
      log.push(nowMs, holdA);
    }
  }

  /**
   * The most the connector may have held at any moment of [fromMs, toMs] (monotonic ms), as noted;
   * the charger's max for any time before the first note (nothing is known of it).
   */
  heldMostA(connectorId: number, fromMs: number, toMs: number): number {
    const log = this.holdLog[connectorId];
    if (!log || log.length === 0 || log[0]! > fromMs) return this.maxA;
    let mostA = 0;
    for (let i = 0; i < log.length; i += 2) {
      const endMs = i + 2 < log.length ? log[i + 2]! : Number.POSITIVE_INFINITY;
      if (log[i]! > toMs || endMs <= fromMs) continue;
      mostA = Math.max(mostA, log[i + 1]!);
    }
    return mostA;
  }

  /**
   * A connector's reservation as the bus reports it: `capA` is the confirmed limit in force (0 when
   * none), `reserveA` what it may draw whatever the EMS decides now, when more than that (or always
   * while the charger is offline and cannot take new limits).
   */
  status(connectorId: number, transactionId: number | undefined, nowMs: number, offline: boolean): { state: 'accepted' | 'rejected'; capA: number; reserveA?: number; uncontrollable?: true } {
    if (this.uncontrollable) return { state: 'rejected', capA: this.maxA, reserveA: this.maxA, uncontrollable: true };
    const holdA = this.holdA(connectorId, transactionId, nowMs);
    const capA = this.firmA(connectorId, transactionId, nowMs);
    return { state: 'accepted', capA, ...(holdA > capA + 0.05 || offline ? { reserveA: holdA } : {}) };
  }

  /**
   * The limit the charger confirmed and applies now, 0 when it confirmed none: only a confirmed
   * limit is a cap the EMS can count on (lowering it takes a profile the charger answers).
   */
  firmA(connectorId: number, transactionId: number | undefined, nowMs: number): number {
    if (this.uncontrollable) return this.maxA;
    const confirmed = this.defaults[connectorId]?.inForce(nowMs) ?? (transactionId === undefined ? undefined : this.existingTxSlot(connectorId, transactionId)?.inForce(nowMs));
    return confirmed ? this.inForceA(connectorId, transactionId, nowMs) : 0;
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
    for (const slot of slots) slot.markDue();
  }
}
