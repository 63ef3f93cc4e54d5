// Build the horizon LP, solve it with one backend, read the plan back. Runs in the planner worker
// and, in replay, in the simulate process itself.
import { extractPlan, emptyPlan } from '../../optimizer/plan-extract.ts';
import { buildPlanModel } from '../../optimizer/plan-model.ts';
import type { Plan, PlanInput } from '../../optimizer/plan-types.ts';
import type { LpSolver } from './lp-solver.ts';

export async function solvePlan(input: PlanInput, solver: LpSolver, timeLimitMs: number): Promise<Plan> {
  if (input.sessions.length === 0 || input.slotCount <= 0) return emptyPlan(input, 'empty');
  const { model, layout } = buildPlanModel(input);
  const result = await solver.solve(model, { timeLimitMs });
  return extractPlan(input, layout, result);
}
