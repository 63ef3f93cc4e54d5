import type { LpModel, LpResult } from '../../optimizer/lp-model.ts';

export type SolverName = 'highs' | 'jslp';

/** One LP backend. Implementations never throw for a bad model: they answer status 'error'. */
export interface LpSolver {
  readonly name: SolverName;
  solve(model: LpModel, options: { timeLimitMs: number }): Promise<LpResult>;
}
