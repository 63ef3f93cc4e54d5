// Worker-thread entry: solves one plan per message, off the control loop's thread.
import { parentPort } from 'node:worker_threads';
import type { PlanInput } from '../../optimizer/plan-types.ts';
import { createLpSolver } from './create-solver.ts';
import type { LpSolver, SolverName } from './lp-solver.ts';
import { solvePlan } from './solve-plan.ts';

export interface PlanRequest {
  id: number;
  input: PlanInput;
  solver: SolverName;
  timeLimitMs: number;
}

const solvers = new Map<SolverName, LpSolver>();

parentPort?.on('message', async (request: PlanRequest) => {
  try {
    let solver = solvers.get(request.solver);
    if (!solver) solvers.set(request.solver, (solver = createLpSolver(request.solver)));
    const started = performance.now();
    const plan = await solvePlan(request.input, solver, request.timeLimitMs);
    parentPort?.postMessage({ id: request.id, plan, solveMs: performance.now() - started });
  } catch (error) {
    parentPort?.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) });
  }
});

// Loaded (tsx has compiled this module and the solvers' code): the runner's deadlines start now,
// so a slow start on a busy or small machine is not taken for a late plan.
parentPort?.postMessage({ ready: true });
