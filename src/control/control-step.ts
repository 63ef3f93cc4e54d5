// One control cycle, pure: snapshot + ceilings + memory → decision. The live control loop, the
// closed-loop harness (plant/) and `ems simulate` all run this, so a replay runs exactly the
// controller that runs on site. No clock, no I/O: time arrives as snapshot.atMs.
import { decide } from '../../optimizer/index.ts';
import { connectorKey, initialDecideState, type ConnectorMemory, type DecideParams, type DecideState, type Decision, type SiteSnapshot } from '../../optimizer/types.ts';
import { PreviousMemories } from '../../optimizer/memories-by-index.ts';
import { cutReservations, initialCutLatency, learnCutLatency, type CutLatencyMemory } from '../../optimizer/cut-latency.ts';

/** What one step hands the next (decide()'s memory: hysteresis, pauses, estimation history). */
export interface ControlMemory {
  readonly decide: DecideState;
  /** Each charger's cut latency as its own samples showed it (optimizer/cut-latency.ts). */
  readonly cutLatency?: CutLatencyMemory;
}

export const initialControlMemory: ControlMemory = { decide: initialDecideState, cutLatency: initialCutLatency };

/** The car response decide() assumes, ms (its default when the params leave it out). */
const DEFAULT_RESPONSE_MS = 5_000;

/**
 * Per-session power ceilings computed outside decide() (the horizon planner's target, solar-only
 * charging), W, keyed by `${chargerId}/${connectorId}`. A session missing from a map is not limited
 * by it.
 */
export type CeilingsW = ReadonlyMap<string, number>;

export interface ControlStepInput {
  snapshot: SiteSnapshot;
  params: DecideParams;
  memory: ControlMemory;
  /** One map per ceiling source; the lowest ceiling per session wins, together with the session's own targetPowerW. */
  ceilingsW?: readonly CeilingsW[];
}

export interface ControlStepResult {
  decision: Decision;
  memory: ControlMemory;
  /** The snapshot decide() saw (ceilings merged into targetPowerW). */
  snapshot: SiteSnapshot;
}

/**
 * Merges every ceiling into the sessions' targetPowerW (the lowest wins; decide() treats it as a
 * ceiling, its own guarantees still win). The one place where planner targets and solar ceilings
 * meet.
 */
export function withCeilings(snapshot: SiteSnapshot, ceilingsW: readonly CeilingsW[]): SiteSnapshot {
  if (ceilingsW.length === 0) return snapshot;
  return {
    ...snapshot,
    connectors: snapshot.connectors.map((c) => {
      if (!c.session) return c;
      const key = connectorKey(c.chargerId, c.connectorId);
      let lowest = c.session.targetPowerW !== undefined && Number.isFinite(c.session.targetPowerW) ? c.session.targetPowerW : Number.POSITIVE_INFINITY;
      for (const map of ceilingsW) {
        const w = map.get(key);
        if (w !== undefined && Number.isFinite(w) && w < lowest) lowest = w;
      }
      if (lowest === Number.POSITIVE_INFINITY) return c;
      return { ...c, session: { ...c.session, targetPowerW: Math.max(0, lowest) } };
    }),
  };
}

/**
 * Keeps the old cap reserved on connectors whose decrease is still on its way by their charger's
 * learnt cut latency (longer than carResponseMs): until a car of that charger has been seen to slow
 * down that late, the estimator must not count it as slowed down (its old draw in the grid reading
 * would be taken for building load and hold every car lower).
 */
export function withCutReservations(snapshot: SiteSnapshot, reservations: ReadonlyMap<string, number>): SiteSnapshot {
  if (reservations.size === 0) return snapshot;
  return {
    ...snapshot,
    connectors: snapshot.connectors.map((c) => {
      if (!c || typeof c !== 'object') return c;
      const oldA = reservations.get(connectorKey(c.chargerId, c.connectorId));
      if (oldA === undefined || (c.reservedA !== undefined && c.reservedA >= oldA)) return c;
      return { ...c, reservedA: oldA };
    }),
  };
}

export function controlStep(input: ControlStepInput): ControlStepResult {
  const previous = input.memory?.decide ?? initialDecideState;
  const latency = input.memory?.cutLatency ?? initialCutLatency;
  const responseMs = input.params.carResponseMs ?? DEFAULT_RESPONSE_MS;
  const atMs = Number.isFinite(input.snapshot.atMs) ? input.snapshot.atMs : 0;
  const snapshot = withCutReservations(withCeilings(input.snapshot, input.ceilingsW ?? []), cutReservations(latency, atMs, responseMs));
  const decision = decide(snapshot, input.params, previous);
  // decide()'s caps and memories come in the snapshot's order (withCeilings and withCutReservations keep it).
  const caps = decision.caps;
  const before = new PreviousMemories<ConnectorMemory>(previous);
  const capAt = (key: string, i: number): number | undefined => {
    const cap = caps[i];
    return cap !== undefined && key === connectorKey(cap.chargerId, cap.connectorId) ? cap.currentA : undefined;
  };
  const cutLatency = learnCutLatency(latency, input.snapshot.connectors ?? [], atMs, (key, i) => before.at(i, key)?.currentA, capAt);
  return { decision, memory: { decide: decision.nextState, cutLatency }, snapshot };
}
