// Pure: the most a composite schedule (GetCompositeSchedule, 1.6 and 2.0.1) lets a connector draw
// over its whole window, A per phase. The EMS compares it with what it believes the connector
// holds: a charger that reports more does not apply the profiles it was sent.

export interface CompositePeriod {
  startPeriod: number;
  limit: number;
  numberPhases?: number;
}

/**
 * The highest limit of the schedule, A per phase; W limits over the period's phases (else the
 * charger's) at `voltageV`. Undefined for an empty or garbage schedule (nothing to compare).
 */
export function compositeMaxA(periods: readonly CompositePeriod[] | undefined, unit: 'A' | 'W', voltageV: number, phases: number): number | undefined {
  if (!periods?.length) return undefined;
  let maxA = -Infinity;
  for (const p of periods) {
    if (!Number.isFinite(p.limit) || p.limit < 0) return undefined;
    const n = p.numberPhases && p.numberPhases > 0 ? p.numberPhases : phases;
    maxA = Math.max(maxA, unit === 'A' ? p.limit : p.limit / (voltageV * n));
  }
  return maxA;
}
