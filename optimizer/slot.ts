// One connector as the allocator sees it this cycle: its constraints, its bounds in deci-amps,
// and the working cap. Set afresh every cycle from the snapshot, the params and the memory; the
// objects themselves are reused from the last cycle (SlotPool), as nothing decide() returns refers
// to a slot.
import type { ChargerParams, ConnectorMemory, ConnectorSnapshot, DecideParams, DecideState, PhaseValues, SessionSnapshot, SiteSnapshot } from './types.ts';
import { ceilDa, finiteOr, floorDa, nonNegative } from './numbers.ts';
import { phaseUse, onePhaseUse, threePhaseUse, ALL_PHASES_MASK } from './phase-map.ts';
import type { PhaseUse } from './phase-map.ts';
import type { ConnectorView, SiteView } from './site-view.ts';
import type { SiteIndex } from './site-index.ts';
import { underDraw, type UnderDraw } from './unused-capacity.ts';
import { mayRestartEarly } from './pause-recheck.ts';
import { PreviousMemories } from './memories-by-index.ts';

/** What set a slot's upper bound (before any limit of the tree). */
export type UpperKind =
  | 'charger'
  | 'car'
  | 'plan'
  | 'plan-below-min'
  | 'unused'
  | 'reserved'
  | 'paused'
  | 'min-pause'
  | 'released'
  | 'probe'
  | 'unknown-charger';

/** Binder values besides a constraint index (3 × node + phase). */
export const BINDER_NONE = -1;
export const BINDER_UPPER = -2;
export const BINDER_POWER = -3;

export interface Slot {
  /** Position in snapshot.connectors. */
  readonly index: number;
  readonly key: string;
  readonly connector: ConnectorSnapshot;
  readonly session: SessionSnapshot | null;
  readonly charger: ChargerParams | undefined;
  readonly node: number;
  /** Constraint indices this connector loads. */
  readonly cons: Int32Array;
  readonly phases: 1 | 3;
  readonly mask: number;
  readonly minDa: number;
  readonly maxDa: number;
  upperDa: number;
  upperKind: UpperKind;
  readonly reservedDa: number;
  /** What the car may still draw while a decrease reaches it, or its draw above its cap, deci-amps (see handover.ts). */
  readonly holdDa: number;
  capDa: number;
  /** What stopped this slot from getting more (or its minimum). */
  binder: number;
  /** True when the minimum was tried and did not fit. */
  refused: boolean;
  /** 1-based position in the priority order; 0 for idle connectors. */
  rank: number;
  /** Memory of this connector for the same session, if any. */
  readonly memory: ConnectorMemory | undefined;
  /** Fresh measured draw, highest charger phase, A; undefined when not fresh. */
  readonly drawA: number | undefined;
  readonly underDrawSinceMs: number | undefined;
  /** True when the unused part of the share is lent out this cycle. */
  readonly lending: boolean;
  /** Set when hysteresis kept the previous cap instead of a small increase. */
  heldByDeadband: boolean;
  /** Set (to the allocation's cap, dA) when a small increase is held only until the keeps are done (makeSharedSmallRaises). */
  sharedRaiseDa?: number;
  /** Set when an increase waits until cars whose caps went down have slowed down. */
  heldForHandover: boolean;
  /** Set (to the time since the last change, ms) when an increase waits for capHoldMs since the last change. */
  heldSinceChangeMs?: number;
  /** Set when the previous cap was kept because no limit needed it lower. */
  keptNotNeeded?: boolean;
  /** Set when an increase was trimmed to what fits with the non-EV load at its recent peak. */
  heldForPeak?: boolean;
  /** In its minimum pause, but may restart now if its minimum fits beside every running car's (pause-recheck.ts). */
  restartIfFree?: boolean;
}

function memoryFor(memory: ConnectorMemory | undefined, session: SessionSnapshot | null): ConnectorMemory | undefined {
  if (!memory || !Number.isFinite(memory.currentA)) return undefined;
  return memory.sessionId === (session?.id ?? undefined) ? memory : undefined;
}

interface Bound {
  upperDa: number;
  upperKind: UpperKind;
}

function tighten(bound: Bound, da: number, kind: UpperKind): void {
  if (da < bound.upperDa) {
    bound.upperDa = da;
    bound.upperKind = kind;
  }
}

interface SessionFacts {
  minDa: number;
  /** Power per amp in units of voltageV: phases, or √3 line-to-line. */
  powerWeight: number;
  /** The snapshot's reservation (a profile not yet confirmed, a charger that ignores caps), deci-amps. */
  pendingDa: number;
  voltageV: number;
  atMs: number;
  drawA: number | undefined;
  lend: boolean;
  /** It has drawn clearly less than its cap for half the lending hold, not yet the whole. */
  underDrawing: boolean;
  /** The car is treated as full; `probing` while it is offered its minimum to see if it wants more. */
  released: boolean;
  probing: boolean;
  /** The site data is not trusted this cycle (no early restart from a pause then). */
  failsafe: boolean;
}

/** A session's upper bound: charger, car, planner target, lending, reservation, pauses. Returns true when it may restart early from its minimum pause. */
function sessionBound(bound: Bound, session: SessionSnapshot, memory: ConnectorMemory | undefined, facts: SessionFacts, params: DecideParams): boolean {
  const { minDa } = facts;
  if (session.carMaxCurrentA !== undefined) {
    const carDa = floorDa(nonNegative(session.carMaxCurrentA));
    tighten(bound, Math.max(carDa, minDa), 'car'); // a car below the minimum simply draws less
  }
  if (session.targetPowerW !== undefined) {
    const targetDa = facts.voltageV > 0 ? floorDa(nonNegative(session.targetPowerW) / (facts.voltageV * facts.powerWeight)) : 0;
    if (targetDa < minDa) tighten(bound, 0, 'plan-below-min');
    else tighten(bound, targetDa, 'plan');
  }
  if (facts.lend && facts.drawA !== undefined) {
    tighten(bound, Math.max(minDa, ceilDa(facts.drawA + nonNegative(params.rampReserveA))), 'unused');
  } else if (facts.underDrawing && memory && memory.currentA > 0) {
    // It has not used the cap it has for half the lending hold (longer than a ramp): no raise now,
    // its unused part is lent out soon and a raise would only be taken back then.
    tighten(bound, Math.max(minDa, Math.round(memory.currentA * 10)), 'unused');
  }
  if (facts.pendingDa > 0 && memory) {
    // Not raised while reserved: the reservation is there because a lower cap is pending or the
    // charger does not follow caps; undoing the pending decrease would flap forever.
    tighten(bound, Math.round(memory.currentA * 10), 'reserved');
  }
  const pausedSinceMs = memory?.pausedSinceMs;
  let restartIfFree = false;
  if (memory && memory.currentA === 0 && pausedSinceMs !== undefined && facts.atMs - pausedSinceMs < nonNegative(params.minPauseMs)) {
    if (!facts.failsafe && mayRestartEarly(memory, facts.atMs, params)) restartIfFree = true;
    else tighten(bound, 0, 'min-pause');
  }
  if (facts.released) {
    if (facts.probing) tighten(bound, minDa, 'probe');
    else {
      bound.upperDa = 0;
      bound.upperKind = 'released';
    }
  }
  if (session.paused) {
    bound.upperDa = 0;
    bound.upperKind = 'paused';
  }
  if (bound.upperDa < minDa) bound.upperDa = 0;
  return restartIfFree && bound.upperDa > 0;
}

const NO_DRAW: PhaseValues = [0, 0, 0];
const NOT_UNDER: UnderDraw = { sinceMs: undefined, lend: false };

/**
 * The phases a connector loads: its latest per-phase sample says (even an old one: a car does not
 * change its phase count), else what was learned earlier this session, else the car's and
 * charger's declared phases.
 */
function usedPhases(charger: ChargerParams, session: SessionSnapshot | null, drawA: PhaseValues, view: ConnectorView): Readonly<PhaseUse> {
  const use = phaseUse(charger, session, drawA);
  if (!session || charger.phases === 1 || !view.learnedMask || use.phases === 1) return use;
  // Measured earlier this session: keep it while the car's samples are stale or it draws nothing now.
  const single = view.learnedMask !== ALL_PHASES_MASK;
  return single ? onePhaseUse(view.learnedMask) : threePhaseUse();
}

/**
 * Every field of a slot, set by setSlot(): a field added to Slot must be added there too (this list
 * does not compile without it), else a reused slot would carry last cycle's value.
 */
const SLOT_FIELDS: Record<keyof Slot, true> = {
  index: true, key: true, connector: true, session: true, charger: true, node: true, cons: true, phases: true, mask: true,
  minDa: true, maxDa: true, upperDa: true, upperKind: true, reservedDa: true, holdDa: true, capDa: true, binder: true,
  refused: true, rank: true, memory: true, drawA: true, underDrawSinceMs: true, lending: true, heldByDeadband: true,
  sharedRaiseDa: true, heldForHandover: true, heldSinceChangeMs: true, keptNotNeeded: true, heldForPeak: true, restartIfFree: true,
};
void SLOT_FIELDS;

/** A slot whose fields are all set in one order (one hidden class), so it can be reused. */
class SlotRecord implements Slot {
  index = 0;
  key = '';
  connector!: ConnectorSnapshot;
  session: SessionSnapshot | null = null;
  charger: ChargerParams | undefined = undefined;
  node = 1;
  cons!: Int32Array;
  phases: 1 | 3 = 3;
  mask = ALL_PHASES_MASK;
  minDa = 0;
  maxDa = 0;
  upperDa = 0;
  upperKind: UpperKind = 'charger';
  reservedDa = 0;
  holdDa = 0;
  capDa = 0;
  binder = BINDER_NONE;
  refused = false;
  rank = 0;
  memory: ConnectorMemory | undefined = undefined;
  drawA: number | undefined = undefined;
  underDrawSinceMs: number | undefined = undefined;
  lending = false;
  heldByDeadband = false;
  sharedRaiseDa: number | undefined = undefined;
  heldForHandover = false;
  heldSinceChangeMs: number | undefined = undefined;
  keptNotNeeded: boolean | undefined = undefined;
  heldForPeak: boolean | undefined = undefined;
  restartIfFree: boolean | undefined = undefined;
}

/** Resets every field but the ones the caller sets next (bounds, phases, draw). */
function setSlot(slot: SlotRecord, i: number, key: string, connector: ConnectorSnapshot, session: SessionSnapshot | null, memory: ConnectorMemory | undefined, reservedDa: number, holdDa: number): void {
  slot.index = i;
  slot.key = key;
  slot.connector = connector;
  slot.session = session;
  slot.memory = memory;
  slot.reservedDa = reservedDa;
  slot.holdDa = holdDa;
  slot.capDa = 0;
  slot.binder = BINDER_NONE;
  slot.refused = false;
  slot.rank = 0;
  slot.heldByDeadband = false;
  slot.sharedRaiseDa = undefined;
  slot.heldForHandover = false;
  slot.heldSinceChangeMs = undefined;
  slot.keptNotNeeded = undefined;
  slot.heldForPeak = undefined;
  slot.restartIfFree = undefined;
}

/**
 * Last cycle's slots, handed to the next cycle with the memory (memories-by-index.ts): set afresh
 * there, not allocated again (a slot is ~40 fields; at 1,000 connectors the fresh objects were the
 * largest part of decide()'s garbage). Nothing a decision returns refers to a slot, and decide()
 * runs to its end before the next call, so one pool serves every cycle that follows from it.
 */
export class SlotPool {
  readonly slots: SlotRecord[] = [];
  /** The site index the slots' charger, node and constraint lists were taken from. */
  index: SiteIndex | undefined = undefined;
}

/**
 * `previous`: last cycle's memory, or its per-connector memories as decide() reads them. `pool`:
 * last cycle's slots to reuse (decide()'s own); without it every slot is new.
 */
export function buildSlots(snapshot: SiteSnapshot, params: DecideParams, previous: DecideState | PreviousMemories<ConnectorMemory>, index: SiteIndex, view: SiteView, pool?: SlotPool): Slot[] {
  const memories = previous instanceof PreviousMemories ? previous : new PreviousMemories<ConnectorMemory>(previous);
  const atMs = snapshot.atMs;
  const voltageV = finiteOr(params.voltageV, 0);
  const connectors = snapshot.connectors;
  const n = connectors.length;
  const records = pool ? pool.slots : [];
  // Charger, node and constraint lists carry over from last cycle's slot at the same index when the
  // index and the charger id are the same (the lookups cost more than the rest of a slot).
  const sameIndex = pool !== undefined && pool.index === index;
  const reusable = sameIndex ? Math.min(records.length, n) : 0;
  const slots: Slot[] = new Array(n);
  const facts: SessionFacts = { minDa: 0, powerWeight: 0, pendingDa: 0, voltageV, atMs, drawA: undefined, lend: false, underDrawing: false, released: false, probing: false, failsafe: view.mode === 'failsafe' };
  for (let i = 0; i < n; i++) {
    const connector = connectors[i];
    const key = view.keys[i];
    let slot = records[i];
    const known = i < reusable && slot.charger !== undefined && slot.connector.chargerId === connector.chargerId;
    const indexed = known ? undefined : index.chargers.get(connector.chargerId);
    const charger = known ? slot.charger : indexed?.params;
    const node = known ? slot.node : (indexed?.node ?? 1);
    const previousCons = known ? slot.cons : undefined;
    const previousMask = known ? slot.mask : -1;
    if (slot === undefined) {
      slot = new SlotRecord();
      records[i] = slot;
    }
    const session = connector.session ?? null;
    const memory = memoryFor(memories.at(i, key), session);
    const estimate = view.connectors[i];
    setSlot(slot, i, key, connector, session, memory, ceilDa(nonNegative(connector.reservedA)), ceilDa(estimate.holdA));
    slots[i] = slot;

    if (!charger) {
      // Not in the configuration: never given current, its reservation still counts at the root.
      slot.charger = undefined;
      slot.node = 1;
      slot.cons = index.constraintsOf(1, ALL_PHASES_MASK);
      slot.phases = 3;
      slot.mask = ALL_PHASES_MASK;
      slot.minDa = 0;
      slot.maxDa = 0;
      slot.upperDa = 0;
      slot.upperKind = 'unknown-charger';
      slot.drawA = undefined;
      slot.underDrawSinceMs = undefined;
      slot.lending = false;
      continue;
    }

    const use = usedPhases(charger, session, connector.drawA ?? NO_DRAW, estimate);
    const fresh = estimate.freshDrawA;
    const minDa = Math.max(1, ceilDa(nonNegative(charger.minCurrentA)));
    const maxDa = floorDa(nonNegative(charger.maxCurrentA));
    const drawA = fresh ? Math.max(fresh[0], fresh[1], fresh[2]) : undefined;
    const under = session ? underDraw(memory, drawA, atMs, params, fresh ? estimate.freshAtMs : undefined, session.targetPowerW !== undefined) : NOT_UNDER;

    slot.charger = charger;
    slot.node = node;
    slot.cons = previousCons !== undefined && previousMask === use.mask ? previousCons : index.constraintsOf(node, use.mask);
    slot.phases = use.phases;
    slot.mask = use.mask;
    slot.minDa = minDa;
    slot.maxDa = maxDa;
    slot.upperDa = maxDa;
    slot.upperKind = 'charger';
    slot.drawA = drawA;
    slot.underDrawSinceMs = under.sinceMs;
    slot.lending = under.lend || !!under.keep;
    if (session) {
      facts.minDa = minDa;
      facts.powerWeight = use.powerWeight;
      facts.pendingDa = slot.reservedDa;
      facts.drawA = drawA;
      facts.lend = under.lend;
      facts.underDrawing = !!under.keep || (!under.lend && under.sinceMs !== undefined && atMs - under.sinceMs >= nonNegative(params.unusedHoldMs) / 2);
      facts.released = estimate.released;
      facts.probing = estimate.probing;
      slot.restartIfFree = sessionBound(slot, session, memory, facts, params) || undefined;
    }
  }
  if (pool) {
    records.length = n;
    pool.index = index;
  }
  return slots;
}
