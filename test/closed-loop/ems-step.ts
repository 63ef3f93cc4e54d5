// The EMS side of the closed loop, as thin as possible: the same pure step the live control loop
// runs (src/control/control-step.ts) on the snapshot SiteState hands it at that moment.
import type { Config } from '../../config/schema.ts';
import type { Decision } from '../../optimizer/types.ts';
import { controlStep, initialControlMemory, type ControlMemory } from '../../src/control/control-step.ts';
import { decideParamsFromConfig } from '../../src/control/decide-params.ts';
import type { SiteState } from '../../src/state/site-state.ts';

export interface EmsStep {
  /** One control cycle at wall time `atMs`: the decision whose caps go to the chargers. */
  run(state: SiteState, atMs: number): Decision;
}

export function createEmsStep(config: Config): EmsStep {
  const params = decideParamsFromConfig(config);
  let memory: ControlMemory = initialControlMemory;
  return {
    run(state, atMs) {
      const result = controlStep({ snapshot: state.snapshot(atMs), params, memory });
      memory = result.memory;
      return result.decision;
    },
  };
}

/** createEmsStep() that hands every decision to `watch` first (traces and tests that follow the EMS cycle by cycle). */
export function watchedEmsStep(watch: (decision: Decision, state: SiteState, atMs: number) => void): (config: Config) => EmsStep {
  return (config) => {
    const step = createEmsStep(config);
    return {
      run(state, atMs) {
        const decision = step.run(state, atMs);
        watch(decision, state, atMs);
        return decision;
      },
    };
  };
}
