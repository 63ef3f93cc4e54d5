// A solver-neutral linear program: min c'x + offset, rowLower <= Ax <= rowUpper, colLower <= x <= colUpper.
// Rows are stored compressed (CSR). Infinite bounds are JS Infinity; adapters map them for their solver.

export interface LpModel {
  numCols: number;
  numRows: number;
  colCost: number[];
  colLower: number[];
  colUpper: number[];
  rowLower: number[];
  rowUpper: number[];
  /** CSR: row r owns entries rowStarts[r] .. rowStarts[r + 1] - 1. */
  rowStarts: number[];
  rowIndex: number[];
  rowValue: number[];
  offset: number;
}

export type LpStatus = 'optimal' | 'infeasible' | 'unbounded' | 'time-limit' | 'error';

export interface LpResult {
  status: LpStatus;
  /** Objective including the offset; NaN unless optimal. */
  objective: number;
  colValue: number[];
  detail?: string;
}

export class LpBuilder {
  private readonly m: LpModel = {
    numCols: 0,
    numRows: 0,
    colCost: [],
    colLower: [],
    colUpper: [],
    rowLower: [],
    rowUpper: [],
    rowStarts: [0],
    rowIndex: [],
    rowValue: [],
    offset: 0,
  };

  addCol(cost: number, lower: number, upper: number): number {
    this.m.colCost.push(cost);
    this.m.colLower.push(lower);
    this.m.colUpper.push(Math.max(lower, upper));
    return this.m.numCols++;
  }

  /** Adds lower <= sum(values[k] * x[indices[k]]) <= upper; indices must be distinct. */
  addRow(lower: number, upper: number, indices: readonly number[], values: readonly number[]): number {
    for (let k = 0; k < indices.length; k++) {
      if (values[k] === 0) continue;
      this.m.rowIndex.push(indices[k]);
      this.m.rowValue.push(values[k]);
    }
    this.m.rowLower.push(lower);
    this.m.rowUpper.push(upper);
    this.m.rowStarts.push(this.m.rowIndex.length);
    return this.m.numRows++;
  }

  addOffset(value: number): void {
    this.m.offset += value;
  }

  build(): LpModel {
    return this.m;
  }
}

/** Objective value of a candidate solution, computed independently of any solver. */
export function lpObjective(model: LpModel, x: readonly number[]): number {
  let sum = model.offset;
  for (let j = 0; j < model.numCols; j++) sum += model.colCost[j] * x[j];
  return sum;
}

/** Largest bound or row violation of a candidate solution (0 when feasible). */
export function lpMaxViolation(model: LpModel, x: readonly number[]): number {
  let worst = 0;
  for (let j = 0; j < model.numCols; j++) worst = Math.max(worst, model.colLower[j] - x[j], x[j] - model.colUpper[j]);
  for (let r = 0; r < model.numRows; r++) {
    let activity = 0;
    for (let k = model.rowStarts[r]; k < model.rowStarts[r + 1]; k++) activity += model.rowValue[k] * x[model.rowIndex[k]];
    worst = Math.max(worst, model.rowLower[r] - activity, activity - model.rowUpper[r]);
  }
  return worst;
}
