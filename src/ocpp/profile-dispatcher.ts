import type { ChargerConfig } from '../../config/schema.ts';
import { connectorKey, type ConnectorCap } from '../../optimizer/types.ts';
import type { Bus, ProfileState } from '../bus.ts';
import { monotonicMs, realWait, type Clock, type Wait } from '../clock.ts';
import type { ApplyResult } from '../control/charger-commands.ts';
import type { Logger } from '../log.ts';
import type { ChargerCapabilities } from './capabilities.ts';
import type { ChargerHoldings, ProfileSlot, TxSlot } from './charger-holdings.ts';
import { txStackLevel, type LimitSpec } from './profile.ts';
import { settleProfileCall, type ProfileOutcome } from './profile-answer.ts';
import { floorToTenth } from './rounding.ts';

/** A profile to install, in protocol-neutral terms; the charger's link builds the wire payload. */
export type ProfileIntent =
  | { purpose: 'TxDefaultProfile'; connectorId: number; spec: LimitSpec }
  | { purpose: 'TxProfile'; connectorId: number; transactionId: number; spec: LimitSpec; durationS: number };

/** The part of a connected charger the dispatcher needs. */
export interface ProfileTarget {
  readonly chargerId: string;
  /** Connected and through its boot setup (capabilities known, floors installed). */
  readonly ready: boolean;
  readonly capabilities: ChargerCapabilities;
  readonly config: ChargerConfig;
  readonly log: Logger;
  /** What this charger holds (shared with its link's boot setup). */
  readonly holdings: ChargerHoldings;
  /** Resolves with the charger's status; rejects on CALLERROR, timeout or a dropped socket. */
  sendProfile(intent: ProfileIntent): Promise<string>;
  /** A TxProfile at this stack level was refused: try one lower next time. */
  stepDownStackLevel(): void;
  /** The charger answered NotSupported / NotImplemented: it cannot be capped. */
  uncontrollableFound(detail: string): void;
  /** A profile was accepted: the target may check, at its own bounded rate, that it is applied. */
  profileAccepted?(): void;
  /** Its socket closed: a call on the wire was cut short with it (no fault of a charger that answers). */
  readonly disconnected?: boolean;
  /**
   * Whether the charger can know this transaction's id yet (1.6: the central system assigns it in
   * its StartTransaction answer, which waits for the durable write). A TxProfile naming an id the
   * charger was not told is refused by a strict charger; absent: always known.
   */
  transactionKnown?(connectorId: number, transactionId: number): boolean;
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
   * in flight (its slot skipped until it settles, and counted at the higher of old and new); an
   * unanswered decrease holds the increases. Keeps one silent charger from stalling the loop.
   */
  answerWaitMs: number;
  target(chargerId: string): ProfileTarget | undefined;
  activeTransaction(chargerId: string, connectorId: number): number | undefined;
  /** Resolves after ms (injected timer); setTimeout by default. */
  wait?: Wait | undefined;
  /** Resolves on a later turn of the event loop (between batches of a round's sends); setImmediate by default. */
  nextTurn?: (() => Promise<void>) | undefined;
}

type Change = 'decrease' | 'same' | 'increase';

interface Plan {
  target: ProfileTarget;
  connectorId: number;
  purpose: 'TxDefaultProfile' | 'TxProfile';
  slot: ProfileSlot;
  transactionId?: number;
  limitA: number;
  /** The connector's cap this round (a default's limit may be lower: the share), A. */
  capA: number;
  phases: 1 | 3;
  /** What the connector holds now (before this profile), A. */
  inForceA: number;
  change: Change;
  /** A raise's connector default, sent this round: the raise goes once the charger answered it (see raiseMayGo). */
  after?: Plan;
}

const TENTH_EPSILON = 0.05;

/**
 * Profiles started in one turn of the event loop. Each start writes the slot (SQLite), reports it
 * on the bus and sends the call (validation, the frame, a socket write): ~0.1-0.25 ms each, so a
 * round that changes every cap (a grid step at 200 chargers) was one 20-50 ms task that every
 * charger frame and relayed answer arriving meanwhile waited behind. In turns of this many, a
 * frame waits behind one batch (docs/local-controller.md). Order and grouping are unchanged:
 * decreases still all go before any increase.
 */
const SENDS_PER_TURN = 8;

const realNextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** start(p) for each plan in order, SENDS_PER_TURN to a turn of the event loop. */
async function startInTurns(list: readonly Plan[], start: (p: Plan) => Promise<boolean>, nextTurn: () => Promise<void>): Promise<Promise<boolean>[]> {
  const sends: Promise<boolean>[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    if (i > 0 && i % SENDS_PER_TURN === 0) await nextTurn();
    const sent = start(list[i]!);
    // Settled together once all have started (settle()); a failure meanwhile is not unhandled.
    sent.catch(() => undefined);
    sends[i] = sent;
  }
  return sends;
}

/**
 * After this many refusals or unanswered calls in a row of a connector default, a TxProfile raise
 * no longer waits for it (1 + 2 + 4 s of backoff): a charger that will not take its defaults still
 * gets its cars raised, and falls back to the default it holds.
 */
const RAISE_WAITS_FOR_DEFAULT_MISSES = 3;

function changeOf(limitA: number, fromA: number): Change {
  return limitA < fromA - TENTH_EPSILON ? 'decrease' : limitA > fromA + TENTH_EPSILON ? 'increase' : 'same';
}

/** A slot may get a profile now: none on the wire, its backoff over. */
function slotDue(slot: ProfileSlot, nowMs: number): boolean {
  return !slot.inFlight && slot.backoff.ready(nowMs);
}

/** Whether any unanswered limit of the slot differs from `limitA` by a tenth or more. */
function uncertainOtherThan(slot: ProfileSlot, limitA: number): boolean {
  for (let i = 0; i < slot.uncertain.length; i++) if (Math.abs(slot.uncertain[i]!.limitA - limitA) >= TENTH_EPSILON) return true;
  return false;
}

/**
 * Whether a TxProfile raise may go on over the connector default as it stands, the default's
 * target being `defaultA` (min(cap, share)): whenever the EMS dies after the raise, the car must
 * fall back to no less than that. It waits while the default is on the wire, went unanswered
 * (installed or not: the charger may hold any of them) or is only restored from before a restart
 * (a worst case, not what the charger holds) and not confirmed since, or holds less than the
 * target. Never behind a refusal of a default this process knows: the charger is treated by the
 * refused rules (it holds what it held, counted so), and the car charges. Nor once the default
 * was missed three times in a row: charging beats a better fallback.
 */
function raiseMayGo(def: ProfileSlot, defaultA: number, nowMs: number): boolean {
  if (def.backoff.failures >= RAISE_WAITS_FOR_DEFAULT_MISSES) return true;
  if (def.inFlight || def.restored || def.uncertain.length > 0) return false;
  if (def.refused) return true;
  const confirmed = def.inForce(nowMs);
  return confirmed !== undefined && confirmed.limitA >= defaultA - TENTH_EPSILON;
}

/**
 * Turns caps into SetChargingProfile calls. Per connector two slots: the TxProfile of the running
 * transaction (the cap, with a bounded duration, refreshed at half of it) and the connector's
 * TxDefaultProfile (no duration: what a TxProfile expires into and what the next car gets), which
 * is min(cap, static share) and goes on the wire before the TxProfile, so an expiring TxProfile
 * never takes a car above the cap the EMS decided (a paused car stays at 0 if the EMS dies) and a
 * charging car falls no further than its static share allows. Only what changed (by 0.1 A or more) or is due
 * for a refresh is sent; decreases first, all chargers at once, increases only when every decrease
 * was confirmed; increases rate-limited per slot; refusals retried with a backoff per slot and per
 * transaction. What each charger holds lives in its ChargerHoldings; every answer is reported on
 * the bus as 'profile.status', with `reserveA` when the connector could draw more than its cap.
 */
export class ProfileDispatcher {
  private readonly unknownConnectorsWarned = new Set<string>();
  private readonly refusalWarned = new Set<string>();
  /** The reservation last reported per connector (absent: none). */
  private readonly reserved = new Map<string, number>();
  /** Connectors whose status someone else reported since (a link's setup): the next round reports them again. */
  private readonly restate = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Rounds started so far. */
  private rounds = 0;

  constructor(private readonly options: DispatcherOptions) {}

  /** The charger's link reported its connectors (its setup): the next round states each reservation again. */
  restateCharger(chargerId: string, connectors: number): void {
    for (let c = 1; c <= connectors; c++) this.restate.add(connectorKey(chargerId, c));
  }

  applyCaps(caps: readonly ConnectorCap[]): Promise<ApplyResult> {
    const round = this.queue.then(() => this.round(caps));
    this.queue = round.catch(() => undefined);
    return round;
  }

  private get mono(): number {
    return monotonicMs(this.options.clock);
  }

  /** An increase of this slot now would come sooner than profileMinIntervalMs after its last one. */
  private rateLimited(slot: ProfileSlot, change: Change, nowMs: number): boolean {
    return change === 'increase' && slot.lastIncreaseAtMs !== undefined && nowMs - slot.lastIncreaseAtMs < this.options.profileMinIntervalMs;
  }

  /**
   * Appends to `plans` what this cap's connector gets this round (nothing, its default, its
   * TxProfile or both, in that order). It runs for every connector every cycle: no closures, no
   * arrays of its own.
   */
  private plans(cap: ConnectorCap, nowMs: number, plans: Plan[]): void {
    const target = this.options.target(cap.chargerId);
    if (!target?.ready || target.holdings.uncontrollable) return;
    if (!Number.isInteger(cap.connectorId) || cap.connectorId < 1 || cap.connectorId > target.config.connectors) {
      const key = connectorKey(cap.chargerId, cap.connectorId);
      if (!this.unknownConnectorsWarned.has(key)) target.log.warn({ connectorId: cap.connectorId }, 'cap for a connector this charger does not have; ignored (logged once)');
      this.unknownConnectorsWarned.add(key);
      return;
    }
    const { holdings } = target;
    const { connectorId } = cap;
    const transactionId = this.options.activeTransaction(cap.chargerId, connectorId);
    const capA = floorToTenth(Math.max(0, Math.min(Number.isFinite(cap.currentA) ? cap.currentA : 0, target.config.maxCurrent)));
    const inForceA = holdings.inForceA(connectorId, transactionId, nowMs);

    // The TxProfile of the running transaction: the cap, refreshed at half its duration.
    let txPlan: Plan | undefined;
    let txRateLimited = false;
    let heldTxA: number | undefined;
    // Until the charger has the transaction's id, its TxProfile waits (the connector default binds the car meanwhile).
    if (transactionId !== undefined && target.transactionKnown?.(connectorId, transactionId) !== false) {
      const tx = holdings.txSlot(connectorId, transactionId);
      const phases = cap.phases === 1 ? 1 : 3;
      const held = tx.inForce(nowMs);
      heldTxA = held?.limitA;
      const refreshDue = held !== undefined && nowMs - held.sentAtMs >= (this.options.profileDurationS * 1000) / 2;
      if (slotDue(tx, nowMs) && (!held || Math.abs(held.limitA - capA) >= TENTH_EPSILON || held.phases !== phases || refreshDue)) {
        const change = changeOf(capA, inForceA);
        txRateLimited = this.rateLimited(tx, change, nowMs);
        if (!txRateLimited) txPlan = { target, connectorId, purpose: 'TxProfile', slot: tx, transactionId, limitA: capA, capA, phases, inForceA, change };
      }
    }

    // The connector default: an idle connector's cap, or what a running session falls back to.
    // A session's default binds its car only once the TxProfile is gone: it is held back by the
    // rate limit of the TxProfile's raise, not its own, so it never lags behind a raised TxProfile.
    const def = holdings.defaultSlot(connectorId);
    const defaultA = holdings.defaultTargetA(capA);
    const defaultPhases = target.config.phases;
    const confirmed = def.inForce(nowMs);
    // A default that went unanswered may be installed or not: sent again (after its backoff) until one is confirmed.
    const unsure = uncertainOtherThan(def, defaultA);
    let defPlan: Plan | undefined;
    if (slotDue(def, nowMs) && (!confirmed || unsure || Math.abs(confirmed.limitA - defaultA) >= TENTH_EPSILON || confirmed.phases !== defaultPhases || confirmed.sentAtMs === -Infinity)) {
      let change = changeOf(defaultA, confirmed?.limitA ?? target.config.maxCurrent);
      // Raised to no more than the TxProfile in force, a session's default changes nothing its car
      // may draw now: it goes with the decreases, not after them (and holds no increase back).
      if (change === 'increase' && heldTxA !== undefined && defaultA <= heldTxA + TENTH_EPSILON) change = 'same';
      const held = transactionId !== undefined ? change === 'increase' && txRateLimited : this.rateLimited(def, change, nowMs);
      if (!held) plans.push((defPlan = { target, connectorId, purpose: 'TxDefaultProfile', slot: def, limitA: defaultA, capA, phases: defaultPhases, inForceA, change }));
    }
    if (txPlan && txPlan.change !== 'decrease') {
      // A TxProfile that may raise the car (above the lowest limit its connector may hold now)
      // goes on only over its connector default at min(cap, share), so whenever the EMS dies the
      // car falls back to no less (#10): after the default sent this round, once the charger
      // answered it, or not this round while the default cannot go (see raiseMayGo).
      const tx = holdings.txSlot(connectorId, transactionId!);
      // A default refused, unanswered or only restored may hold anything down to 0 A.
      const defaultKnown = confirmed !== undefined && !def.restored && !def.refused && def.uncertain.length === 0;
      const lowestA = Math.min(defaultKnown ? def.leastPossibleA(nowMs) : 0, tx.leastPossibleA(nowMs));
      if (txPlan.limitA > lowestA + TENTH_EPSILON) {
        if (defPlan) txPlan.after = defPlan;
        else if (!raiseMayGo(def, defaultA, nowMs)) txPlan = undefined;
      }
    }
    if (txPlan) plans.push(txPlan);
    // Both go on the wire back to back (one call at a time per charger), and the EMS could die
    // between the two. The default always goes first: it is min(new cap, share), so once it is
    // taken the connector falls back, whenever the EMS dies, to the best it safely can. On a
    // decrease or a pause the default comes down before the TxProfile; on a raise (a resume, a new
    // transaction) it goes up first, to no more than the new cap that this round's increases may
    // already use: a TxProfile raised first would leave the car falling to the old, lower default
    // (0 A after a pause) if the EMS died before the default followed.
  }

  private async round(caps: readonly ConnectorCap[]): Promise<ApplyResult> {
    const nowMs = this.mono;
    const plans: Plan[] = [];
    for (let i = 0; i < caps.length; i++) this.plans(caps[i]!, nowMs, plans);
    this.reserveUnsent(caps, plans, nowMs);
    // Counted per connector (its TxProfile and default move together).
    const connectors = (list: readonly Plan[]) => new Set(list.map((p) => connectorKey(p.target.chargerId, p.connectorId))).size;
    const round = ++this.rounds;
    // A raise whose connector default goes this round follows it once the charger answered, and
    // only while this round is the last one: a later round planned the connector afresh (its cap
    // may have come down since).
    const sends = new Map<Plan, Promise<boolean>>();
    const start = (p: Plan): Promise<boolean> => {
      const go = () => {
        if (p.change === 'increase') p.slot.lastIncreaseAtMs = this.mono;
        return this.send(p);
      };
      const before = p.after && sends.get(p.after);
      const mayGo = (ok: boolean) => round === this.rounds && !p.target.holdings.uncontrollable && (ok || raiseMayGo(p.after!.slot, p.after!.limitA, this.mono));
      const sent = before ? before.then((ok) => (mayGo(ok) ? go() : false)) : go();
      sends.set(p, sent);
      return sent;
    };
    // A raise goes in the same half of the round as its default, or after it.
    const later = (p: Plan) => p.change === 'increase' || p.after?.change === 'increase';
    const first = plans.filter((p) => !later(p));
    const firstResults = await this.settle(await startInTurns(first, start, this.options.nextTurn ?? realNextTurn));
    const unconfirmedDecreases = connectors(first.filter((p, i) => p.change === 'decrease' && firstResults[i] !== true));
    if (unconfirmedDecreases > 0) {
      const held = plans.length - first.length;
      if (held > 0) this.options.log.info({ unconfirmedDecreases, held }, 'increases held back until every decrease is confirmed');
      return { sent: connectors(first), unconfirmedDecreases };
    }
    const increases = plans.filter(later);
    await this.settle(await startInTurns(increases, start, this.options.nextTurn ?? realNextTurn));
    return { sent: connectors(plans), unconfirmedDecreases: 0 };
  }

  /**
   * A connector that holds more than its new cap and gets no profile this round (backoff, a call
   * still on the wire, rate limit) keeps the difference reserved: reported once per change.
   */
  private reserveUnsent(caps: readonly ConnectorCap[], plans: readonly Plan[], nowMs: number): void {
    // The connectors that get a profile this round (few: only what changed or is due).
    let planned: Set<string> | undefined;
    for (let i = 0; i < plans.length; i++) (planned ??= new Set()).add(connectorKey(plans[i]!.target.chargerId, plans[i]!.connectorId));
    for (let i = 0; i < caps.length; i++) {
      const cap = caps[i]!;
      const target = this.options.target(cap.chargerId);
      if (!target?.ready || target.holdings.uncontrollable || (planned !== undefined && planned.has(connectorKey(target.chargerId, cap.connectorId)))) continue;
      if (!Number.isInteger(cap.connectorId) || cap.connectorId < 1 || cap.connectorId > target.config.connectors) continue;
      const transactionId = this.options.activeTransaction(cap.chargerId, cap.connectorId);
      const capA = Number.isFinite(cap.currentA) ? cap.currentA : 0;
      const key = connectorKey(cap.chargerId, cap.connectorId);
      const wanted = this.reserveOf(target, cap.connectorId, transactionId, capA, nowMs);
      if (wanted === this.reserved.get(key) && !this.restate.has(key)) continue;
      this.restate.delete(key);
      const inForceA = target.holdings.inForceA(cap.connectorId, transactionId, nowMs);
      const plan: Plan = { target, connectorId: cap.connectorId, purpose: 'TxDefaultProfile', slot: target.holdings.defaultSlot(cap.connectorId), ...(transactionId === undefined ? {} : { transactionId }), limitA: capA, capA, phases: 3, inForceA, change: 'same' };
      this.emit(plan, 'accepted', inForceA, wanted === undefined ? 'holds its cap' : 'holds more than its cap until a profile goes through', undefined, capA);
    }
  }

  /**
   * What the connector may draw whatever the EMS decides next, when that is more than the cap it
   * wants now or more than the charger confirmed (undefined: nothing to reserve). Measured against
   * the cap alone, a connector that confirmed nothing (it holds its max) would lose its reservation
   * as soon as the optimizer gives it that reservation as its cap (free to it), and be counted at
   * the next, lower cap a cycle later although it still holds its max.
   */
  private reserveOf(target: ProfileTarget, connectorId: number, transactionId: number | undefined, wantA: number, nowMs: number): number | undefined {
    const holdA = target.holdings.holdA(connectorId, transactionId, nowMs);
    const firmA = Math.min(wantA, target.holdings.firmA(connectorId, transactionId, nowMs));
    return holdA > firmA + TENTH_EPSILON ? holdA : undefined;
  }

  /** Each result, or undefined for those still unanswered after answerWaitMs. */
  private async settle(sends: Promise<boolean>[]): Promise<(boolean | undefined)[]> {
    if (sends.length === 0) return [];
    const results: (boolean | undefined)[] = sends.map(() => undefined);
    const deadline = (this.options.wait ?? realWait)(this.options.answerWaitMs);
    await Promise.race([Promise.all(sends.map((send, i) => send.then((ok) => (results[i] = ok)))), deadline.promise]);
    deadline.cancel();
    return results;
  }

  /**
   * Reports the connector on the bus: `state` and `capA` describe the profile that binds it (the
   * TxProfile in a session, else the default), `reserveA` what it could draw at most from now on
   * (if the EMS died now) when that is more than the cap.
   */
  private emit(p: Plan, state: ProfileState, capA: number, detail?: string, previousCapA?: number, wantA = Math.min(capA, p.capA)): void {
    const nowMs = this.mono;
    const reserveA = this.reserveOf(p.target, p.connectorId, p.transactionId ?? this.options.activeTransaction(p.target.chargerId, p.connectorId), wantA, nowMs);
    const key = connectorKey(p.target.chargerId, p.connectorId);
    this.restate.delete(key);
    if (reserveA !== undefined) this.reserved.set(key, reserveA);
    else this.reserved.delete(key);
    this.options.bus.emit('profile.status', {
      chargerId: p.target.chargerId,
      connectorId: p.connectorId,
      state,
      capA,
      ...(previousCapA === undefined ? {} : { previousCapA }),
      atMs: this.options.clock.nowMs(),
      // More than the cap the EMS wants, or than the charger confirmed, may still be drawn: reserved.
      ...(reserveA === undefined ? {} : { reserveA }),
      ...(detail === undefined ? {} : { detail }),
    });
  }

  /** A default changed under a running session: the session's own status, with the new reservation. */
  private emitSessionSummary(p: Plan): void {
    const transactionId = this.options.activeTransaction(p.target.chargerId, p.connectorId);
    if (transactionId === undefined) return;
    const tx = p.target.holdings.existingTxSlot(p.connectorId, transactionId);
    if (tx?.inFlight) return; // its own answer reports the connector
    const nowMs = this.mono;
    const capA = p.target.holdings.inForceA(p.connectorId, transactionId, nowMs);
    if (tx && tx.uncertain.length > 0) {
      // Its last TxProfile went unanswered: still pending, at the higher of old and new.
      const pendingA = tx.uncertain.at(-1)!.limitA;
      this.emit({ ...p, transactionId }, 'pending', pendingA, 'TxProfile unanswered (Timeout or dropped link)', p.target.holdings.holdA(p.connectorId, transactionId, nowMs), Math.min(pendingA, p.capA));
      return;
    }
    this.emit({ ...p, transactionId }, 'accepted', capA, 'connector default updated', undefined, Math.min(capA, p.capA));
  }

  private intent(p: Plan): ProfileIntent {
    const spec: LimitSpec = {
      capA: p.limitA,
      phases: p.phases,
      voltageV: this.options.voltageV,
      unit: p.target.capabilities.rateUnit,
      // A session's cap knows its car's phases; a default must hold for any car.
      car: p.purpose === 'TxProfile' ? 'known' : 'any',
    };
    return p.purpose === 'TxDefaultProfile'
      ? { purpose: 'TxDefaultProfile', connectorId: p.connectorId, spec }
      : { purpose: 'TxProfile', connectorId: p.connectorId, transactionId: p.transactionId!, spec, durationS: this.options.profileDurationS };
  }

  /** A TxProfile whose transaction is no longer its connector's: the EMS saw it end (StopTransaction, a new one). */
  private txEnded(p: Plan): boolean {
    return p.purpose === 'TxProfile' && this.options.activeTransaction(p.target.chargerId, p.connectorId) !== p.transactionId;
  }

  /** True when the charger accepted. */
  private async send(p: Plan): Promise<boolean> {
    const { target, slot } = p;
    if (this.txEnded(p)) {
      // Planned at the start of the round, its transaction ended before it could go (a raise waits
      // for its default's answer): a charger refuses a TxProfile for an ended transaction.
      target.log.debug({ connectorId: p.connectorId, transactionId: p.transactionId }, 'TxProfile not sent: its transaction ended since the round was planned');
      return false;
    }
    const reports = p.purpose === 'TxProfile' || p.transactionId === undefined;
    const sessionDefault = p.purpose === 'TxDefaultProfile' && this.options.activeTransaction(target.chargerId, p.connectorId) !== undefined;
    const sentAtMs = this.mono;
    const expiresAtMs = p.purpose === 'TxProfile' ? sentAtMs + this.options.profileDurationS * 1000 : undefined;
    // While it is on the wire the connector may hold the old limit or the new one.
    const holdBeforeA = target.holdings.holdA(p.connectorId, this.options.activeTransaction(target.chargerId, p.connectorId), sentAtMs);
    slot.begin({ limitA: p.limitA, phases: p.phases, sentAtMs, ...(expiresAtMs === undefined ? {} : { expiresAtMs }) });
    target.holdings.noteHolds(sentAtMs);
    if (reports && !sessionDefault) this.emit(p, 'pending', p.limitA, undefined, holdBeforeA);
    const { outcome, detail } = await settleProfileCall(() => target.sendProfile(this.intent(p)));
    const nowMs = this.mono;
    try {
      return this.answered(p, outcome, detail, nowMs, holdBeforeA, sessionDefault);
    } finally {
      target.holdings.noteHolds(nowMs);
    }
  }

  /** Records the charger's answer to `p` and reports the connector; true when it accepted. */
  private answered(p: Plan, outcome: ProfileOutcome, detail: string, nowMs: number, holdBeforeA: number, sessionDefault: boolean): boolean {
    const { target, slot } = p;
    target.log.debug({ connectorId: p.connectorId, purpose: p.purpose, transactionId: p.transactionId, limitA: p.limitA, outcome, answer: detail }, 'charging profile answered');
    // Found uncontrollable meanwhile: it is reported as such, nothing else about it counts.
    if (target.holdings.uncontrollable) {
      slot.refusedNow();
      if (outcome === 'unsupported') return false;
      if (outcome === 'accepted') slot.accepted();
      return false;
    }
    if (outcome !== 'unsupported' && this.txEnded(p)) {
      // The transaction ended while the TxProfile was on the wire (the charger's StopTransaction
      // came before its answer): whatever the answer, it is about a transaction that is over. Not
      // the charger's fault (a refusal is what it must answer), nothing to retry, no stack level to
      // step down; the ended transaction's slot is gone from the holdings and stays untouched (no
      // record for it). The connector counts at its default.
      if (outcome !== 'accepted') target.log.info({ connectorId: p.connectorId, transactionId: p.transactionId, answer: detail }, 'TxProfile answered after its transaction ended; nothing to retry');
      const { transactionId: _ended, ...connector } = p;
      this.emit(connector, 'accepted', target.holdings.inForceA(p.connectorId, undefined, nowMs), 'transaction ended; the connector default holds');
      return false;
    }
    const key = `${connectorKey(target.chargerId, p.connectorId)}/${p.purpose}`;
    const what = p.purpose === 'TxProfile' ? 'TxProfile' : 'connector default';
    if (outcome === 'accepted') {
      if (p.purpose === 'TxProfile') (slot as TxSlot).tried = true;
      slot.accepted();
      if (slot.backoff.failures > 0 || this.refusalWarned.has(key)) target.log.info({ connectorId: p.connectorId, what }, 'charger accepts charging profiles again');
      this.refusalWarned.delete(key);
      slot.backoff.succeed();
      if (sessionDefault) this.emitSessionSummary(p);
      else this.emit(p, 'accepted', p.limitA);
      target.profileAccepted?.();
      return true;
    }
    if (outcome === 'unsupported') {
      slot.refusedNow();
      target.uncontrollableFound(`${what} answered ${detail}`);
      return false;
    }
    const tx = p.purpose === 'TxProfile' ? (slot as TxSlot) : undefined;
    if (outcome === 'refused' && tx && !tx.tried && slot.backoff.failures === 0 && !slot.confirmed) {
      // Our StartTransaction answer and this profile can reach a charger in one read, before it
      // has noted the transaction. The default it holds still applies: retry next cycle, no backoff.
      tx.tried = true;
      slot.refusedNow();
      target.log.debug({ connectorId: p.connectorId, transactionId: p.transactionId }, 'first TxProfile of a new transaction refused; retrying next cycle');
      this.emit(p, 'accepted', target.holdings.inForceA(p.connectorId, p.transactionId, nowMs), 'TxProfile not taken yet; the connector default holds');
      return false;
    }
    if (tx) tx.tried = true;
    if (outcome === 'refused') slot.refusedNow();
    else slot.unanswered();
    if (tx && outcome === 'refused' && slot.backoff.failures === 0 && !this.refusalWarned.has(key)) {
      // A charger whose car just left refuses the TxProfile of the transaction it ended, and may do
      // so before its StopTransaction reaches us (it queues it behind other calls). Once is no
      // fault: the retry after the backoff tells (warned if refused again, none once it ended).
      target.log.info({ connectorId: p.connectorId, transactionId: p.transactionId, answer: detail, limitA: p.limitA }, 'charger refused a TxProfile of a running transaction; retrying with backoff (a warning if it refuses again)');
    } else if (outcome === 'unanswered' && target.disconnected) {
      // The charger went away with the profile on the wire (a site shutting down, a dropped link):
      // its disconnect is logged where it goes, and a new connection sets it up from its boot.
      target.log.info({ connectorId: p.connectorId, what, answer: detail, limitA: p.limitA }, 'charger disconnected before it answered a charging profile');
    } else if (!this.refusalWarned.has(key)) {
      this.refusalWarned.add(key);
      target.log.warn(
        { connectorId: p.connectorId, what, answer: detail, limitA: p.limitA },
        outcome === 'refused'
          ? 'charger refused a charging profile; the connector counts at what it may still hold, retrying with backoff'
          : 'charger did not answer a charging profile; the connector counts at the higher of old and new, retrying with backoff',
      );
    }
    slot.backoff.fail(nowMs);
    const level = txStackLevel(target.capabilities);
    if (tx && outcome === 'refused' && level > 0 && level === target.capabilities.maxStackLevel) target.stepDownStackLevel();
    if (sessionDefault) this.emitSessionSummary(p);
    else if (outcome === 'unanswered') this.emit(p, 'pending', p.limitA, detail, holdBeforeA);
    else this.emit(p, 'accepted', target.holdings.inForceA(p.connectorId, p.transactionId, nowMs), `${what} refused (${detail}); the connector holds what it held`);
    return false;
  }
}
