// One connector as the allocator sees it this cycle: its constraints, its bounds in deci-amps,
// and the working cap. Built fresh every cycle from the snapshot, the params and the memory.
import type { ChargerParams, ConnectorMemory, ConnectorSnapshot, DecideParams, DecideState, PhaseValues, SessionSnapshot, SiteSnapshot } from './types.ts';
import { ceilDa, finiteOr, floorDa, nonNegative } from './numbers.ts';
import { phaseUse, ALL_PHASES_MASK } from './phase-map.ts';
import type { PhaseUse } from './phase-map.ts';
import type { ConnectorView, SiteView } from './site-view.ts';
import type { SiteIndex } from './site-index.ts';
import { underDraw } from './unused-capacity.ts';
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

/**
 * The phases a connector loads: its latest per-phase sample says (even an old one: a car does not
 * change its phase count), else what was learned earlier this session, else the car's and
 * charger's declared phases.
 */
function usedPhases(charger: ChargerParams, session: SessionSnapshot | null, drawA: PhaseValues, view: ConnectorView): PhaseUse {
  const use = phaseUse(charger, session, drawA);
  if (!session || charger.phases === 1 || !view.learnedMask || use.phases === 1) return use;
  // Measured earlier this session: keep it while the car's samples are stale or it draws nothing now.
  const single = view.learnedMask !== ALL_PHASES_MASK;
  return single ? { phases: 1, mask: view.learnedMask, powerWeight: 1 } : { phases: 3, mask: ALL_PHASES_MASK, powerWeight: 3 };
}

/** `previous`: last cycle's memory, or its per-connector memories as decide() reads them. */
export function buildSlots(snapshot: SiteSnapshot, params: DecideParams, previous: DecideState | PreviousMemories<ConnectorMemory>, index: SiteIndex, view: SiteView): Slot[] {
  const memories = previous instanceof PreviousMemories ? previous : new PreviousMemories<ConnectorMemory>(previous);
  const atMs = snapshot.atMs;
  const voltageV = finiteOr(params.voltageV, 0);
  const slots: Slot[] = [];
  const connectors = snapshot.connectors;
  for (let i = 0; i < connectors.length; i++) {
    const connector = connectors[i];
    const key = view.keys[i];
    const indexed = index.chargers.get(connector.chargerId);
    const session = connector.session ?? null;
    const memory = memoryFor(memories.at(i, key), session);
    const estimate = view.connectors[i];
    const reservedDa = ceilDa(nonNegative(connector.reservedA));
    const holdDa = ceilDa(estimate.holdA);

    if (!indexed) {
      // Not in the configuration: never given current, its reservation still counts at the root.
      slots.push({
        index: i, key, connector, session, charger: undefined, node: 1, cons: index.constraintsOf(1, ALL_PHASES_MASK),
        phases: 3, mask: ALL_PHASES_MASK, minDa: 0, maxDa: 0, upperDa: 0, upperKind: 'unknown-charger', reservedDa, holdDa,
        capDa: 0, binder: BINDER_NONE, refused: false, rank: 0, memory, drawA: undefined,
        underDrawSinceMs: undefined, lending: false, heldByDeadband: false, heldForHandover: false,
      });
      continue;
    }

    const charger = indexed.params;
    const use = usedPhases(charger, session, connector.drawA ?? NO_DRAW, estimate);
    const fresh = estimate.freshDrawA;
    const minDa = Math.max(1, ceilDa(nonNegative(charger.minCurrentA)));
    const maxDa = floorDa(nonNegative(charger.maxCurrentA));
    const drawA = fresh ? Math.max(fresh[0], fresh[1], fresh[2]) : undefined;
    const under = session ? underDraw(memory, drawA, atMs, params, fresh ? estimate.freshAtMs : undefined) : { sinceMs: undefined, lend: false };

    const bound: Bound = { upperDa: maxDa, upperKind: 'charger' };
    const restartIfFree = !!session && sessionBound(bound, session, memory, { minDa, powerWeight: use.powerWeight, pendingDa: reservedDa, voltageV, atMs, drawA, lend: under.lend, underDrawing: !under.lend && under.sinceMs !== undefined && atMs - under.sinceMs >= nonNegative(params.unusedHoldMs) / 2, released: estimate.released, probing: estimate.probing, failsafe: view.mode === 'failsafe' }, params);
    const { upperDa, upperKind } = bound;

    slots.push({
      index: i, key, connector, session, charger, node: indexed.node, cons: index.constraintsOf(indexed.node, use.mask),
      phases: use.phases, mask: use.mask, minDa, maxDa, upperDa, upperKind, reservedDa, holdDa, capDa: 0, binder: BINDER_NONE,
      refused: false, rank: 0, memory, drawA,
      underDrawSinceMs: under.sinceMs, lending: under.lend, heldByDeadband: false, heldForHandover: false, restartIfFree,
    });
  }
  return slots;
}
