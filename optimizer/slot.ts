// One connector as the allocator sees it this cycle: its constraints, its bounds in deci-amps,
// and the working cap. Built fresh every cycle from the snapshot, the params and the memory.
import type { ChargerParams, ConnectorMemory, ConnectorSnapshot, DecideParams, DecideState, SessionSnapshot, SiteSnapshot } from './types.ts';
import { ceilDa, finiteOr, floorDa, nonNegative } from './numbers.ts';
import { drawOnSitePhases, phaseUse, ALL_PHASES_MASK } from './phase-map.ts';
import type { SiteIndex } from './site-index.ts';
import { underDraw } from './unused-capacity.ts';

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
  /** Fresh measured draw per site phase, A (zeros when stale or the charger is unknown). */
  readonly siteDrawA: readonly [number, number, number];
  readonly underDrawSinceMs: number | undefined;
  /** True when the unused part of the share is lent out this cycle. */
  readonly lending: boolean;
  /** Set when hysteresis kept the previous cap instead of a small increase. */
  heldByDeadband: boolean;
}

/** A measurement without a time is no measurement (a charger that never sent meter values). */
export function isFresh(atMs: number, sampleAtMs: number | undefined, staleAfterMs: number): boolean {
  if (sampleAtMs === undefined || !Number.isFinite(sampleAtMs)) return false;
  return atMs - sampleAtMs <= staleAfterMs;
}

function memoryFor(state: DecideState, key: string, session: SessionSnapshot | null): ConnectorMemory | undefined {
  const memory = state?.connectors?.[key];
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
  reservedDa: number;
  voltageV: number;
  atMs: number;
  drawA: number | undefined;
  lend: boolean;
}

/** A session's upper bound: charger, car, planner target, lending, reservation, pauses. */
function sessionBound(bound: Bound, session: SessionSnapshot, memory: ConnectorMemory | undefined, facts: SessionFacts, params: DecideParams): void {
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
  }
  if (facts.reservedDa > 0 && memory) {
    // Not raised while reserved: the reservation is there because a lower cap is pending or the
    // charger does not follow caps; undoing the pending decrease would flap forever.
    tighten(bound, Math.round(memory.currentA * 10), 'reserved');
  }
  const pausedSinceMs = memory?.pausedSinceMs;
  if (memory && memory.currentA === 0 && pausedSinceMs !== undefined && facts.atMs - pausedSinceMs < nonNegative(params.minPauseMs)) {
    tighten(bound, 0, 'min-pause');
  }
  if (session.paused) {
    bound.upperDa = 0;
    bound.upperKind = 'paused';
  }
  if (bound.upperDa < minDa) bound.upperDa = 0;
}

export function buildSlots(snapshot: SiteSnapshot, params: DecideParams, previous: DecideState, index: SiteIndex): Slot[] {
  const atMs = snapshot.atMs;
  const voltageV = finiteOr(params.voltageV, 0);
  const staleAfterMs = nonNegative(params.drawStaleAfterMs ?? params.staleAfterMs);
  const slots: Slot[] = [];
  const connectors = snapshot.connectors;
  for (let i = 0; i < connectors.length; i++) {
    const connector = connectors[i];
    const key = index.keyOf(connector.chargerId, connector.connectorId);
    const indexed = index.chargers.get(connector.chargerId);
    const session = connector.session ?? null;
    const memory = memoryFor(previous, key, session);
    const reservedDa = ceilDa(nonNegative(connector.reservedA));
    const fresh = isFresh(atMs, connector.drawAtMs, staleAfterMs);
    const draw = connector.drawA ?? [0, 0, 0];

    if (!indexed) {
      // Not in the configuration: never given current, its reservation still counts at the root.
      slots.push({
        index: i, key, connector, session, charger: undefined, node: 1, cons: index.constraintsOf(1, ALL_PHASES_MASK),
        phases: 3, mask: ALL_PHASES_MASK, minDa: 0, maxDa: 0, upperDa: 0, upperKind: 'unknown-charger', reservedDa,
        capDa: 0, binder: BINDER_NONE, refused: false, rank: 0, memory, drawA: undefined, siteDrawA: [0, 0, 0],
        underDrawSinceMs: undefined, lending: false, heldByDeadband: false,
      });
      continue;
    }

    const charger = indexed.params;
    const use = phaseUse(charger, session, draw);
    const minDa = Math.max(1, ceilDa(nonNegative(charger.minCurrentA)));
    const maxDa = floorDa(nonNegative(charger.maxCurrentA));
    const drawA = fresh ? Math.max(nonNegative(draw[0]), nonNegative(draw[1]), nonNegative(draw[2])) : undefined;
    const under = session ? underDraw(memory, drawA, atMs, params) : { sinceMs: undefined, lend: false };

    const bound: Bound = { upperDa: maxDa, upperKind: 'charger' };
    if (session) sessionBound(bound, session, memory, { minDa, powerWeight: use.powerWeight, reservedDa, voltageV, atMs, drawA, lend: under.lend }, params);
    const { upperDa, upperKind } = bound;

    slots.push({
      index: i, key, connector, session, charger, node: indexed.node, cons: index.constraintsOf(indexed.node, use.mask),
      phases: use.phases, mask: use.mask, minDa, maxDa, upperDa, upperKind, reservedDa, capDa: 0, binder: BINDER_NONE,
      refused: false, rank: 0, memory, drawA, siteDrawA: fresh ? drawOnSitePhases(charger.phaseRotation, draw) : [0, 0, 0],
      underDrawSinceMs: under.sinceMs, lending: under.lend, heldByDeadband: false,
    });
  }
  return slots;
}
