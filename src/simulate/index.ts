export { runSimulateCommand, simulate, SIMULATE_HELP, type SimulateOptions } from './simulate-command.ts';
export { lpOptimum } from './lp-optimum.ts';
export { replay, type ReplayOptions, type ReplayResult, type Strategy } from './replay.ts';
export { parseReplaySessions, type ReplaySession } from './replay-sessions.ts';
export type { SimulateReport } from './simulate-report.ts';
