// HiGHS (WebAssembly) backend: sparse CSR input, native bounds, a time limit.
import highsModule, { type Highs } from 'highs';
// The package's one .d.ts is typed as CommonJS; under ESM the default export is the loader itself.
const loadHighs = highsModule as unknown as (options?: object) => Promise<Highs>;
import type { LpModel, LpResult } from '../../optimizer/lp-model.ts';
import type { LpSolver } from './lp-solver.ts';

export class HighsSolver implements LpSolver {
  readonly name = 'highs' as const;
  private highs?: Promise<Highs>;

  private load(): Promise<Highs> {
    const loading = this.highs ?? loadHighs();
    this.highs = loading;
    return loading;
  }

  async solve(lp: LpModel, options: { timeLimitMs: number }): Promise<LpResult> {
    let highs: Highs;
    try {
      highs = await this.load();
    } catch (error) {
      this.highs = undefined;
      return { status: 'error', objective: Number.NaN, colValue: [], detail: `HiGHS failed to load: ${String(error)}` };
    }
    if (lp.numCols === 0) return { status: 'optimal', objective: lp.offset, colValue: [] };
    const inf = highs.infinity;
    const clamp = (v: number) => (v === Infinity ? inf : v === -Infinity ? -inf : v);
    let model: ReturnType<Highs['createModel']> | undefined;
    try {
      model = highs.createModel({
        numCols: lp.numCols,
        numRows: lp.numRows,
        offset: lp.offset,
        colCost: Float64Array.from(lp.colCost),
        colLower: Float64Array.from(lp.colLower, clamp),
        colUpper: Float64Array.from(lp.colUpper, clamp),
        rowLower: Float64Array.from(lp.rowLower, clamp),
        rowUpper: Float64Array.from(lp.rowUpper, clamp),
        matrix: {
          format: 'csr',
          numRows: lp.numRows,
          numCols: lp.numCols,
          starts: Int32Array.from(lp.rowStarts),
          indices: Int32Array.from(lp.rowIndex),
          values: Float64Array.from(lp.rowValue),
        },
      });
      model.options.set({ output_flag: false, time_limit: Math.max(0.01, options.timeLimitMs / 1000) });
      model.run();
      const status = model.getModelStatus();
      const codes = highs.constants.modelStatus;
      if (status === codes.optimal) {
        return { status: 'optimal', objective: model.getObjectiveValue(), colValue: Array.from(model.getSolution().colValue) };
      }
      if (status === codes.timeLimit) return { status: 'time-limit', objective: Number.NaN, colValue: [] };
      if (status === codes.infeasible) return { status: 'infeasible', objective: Number.NaN, colValue: [] };
      if (status === codes.unbounded || status === codes.unboundedOrInfeasible) return { status: 'unbounded', objective: Number.NaN, colValue: [] };
      return { status: 'error', objective: Number.NaN, colValue: [], detail: `HiGHS model status ${status}` };
    } catch (error) {
      return { status: 'error', objective: Number.NaN, colValue: [], detail: error instanceof Error ? error.message : String(error) };
    } finally {
      model?.dispose();
    }
  }
}
