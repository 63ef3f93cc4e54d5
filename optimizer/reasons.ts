// Guarantee 7: every cap says, in words a site manager understands, what bound it.
import type { CapReason, DecideParams } from './types.ts';
import { PHASES } from './types.ts';
import type { Capacity } from './site-headroom.ts';
import type { SiteIndex } from './site-index.ts';
import type { Slot } from './slot.ts';
import { BINDER_POWER } from './slot.ts';
import { formatA, formatKw, formatSeconds, nonNegative } from './numbers.ts';

export interface ReasonContext {
  index: SiteIndex;
  capacity: Capacity;
  params: DecideParams;
  atMs: number;
  /** Set when the failsafe applied: why the site data is not trusted. */
  failsafeWhy?: string;
  /** Sessions that could charge (not paused), by node, and each slot's position among them. */
  sharing: Sharing;
  /** Number of sessions in the priority order. */
  sessionCount: number;
  /** constraintText() by binder, filled as reasons are written (the same few limits bind most caps). */
  constraintTexts?: Map<number, string>;
  /**
   * The parts of sharedText() that depend only on the binder (and the minimum), filled the same way
   * and kept from cycle to cycle with the reasons made from them (see ReasonMemo).
   */
  memo?: ReasonMemo;
}

/** "<limit> shared by <n> cars; priority " and " of <n>", by binder; `minimum` prefixes by minimum. */
interface SharedText {
  /** What it was made from: constraintText() and the number of cars sharing. */
  constraint: string;
  of: number;
  /** ReasonMemo.cycle when last checked against them. */
  cycle: number;
  head: string;
  tail: string;
  minimum: Map<number, string> | undefined;
  /** An idle connector's reason when this limit is full. */
  full: string | undefined;
}

export interface Sharing {
  /** Per node: sessions that could charge under it. */
  perNode: Int32Array;
  /** Sessions that could charge at all (the grid power limit's share). */
  total: number;
  /** Per slot index: position among the sessions sharing its binding constraint (1-based). */
  position: Int32Array;
}

/** Counts who shares each node, walking sessions in priority order. */
export function sharing(order: readonly Slot[], slotCount: number, index: SiteIndex): Sharing {
  const perNode = new Int32Array(index.nodeIds.length);
  const position = new Int32Array(slotCount);
  let total = 0;
  for (const slot of order) {
    if (slot.upperDa <= 0 && !slot.refused) continue;
    total++;
    const binderNode = slot.binder >= 0 ? Math.floor(slot.binder / 3) : -1;
    const path = index.paths[slot.node];
    for (let k = 0; k < path.length; k++) {
      const n = path[k];
      perNode[n]++;
      if (n === binderNode) position[slot.index] = perNode[n];
    }
    if (slot.binder === BINDER_POWER) position[slot.index] = total;
  }
  return { perNode, total, position };
}

const isConstraint = (binder: number): boolean => binder >= 0 || binder === BINDER_POWER;

/** The root circuit with the same limit as the connection point is named as the site. */
function displayNode(binder: number, index: SiteIndex): number {
  const node = Math.floor(binder / 3);
  return node === 1 && index.nodeLimitA[1] === index.nodeLimitA[0] ? 0 : node;
}

const cars = (n: number): string => (n === 1 ? '1 car' : `${n} cars`);

/** "circuit row-a L2 limit 63 A", "site limit 250 A on L1", "grid import cap 150 kW". */
function constraintText(binder: number, ctx: ReasonContext): string {
  const cache = ctx.constraintTexts;
  if (!cache) return constraintTextOf(binder, ctx);
  let text = cache.get(binder);
  if (text === undefined) {
    text = constraintTextOf(binder, ctx);
    cache.set(binder, text);
  }
  return text;
}

function constraintTextOf(binder: number, ctx: ReasonContext): string {
  if (binder === BINDER_POWER) {
    const limitW = (ctx.capacity.powerLimitW ?? 0) / (1 - Math.min(0.5, nonNegative(ctx.params.grid.safetyMargin)));
    return ctx.capacity.powerSource === 'signal' ? `grid signal import limit ${formatKw(limitW)}` : `grid import cap ${formatKw(limitW)}`;
  }
  const node = displayNode(binder, ctx.index);
  const phase = PHASES[binder % 3];
  const limit = formatA(ctx.index.nodeLimitA[node]);
  return node === 0 ? `site limit ${limit} on ${phase}` : `circuit ${ctx.index.nodeIds[node]} ${phase} limit ${limit}`;
}

function sharedTextOf(binder: number, ctx: ReasonContext): SharedText {
  const memo = ctx.memo;
  const cache = memo?.shared;
  const cycle = memo ? memo.cycle : 0;
  let text = cache?.get(binder);
  if (text === undefined || text.cycle !== cycle) {
    const of = binder === BINDER_POWER ? ctx.sharing.total : ctx.sharing.perNode[Math.floor(binder / 3)];
    const constraint = constraintText(binder, ctx);
    // Last cycle's, when made from the same: its strings (and the reasons made from them) stand.
    if (text !== undefined && text.of === of && text.constraint === constraint) text.cycle = cycle;
    else {
      text = { constraint, of, cycle, head: `${constraint} shared by ${cars(of)}; priority `, tail: ` of ${of}`, minimum: undefined, full: undefined };
      cache?.set(binder, text);
    }
  }
  return text;
}

/** Which reason a ReasonMemo entry is (what its key means). */
const SHARED = 1;
const NO_ROOM = 2;
const IDLE_FULL = 3;

/**
 * Reasons carried from one cycle to the next (decide()'s scratch; nothing returned refers to it):
 * most caps keep their reason cycle after cycle, and a reason made from the same shared text (the
 * same object: the same binder, limit and count), position, minimum, rank and session count is
 * the same reason, so last cycle's object is handed out again instead of joining its text afresh.
 * Keyed by slot index, though the key alone decides the reason (no connector is named in these).
 */
export class ReasonMemo {
  readonly shared = new Map<number, SharedText>();
  cycle = 0;
  private kinds = new Uint8Array(0);
  private texts: (SharedText | undefined)[] = [];
  /** Per slot: position, minimum (dA), rank, session count. */
  private keys = new Float64Array(0);
  private reasons: (CapReason | undefined)[] = [];

  /** Starts a cycle of `slotCount` slots: shared texts are checked again before they are used. */
  next(slotCount: number): void {
    this.cycle++;
    if (this.kinds.length !== slotCount) {
      this.kinds = new Uint8Array(slotCount);
      this.texts = new Array(slotCount);
      this.keys = new Float64Array(4 * slotCount);
      this.reasons = new Array(slotCount);
    }
  }

  get(i: number, kind: number, text: SharedText, position: number, minDa: number, rank: number, of: number): CapReason | undefined {
    const k = 4 * i;
    const keys = this.keys;
    if (this.kinds[i] === kind && this.texts[i] === text && keys[k] === position && keys[k + 1] === minDa && keys[k + 2] === rank && keys[k + 3] === of) return this.reasons[i];
    return undefined;
  }

  set(i: number, kind: number, text: SharedText, position: number, minDa: number, rank: number, of: number, reason: CapReason): CapReason {
    const k = 4 * i;
    this.kinds[i] = kind;
    this.texts[i] = text;
    this.keys[k] = position;
    this.keys[k + 1] = minDa;
    this.keys[k + 2] = rank;
    this.keys[k + 3] = of;
    this.reasons[i] = reason;
    return reason;
  }
}

/** constraintReason() with sharedText(), or last cycle's same reason. */
function sharedReason(slot: Slot, ctx: ReasonContext): CapReason {
  const text = sharedTextOf(slot.binder, ctx);
  const position = ctx.sharing.position[slot.index];
  const memo = ctx.memo;
  const kept = memo?.get(slot.index, SHARED, text, position, 0, 0, 0);
  if (kept !== undefined) return kept;
  const reason = constraintReason(slot, ctx, `${text.head}${position}${text.tail}`);
  return memo ? memo.set(slot.index, SHARED, text, position, 0, 0, 0, reason) : reason;
}

/** A session refused its minimum by a limit: noRoomText(), or last cycle's same reason. */
function noRoomReason(slot: Slot, ctx: ReasonContext): CapReason {
  const text = sharedTextOf(slot.binder, ctx);
  const position = ctx.sharing.position[slot.index];
  const memo = ctx.memo;
  const kept = memo?.get(slot.index, NO_ROOM, text, position, slot.minDa, slot.rank, ctx.sessionCount);
  if (kept !== undefined) return kept;
  const reason: CapReason = { kind: 'scarcity', text: noRoomText(slot, ctx), rank: slot.rank, of: ctx.sessionCount };
  return memo ? memo.set(slot.index, NO_ROOM, text, position, slot.minDa, slot.rank, ctx.sessionCount, reason) : reason;
}

/** "circuit row-a L2 limit 63 A shared by 4 cars; priority 2 of 4". */
function sharedText(slot: Slot, ctx: ReasonContext): string {
  const text = sharedTextOf(slot.binder, ctx);
  return `${text.head}${ctx.sharing.position[slot.index]}${text.tail}`;
}

/** "no room for the 6 A minimum: " + sharedText(). */
function noRoomText(slot: Slot, ctx: ReasonContext): string {
  const text = sharedTextOf(slot.binder, ctx);
  text.minimum ??= new Map();
  let head = text.minimum.get(slot.minDa);
  if (head === undefined) {
    head = `no room for the ${formatA(slot.minDa / 10)} minimum: ${text.head}`;
    text.minimum.set(slot.minDa, head);
  }
  return `${head}${ctx.sharing.position[slot.index]}${text.tail}`;
}

function constraintReason(slot: Slot, ctx: ReasonContext, text: string): CapReason {
  const binder = slot.binder;
  if (binder === BINDER_POWER) return { kind: ctx.capacity.powerSource === 'signal' ? 'signal' : 'grid-power', text };
  const node = displayNode(binder, ctx.index);
  return { kind: 'circuit', text, circuitId: ctx.index.nodeIds[node], phase: PHASES[binder % 3] };
}

function upperReason(slot: Slot, ctx: ReasonContext): CapReason {
  const session = slot.session;
  switch (slot.upperKind) {
    case 'car':
      return { kind: 'car', text: `car max ${formatA(nonNegative(session?.carMaxCurrentA))}` };
    case 'plan':
      return { kind: 'plan', text: `planner target ${formatKw(nonNegative(session?.targetPowerW))}` };
    case 'unused': {
      const sinceMs = slot.underDrawSinceMs ?? ctx.atMs;
      return {
        kind: 'car',
        text: `car draws only ${formatA(slot.drawA ?? 0)} for ${formatSeconds(ctx.atMs - sinceMs)}: capped at draw + ${formatA(nonNegative(ctx.params.rampReserveA))} to ramp, the rest lent to others`,
      };
    }
    case 'reserved':
      return { kind: 'reserved', text: `${formatA(slot.reservedDa / 10)} reserved until the charger confirms its cap and the car follows it; not raised meanwhile` };
    case 'probe':
      return { kind: 'car', text: `car looked full; offered its ${formatA(slot.minDa / 10)} minimum to see whether it charges again` };
    case 'charger':
    default:
      return { kind: 'charger', text: `charger max ${formatA(slot.maxDa / 10)}` };
  }
}

function zeroUpperReason(slot: Slot, ctx: ReasonContext): CapReason {
  switch (slot.upperKind) {
    case 'paused':
      return { kind: 'paused', text: 'paused by operator' };
    case 'unknown-charger':
      return { kind: 'charger', text: `charger ${slot.connector.chargerId} is not in the configuration` };
    case 'min-pause': {
      const sinceMs = slot.memory?.pausedSinceMs ?? ctx.atMs;
      const leftMs = Math.max(0, sinceMs + nonNegative(ctx.params.minPauseMs) - ctx.atMs);
      return { kind: 'hysteresis', text: `paused for lack of capacity; may restart in ${formatSeconds(leftMs)} (minimum pause)` };
    }
    case 'released':
      return { kind: 'car', text: 'car is full or not drawing: its share goes to others; offered its minimum again from time to time' };
    case 'plan-below-min':
      return { kind: 'plan', text: `planner target ${formatKw(nonNegative(slot.session?.targetPowerW))} is below the ${formatA(slot.minDa / 10)} minimum` };
    case 'reserved':
      return { kind: 'reserved', text: `${formatA(slot.reservedDa / 10)} reserved until the charger confirms its cap of 0 A and the car stops` };
    default:
      return upperReason(slot, ctx);
  }
}

function handoverMs(ctx: ReasonContext): number {
  return nonNegative(ctx.params.carResponseMs ?? 5000);
}

function sessionReason(slot: Slot, ctx: ReasonContext): CapReason {
  if (slot.upperDa <= 0) return zeroUpperReason(slot, ctx);
  if (slot.capDa <= 0 && slot.restartIfFree) {
    const sinceMs = slot.memory?.pausedSinceMs ?? ctx.atMs;
    const leftMs = Math.max(0, sinceMs + nonNegative(ctx.params.minPauseMs) - ctx.atMs);
    return { kind: 'hysteresis', text: `paused for lack of capacity; restarts as soon as its ${formatA(slot.minDa / 10)} minimum fits beside the running cars, else in ${formatSeconds(leftMs)} (minimum pause)` };
  }
  if (slot.capDa <= 0) {
    if (slot.refused && isConstraint(slot.binder)) return noRoomReason(slot, ctx);
    return { kind: 'scarcity', text: `waiting for capacity; priority ${slot.rank} of ${ctx.sessionCount}`, rank: slot.rank, of: ctx.sessionCount };
  }
  if (slot.heldForHandover) {
    return { kind: 'reserved', text: `kept at ${formatA(slot.capDa / 10)} until cars whose caps went down have slowed down (up to ${formatSeconds(handoverMs(ctx))})` };
  }
  if (slot.heldByDeadband) {
    return {
      kind: 'hysteresis',
      text: `kept at ${formatA(slot.capDa / 10)}: the increase is below the ${formatA(nonNegative(ctx.params.deadbandA))} deadband`,
    };
  }
  if (slot.heldSinceChangeMs !== undefined) {
    const holdMs = nonNegative(ctx.params.capHoldMs ?? 0);
    return { kind: 'hysteresis', text: `kept at ${formatA(slot.capDa / 10)}: its cap changed ${formatSeconds(slot.heldSinceChangeMs)} ago; raised once ${formatSeconds(holdMs)} have passed` };
  }
  if (slot.heldForPeak) {
    return { kind: 'hysteresis', text: `raised only to ${formatA(slot.capDa / 10)}: what still fits if the other load comes back to its level of the last ${formatSeconds(nonNegative(ctx.params.capHoldMs ?? 0))}` };
  }
  if (slot.keptNotNeeded) {
    return { kind: 'hysteresis', text: `kept at ${formatA(slot.capDa / 10)}: no limit and no other car needs it lower now` };
  }
  if (isConstraint(slot.binder)) return sharedReason(slot, ctx);
  return upperReason(slot, ctx);
}

/**
 * "L1, L2 and L3" when more than one line of the binding circuit has no room for this connector's
 * minimum (three-phase cars fill every line of a circuit alike: naming only the first, L1, read as
 * if the others had room); undefined when only the binding line is full.
 */
function fullLinesOf(slot: Slot, ctx: ReasonContext): string | undefined {
  if (slot.binder < 0) return undefined;
  const node = Math.floor(slot.binder / 3);
  const residual = ctx.capacity.pool.residual;
  const ownDa = Math.max(slot.capDa, slot.reservedDa);
  const full: string[] = [];
  for (let p = 0; p < 3; p++) if (slot.mask & (1 << p) && residual[node * 3 + p] + ownDa < slot.minDa) full.push(PHASES[p]);
  if (full.length < 2 || !full.includes(PHASES[slot.binder % 3])) return undefined;
  return `${full.slice(0, -1).join(', ')} and ${full.at(-1)}`;
}

/** "circuit row-a limit 40 A", "site limit 80 A": a node's limit, every line alike. */
function nodeLimitText(binder: number, ctx: ReasonContext): string {
  const node = displayNode(binder, ctx.index);
  const limit = formatA(ctx.index.nodeLimitA[node]);
  return node === 0 ? `site limit ${limit}` : `circuit ${ctx.index.nodeIds[node]} limit ${limit}`;
}

function idleReason(slot: Slot, ctx: ReasonContext): CapReason {
  if (!slot.charger) return zeroUpperReason(slot, ctx);
  if (slot.heldForHandover) return { kind: 'idle', text: `default for a car plugging in: kept at ${formatA(slot.capDa / 10)} until cars whose caps went down have slowed down` };
  if (slot.capDa <= 0) {
    if (!isConstraint(slot.binder)) return { kind: 'idle', text: 'no room for a car plugging in: no capacity left' };
    const lines = fullLinesOf(slot, ctx);
    if (lines !== undefined) return { kind: 'idle', text: `no room for a car plugging in: ${nodeLimitText(slot.binder, ctx)} is full on ${lines}` };
    const text = sharedTextOf(slot.binder, ctx);
    const memo = ctx.memo;
    const kept = memo?.get(slot.index, IDLE_FULL, text, 0, 0, 0, 0);
    if (kept !== undefined) return kept;
    text.full ??= `no room for a car plugging in: ${constraintText(slot.binder, ctx)} is full`;
    const reason: CapReason = { kind: 'idle', text: text.full };
    return memo ? memo.set(slot.index, IDLE_FULL, text, 0, 0, 0, 0, reason) : reason;
  }
  if (slot.heldByDeadband) return { kind: 'idle', text: `default for a car plugging in: kept at ${formatA(slot.capDa / 10)} (deadband)` };
  const bound = isConstraint(slot.binder) ? `left over under ${constraintText(slot.binder, ctx)}` : `charger max ${formatA(slot.maxDa / 10)}`;
  return { kind: 'idle', text: `default for a car plugging in: ${formatA(slot.capDa / 10)}, ${bound}` };
}

function failsafeReason(slot: Slot, ctx: ReasonContext): CapReason {
  const why = `failsafe: ${ctx.failsafeWhy}`;
  if (!slot.session) return { kind: 'failsafe', text: `${why}; idle connectors held at 0 A` };
  if (slot.upperKind === 'paused' || slot.upperKind === 'min-pause' || slot.upperKind === 'unknown-charger' || slot.upperKind === 'released') return zeroUpperReason(slot, ctx);
  if (slot.capDa > 0) return { kind: 'failsafe', text: `${why}; ${formatA(slot.capDa / 10)} per car` };
  if (slot.refused && isConstraint(slot.binder)) return { kind: 'failsafe', text: `${why}; no static room left: ${sharedText(slot, ctx)}` };
  return { kind: 'failsafe', text: `${why}; the failsafe current is below this charger's ${formatA(slot.minDa / 10)} minimum` };
}

export function reasonFor(slot: Slot, ctx: ReasonContext): CapReason {
  if (ctx.failsafeWhy !== undefined) return failsafeReason(slot, ctx);
  return slot.session ? sessionReason(slot, ctx) : idleReason(slot, ctx);
}
