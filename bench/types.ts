/** What one benchmark module returns; bench/run.ts prints it as a table and records it. */
export interface BenchTable {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  /** Target and verdict lines, e.g. "target: median < 1 ms — met". */
  notes?: string[];
}

/** A file bench/<name>.bench.ts default-exports one of these. */
export type Bench = () => Promise<BenchTable[]>;
