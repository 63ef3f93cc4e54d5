import type { LpSolver, SolverName } from './lp-solver.ts';
import { HighsSolver } from './solver-highs.ts';
import { JslpSolver } from './solver-jslp.ts';

export function createLpSolver(name: SolverName): LpSolver {
  return name === 'jslp' ? new JslpSolver() : new HighsSolver();
}
