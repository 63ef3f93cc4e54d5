// A control step that is handed the truth: the grid current and every car's draw as they are at
// the moment of the decision (what a plant that reports instantly would show). The harness's
// self-check: with honest, fresh inputs the same decide() keeps every limit and uses the headroom,
// so a failure with the real step is the estimation's, not the harness's.
import type { Config } from '../../config/schema.ts';
import { decide } from '../../optimizer/index.ts';
import { initialDecideState, type DecideState, type PhaseValues } from '../../optimizer/types.ts';
import { ROTATIONS, type SitePlant } from '../../plant/index.ts';
import { decideParamsFromConfig } from '../../src/control/decide-params.ts';
import type { EmsStep } from './ems-step.ts';

export function createOracleStep(config: Config, plant: SitePlant): EmsStep {
  const params = decideParamsFromConfig(config);
  let memory: DecideState = initialDecideState;
  const rotation = new Map(plant.scenario.chargers.map((c) => [c.id, ROTATIONS[c.phaseRotation]]));
  return {
    run(state, atMs) {
      const snapshot = state.snapshot(atMs);
      const truth = plant.truth();
      const root = truth.nodeA.get(plant.scenario.circuit.id)!;
      const draws = new Map(truth.connectors.map((c) => [`${c.chargerId}/${c.connectorId}`, c]));
      const decision = decide(
        {
          ...snapshot,
          grid: { atMs, currentA: [...root] as unknown as PhaseValues, powerW: truth.gridPowerW },
          circuitLoads: snapshot.circuitLoads.map((l) => ({ ...l, atMs, currentA: [...(truth.nodeA.get(l.circuitId) ?? l.currentA)] as unknown as PhaseValues })),
          connectors: snapshot.connectors.map((c) => {
            const t = draws.get(`${c.chargerId}/${c.connectorId}`);
            if (!t) return c;
            // Back from site phases to the charger's own terminals.
            const map = rotation.get(c.chargerId)!;
            const terminals: [number, number, number] = [0, 0, 0];
            for (let k = 0; k < 3; k++) terminals[k] = t.drawSiteA[map[k]!]!;
            return { ...c, drawA: terminals, drawAtMs: atMs };
          }),
        },
        params,
        memory,
      );
      memory = decision.nextState;
      return decision;
    },
  };
}
