// decide(): one control cycle's caps for every connector. Pure: same input, same output; no clock,
// no I/O, never throws. See DESIGN.md "What the optimizer must guarantee".
import type { ConnectorCap, ConnectorMemory, Decision, DecideParams, DecideState, SiteSnapshot } from './types.ts';
import { initialDecideState } from './types.ts';
import { finiteOr } from './numbers.ts';
import { siteIndex } from './site-index.ts';
import { buildSlots, SlotPool } from './slot.ts';
import type { Slot } from './slot.ts';
import { headroomReport, siteCapacity } from './site-headroom.ts';
import { DEFAULTS, recordLimits, siteSummary, siteView, type ViewPool } from './site-view.ts';
import { landingCredit } from './landing.ts';
import { rankSessions } from './rank-sessions.ts';
import { admit, allocateSessions, fillEqually, roundToWholeAmps } from './allocate.ts';
import { holdRecentIncreases, holdSmallIncreases, keepUnneededDecreases, makeSharedSmallRaises, nextMemory } from './hysteresis.ts';
import { allocateFailsafe } from './failsafe.ts';
import { enforceLimits } from './verify.ts';
import { waitForHandover } from './handover.ts';
import { nextPeaks, trimUnsustainedRaises } from './sustained-raise.ts';
import { ReasonMemo, reasonFor, sharing } from './reasons.ts';
import { restartsLast } from './pause-recheck.ts';
import { PreviousMemories, withMemories } from './memories-by-index.ts';
import { sameMemory } from './same-memory.ts';

function byConnector(a: Slot, b: Slot): number {
  const ca = a.connector.chargerId;
  const cb = b.connector.chargerId;
  if (ca !== cb) return ca < cb ? -1 : 1;
  return a.connector.connectorId - b.connector.connectorId;
}

/** `slots` sorted by connector (as sort(byConnector) would; most sites list them in that order already). */
function sortedByConnector(slots: Slot[]): Slot[] {
  for (let i = 1; i < slots.length; i++) if (byConnector(slots[i - 1], slots[i]) > 0) return slots.sort(byConnector);
  return slots;
}

/** `first` reversed, then `second` reversed, in one new array. */
function reversedBoth(first: readonly Slot[], second: readonly Slot[]): Slot[] {
  const out: Slot[] = new Array(first.length + second.length);
  let k = 0;
  for (let i = first.length - 1; i >= 0; i--) out[k++] = first[i];
  for (let i = second.length - 1; i >= 0; i--) out[k++] = second[i];
  return out;
}

/**
 * What a cycle leaves the next one to reuse (withMemories' scratch; no output refers to it but the
 * reasons it hands out again): the slot objects, the priority order by slot index, where the next
 * cycle's sort starts from, and the reasons that come out the same.
 */
class Carried {
  readonly slots = new SlotPool();
  readonly sessionOrder: number[] = [];
  readonly reasons = new ReasonMemo();
  readonly views: ViewPool = [];
}

export function decide(snapshot: SiteSnapshot, params: DecideParams, previous: DecideState = initialDecideState): Decision {
  try {
    return decideOrThrow(snapshot, params, previous ?? initialDecideState);
  } catch (error) {
    return allStopped(snapshot, error);
  }
}

/**
 * Input too broken to reason about (no tree, no charger list...): every connector gets 0, the one
 * configuration that is safe whatever the site looks like, and the reason says why.
 */
function allStopped(snapshot: SiteSnapshot, error: unknown): Decision {
  const why = error instanceof Error ? error.message : String(error);
  const connectors = Array.isArray(snapshot?.connectors) ? snapshot.connectors : [];
  const caps: ConnectorCap[] = connectors.map((c) => ({
    chargerId: c?.chargerId,
    connectorId: c?.connectorId,
    currentA: 0,
    phases: 3,
    reason: { kind: 'failsafe', text: `failsafe: the optimizer could not read its input (${why}); all connectors held at 0 A` },
  }));
  const zero: [number, number, number] = [0, 0, 0];
  return {
    atMs: snapshot?.atMs,
    caps,
    nextState: initialDecideState,
    failsafe: true,
    headroom: { limitA: zero, headroomA: zero, buildingA: zero, binding: { kind: 'none', text: `input unreadable (${why})` } },
  };
}

function decideOrThrow(snapshot: SiteSnapshot, params: DecideParams, previous: DecideState): Decision {
  const atMs = finiteOr(snapshot.atMs, 0);
  const index = siteIndex(params);
  const previousMemories = new PreviousMemories<ConnectorMemory>(previous);
  const last = previousMemories.scratch;
  const carried = last instanceof Carried ? last : new Carried();
  const view = siteView(snapshot, params, index, previous.estimate, (key, i) => previousMemories.at(i, key)?.currentA, carried.views);
  const failsafe = view.mode === 'failsafe';
  const slotPool = carried.slots;
  const slots = buildSlots(snapshot, params, previousMemories, index, view, slotPool);
  const capacity = siteCapacity(view, params, index, slots);
  const pool = capacity.pool;
  const capHoldMs = finiteOr(params.capHoldMs ?? 0, 0);
  const peaks = capHoldMs > 0 && !failsafe ? nextPeaks(previous.peaks, capacity, atMs, capHoldMs) : undefined;

  const credit = failsafe ? undefined : landingCredit(slots, view, atMs, finiteOr(params.carResponseMs ?? DEFAULTS.carResponseMs, 0), pool.residual.length);

  const order = rankSessions(slots, params.priority, atMs, finiteOr(params.voltageV, 0), carried.sessionOrder);
  carried.sessionOrder.length = order.length;
  for (let i = 0; i < order.length; i++) {
    order[i].rank = i + 1;
    carried.sessionOrder[i] = order[i].index;
  }
  const idle: Slot[] = [];
  for (const slot of slots) if (!slot.session && slot.charger) idle.push(slot);
  sortedByConnector(idle);

  if (failsafe) {
    allocateFailsafe(order, pool, params);
  } else {
    // Sessions: minimums in priority order, then the rest; small increases held back.
    allocateSessions(restartsLast(order, params.priority), pool, params.priority, credit);
    roundToWholeAmps(order, pool);
    holdSmallIncreases(order, pool, params.deadbandA, capHoldMs > 0);
    if (capHoldMs > 0) {
      holdRecentIncreases(order, pool, capHoldMs, atMs);
      trimUnsustainedRaises([...order].reverse(), pool, capacity, peaks!, finiteOr(params.voltageV, 0));
      keepUnneededDecreases(order, pool, params.deadbandA);
      makeSharedSmallRaises(order, pool, capHoldMs, atMs);
      trimUnsustainedRaises([...order].reverse(), pool, capacity, peaks!, finiteOr(params.voltageV, 0));
    }
    // Idle connectors last, from what is left: the default a car plugging in may draw.
    admit(idle, pool, (slot) => slot.minDa);
    fillEqually(idle, pool);
    holdSmallIncreases(idle, pool, params.deadbandA);
  }
  const cutOrder = reversedBoth(idle, order);
  enforceLimits(capacity, cutOrder, credit);
  if (!failsafe) waitForHandover(capacity, slots, cutOrder);

  const ctx = {
    index,
    capacity,
    params,
    atMs,
    failsafeWhy: failsafe ? view.failsafeWhy : undefined,
    sharing: sharing(order, slots.length, index),
    sessionCount: order.length,
    constraintTexts: new Map<number, string>(),
    memo: carried.reasons,
  };
  carried.reasons.next(slots.length);
  const caps: ConnectorCap[] = new Array(slots.length);
  const memories: ConnectorMemory[] = new Array(slots.length);
  for (let k = 0; k < slots.length; k++) {
    const slot = slots[k];
    const cap: ConnectorCap = {
      chargerId: slot.connector.chargerId,
      connectorId: slot.connector.connectorId,
      currentA: slot.capDa / 10,
      phases: slot.phases,
      reason: reasonFor(slot, ctx),
    };
    if (slot.rank > 0) cap.rank = slot.rank;
    caps[k] = cap;
    const memory = nextMemory(slot, atMs, failsafe);
    memories[slot.index] = memory !== slot.memory && slot.memory !== undefined && sameMemory(memory, slot.memory) ? slot.memory : memory;
  }
  if (view.duplicateKeys) {
    // A key seen twice: the memory of its last connector, as a record by key would keep.
    const last = new Map<string, ConnectorMemory>();
    for (const slot of slots) last.set(slot.key, memories[slot.index]);
    for (const slot of slots) memories[slot.index] = last.get(slot.key)!;
  }

  const estimate = recordLimits(view, snapshot, index, (i) => slots[i].capDa / 10, params);
  return {
    atMs: snapshot.atMs,
    caps,
    nextState: withMemories({ estimate, ...(peaks ? { peaks } : {}) }, view.keys, memories, view.duplicateKeys, carried),
    failsafe,
    headroom: headroomReport(capacity, slots, index, params),
    findings: view.findings,
    site: siteSummary(view, params),
  };
}
