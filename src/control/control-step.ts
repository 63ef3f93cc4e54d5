// One control cycle, pure: snapshot + ceilings + memory → decision. The live control loop, the
// closed-loop harness (plant/) and `ems simulate` all run this, so a replay runs exactly the
// controller that runs on site. No clock, no I/O: time arrives as snapshot.atMs.
import { decide } from '../../optimizer/index.ts';
import { connectorKey, initialDecideState, type DecideParams, type DecideState, type Decision, type SiteSnapshot } from '../../optimizer/types.ts';

/** What one step hands the next (decide()'s memory: hysteresis, pauses, estimation history). */
export interface ControlMemory {
  readonly decide: DecideState;
}

export const initialControlMemory: ControlMemory = { decide: initialDecideState };

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

export function controlStep(input: ControlStepInput): ControlStepResult {
  const snapshot = withCeilings(input.snapshot, input.ceilingsW ?? []);
  const decision = decide(snapshot, input.params, input.memory?.decide ?? initialDecideState);
  return { decision, memory: { decide: decision.nextState }, snapshot };
}
