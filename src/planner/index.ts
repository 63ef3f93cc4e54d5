export { createPlannerService, nextLocalTimeMs, plannerEnabled, type PlannerService, type PlannerStatus, type PlannerTariffSource } from './planner-service.ts';
export { PlanCeilings } from './plan-ceilings.ts';
export { buildPlanInput, type PlanContext, type PlannerSession } from './plan-input.ts';
export { createLpSolver } from './create-solver.ts';
export type { LpSolver, SolverName } from './lp-solver.ts';
export { solvePlan } from './solve-plan.ts';
