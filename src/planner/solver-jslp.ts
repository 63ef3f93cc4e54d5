// javascript-lp-solver backend. It has no variable bounds, so finite bounds become extra rows;
// it is dense and slow beyond a few dozen sessions (see the planner bench), hence not the default.
import jslpModule from 'javascript-lp-solver';

const jslp = jslpModule as unknown as { Solve(model: object): unknown };
import type { LpModel, LpResult } from '../../optimizer/lp-model.ts';
import type { LpSolver } from './lp-solver.ts';

type Bound = { min?: number; max?: number; equal?: number };

export function toJslpModel(lp: LpModel) {
  const constraints: Record<string, Bound> = {};
  const variables: Record<string, Record<string, number>> = {};
  const unrestricted: Record<string, 1> = {};
  for (let j = 0; j < lp.numCols; j++) {
    const v: Record<string, number> = { cost: lp.colCost[j] };
    variables[`x${j}`] = v;
    const lo = lp.colLower[j];
    const hi = lp.colUpper[j];
    if (lo === -Infinity) unrestricted[`x${j}`] = 1;
    // The solver assumes x >= 0; a positive lower bound or a finite upper bound is its own row.
    const bound: Bound = {};
    if (lo !== -Infinity && lo > 0) bound.min = lo;
    if (hi !== Infinity) bound.max = hi;
    if (lo === hi) {
      delete bound.min;
      delete bound.max;
      bound.equal = lo;
    }
    if (Object.keys(bound).length) {
      constraints[`b${j}`] = bound;
      v[`b${j}`] = 1;
    }
  }
  for (let r = 0; r < lp.numRows; r++) {
    const lo = lp.rowLower[r];
    const hi = lp.rowUpper[r];
    const bound: Bound = lo === hi ? { equal: lo } : {};
    if (lo !== hi) {
      if (lo !== -Infinity) bound.min = lo;
      if (hi !== Infinity) bound.max = hi;
    }
    if (!Object.keys(bound).length) continue;
    constraints[`r${r}`] = bound;
    for (let k = lp.rowStarts[r]; k < lp.rowStarts[r + 1]; k++) variables[`x${lp.rowIndex[k]}`][`r${r}`] = lp.rowValue[k];
  }
  return { optimize: 'cost', opType: 'min' as const, constraints, variables, unrestricted };
}

export class JslpSolver implements LpSolver {
  readonly name = 'jslp' as const;

  async solve(lp: LpModel, options: { timeLimitMs: number }): Promise<LpResult> {
    try {
      const model = { ...toJslpModel(lp), options: { timeout: options.timeLimitMs, tolerance: 0 } };
      const started = performance.now();
      const result = jslp.Solve(model) as { feasible: boolean; result: number; bounded?: boolean; [k: string]: unknown };
      if (performance.now() - started > options.timeLimitMs) return { status: 'time-limit', objective: Number.NaN, colValue: [] };
      if (!result.feasible) return { status: 'infeasible', objective: Number.NaN, colValue: [] };
      if (result.bounded === false) return { status: 'unbounded', objective: Number.NaN, colValue: [] };
      const colValue = Array.from({ length: lp.numCols }, (_, j) => {
        const v = result[`x${j}`];
        return typeof v === 'number' ? v : 0;
      });
      let objective = lp.offset;
      for (let j = 0; j < lp.numCols; j++) objective += lp.colCost[j] * colValue[j];
      return { status: 'optimal', objective, colValue };
    } catch (error) {
      return { status: 'error', objective: Number.NaN, colValue: [], detail: error instanceof Error ? error.message : String(error) };
    }
  }
}
