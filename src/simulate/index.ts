export { runSimulateCommand, simulate, type SimulateOptions } from './simulate-command.ts';
export { replay, type ReplayOptions, type ReplayResult, type Strategy } from './replay.ts';
export { parseReplaySessions, type ReplaySession } from './replay-sessions.ts';
export type { SimulateReport } from './simulate-report.ts';
