// The EMS side of the closed loop, as thin as possible: the same step the live control loop runs.
// Today that is `ctx.state.snapshot(atMs)` → `decide()` (src/control/control-loop.ts); when the
// pure `src/control/control-step.ts` lands, repoint `createEmsStep` at it and nothing else changes.
import type { Config } from '../../config/schema.ts';
import { decide } from '../../optimizer/index.ts';
import { initialDecideState, type DecideState, type Decision } from '../../optimizer/types.ts';
import { decideParamsFromConfig } from '../../src/control/decide-params.ts';
import type { SiteState } from '../../src/state/site-state.ts';

export interface EmsStep {
  /** One control cycle at wall time `atMs`: the decision whose caps go to the chargers. */
  run(state: SiteState, atMs: number): Decision;
}

export function createEmsStep(config: Config): EmsStep {
  const params = decideParamsFromConfig(config);
  let memory: DecideState = initialDecideState;
  return {
    run(state, atMs) {
      const decision = decide(state.snapshot(atMs), params, memory);
      memory = decision.nextState;
      return decision;
    },
  };
}
