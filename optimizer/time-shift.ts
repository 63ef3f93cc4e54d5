// When the wall clock steps (an NTP correction), every time the optimizer remembers was taken on
// the old clock. Moving each by the step keeps every age and timer as it was: a minimum pause
// neither ends early (forward step) nor lasts an hour longer (backward step), a draw sample keeps
// its age. Pure; every *AtMs / *SinceMs of the memory and the time slots of its flat series.
import type { ConnectorEstimateMemory, ConnectorMemory, DecideState, EstimateMemory } from './types.ts';

const shift = (atMs: number | undefined, stepMs: number) => (atMs === undefined ? undefined : atMs + stepMs);

/** A flat series of records `stride` numbers long whose first number is a time. */
function shiftSeries(series: readonly number[], stride: number, stepMs: number): number[] {
  return series.map((v, i) => (i % stride === 0 ? v + stepMs : v));
}

function shiftConnector(m: ConnectorMemory, stepMs: number): ConnectorMemory {
  const out: ConnectorMemory = { ...m, changedAtMs: m.changedAtMs + stepMs };
  if (m.pausedSinceMs !== undefined) out.pausedSinceMs = m.pausedSinceMs + stepMs;
  if (m.underDrawSinceMs !== undefined) out.underDrawSinceMs = m.underDrawSinceMs + stepMs;
  if (m.smallRaiseSinceMs !== undefined) out.smallRaiseSinceMs = m.smallRaiseSinceMs + stepMs;
  if (m.earlyRestartAtMs !== undefined) out.earlyRestartAtMs = m.earlyRestartAtMs + stepMs;
  if (m.rampFromMs !== undefined) out.rampFromMs = m.rampFromMs + stepMs;
  return out;
}

function shiftEstimateConnector(m: ConnectorEstimateMemory, stepMs: number): ConnectorEstimateMemory {
  const out: ConnectorEstimateMemory = { ...m, bounds: shiftSeries(m.bounds, 2, stepMs), draws: shiftSeries(m.draws, 4, stepMs) };
  if (m.lows) out.lows = shiftSeries(m.lows, 2, stepMs);
  if (m.idleSinceMs !== undefined) out.idleSinceMs = shift(m.idleSinceMs, stepMs);
  if (m.releasedAtMs !== undefined) out.releasedAtMs = shift(m.releasedAtMs, stepMs);
  if (m.probeAtMs !== undefined) out.probeAtMs = shift(m.probeAtMs, stepMs);
  return out;
}

function shiftEstimate(e: EstimateMemory, stepMs: number): EstimateMemory {
  const connectors: Record<string, ConnectorEstimateMemory> = {};
  for (const [key, m] of Object.entries(e.connectors)) connectors[key] = shiftEstimateConnector(m, stepMs);
  const out: EstimateMemory = { ...e, connectors, building: shiftSeries(e.building, 5, stepMs) };
  if (e.lastGrid) out.lastGrid = { ...e.lastGrid, atMs: e.lastGrid.atMs + stepMs };
  if (e.levelGrid) out.levelGrid = shiftSeries(e.levelGrid, 5, stepMs);
  // NaN (not over) stays NaN.
  if (e.overSinceMs) out.overSinceMs = e.overSinceMs.map((t) => t + stepMs);
  if (e.riseGrid) out.riseGrid = e.riseGrid.map((v, i) => (i === 0 ? v + stepMs : v));
  return out;
}

/** The memory as if its times had been taken on a clock `stepMs` later. */
export function shiftDecideState(state: DecideState, stepMs: number): DecideState {
  const connectors: Record<string, ConnectorMemory> = {};
  for (const [key, m] of Object.entries(state.connectors)) connectors[key] = shiftConnector(m, stepMs);
  const out: DecideState = { ...state, connectors, ...(state.estimate ? { estimate: shiftEstimate(state.estimate, stepMs) } : {}) };
  // [peak, sinceMs, next, sinceMs] records: the 2nd and 4th of each are times.
  if (state.peaks) out.peaks = state.peaks.map((v, i) => (i % 2 === 1 ? v + stepMs : v));
  return out;
}
