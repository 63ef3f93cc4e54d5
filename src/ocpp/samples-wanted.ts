// Which running cars the EMS should ask a fresh MeterValues sample of (TriggerMessage), pure.
//
// Capacity a car does not use is lent to others only from a measured draw: a sample taken once
// the car had time to settle under its cap (optimizer/unused-capacity.ts), and fresh (within
// drawStaleAfterMs). A charger that reports every 10-60 s whatever it is asked leaves the EMS
// without such a sample for up to a minute after each cap change, and single-phase cars counted
// on three phases until one arrives: the room stays unused. A real CSMS asks.
import { settledFromMs } from '../../optimizer/unused-capacity.ts';
import { connectorKey, type CapReason, type Decision } from '../../optimizer/types.ts';

/** Cap reasons that say a site limit, not the car or the charger, bound the cap: someone could use more. */
const SITE_BOUND: ReadonlySet<CapReason['kind']> = new Set(['circuit', 'grid-power', 'signal', 'scarcity']);

export interface SampleWantedSettings {
  /** control.carResponseS in ms: part of the time a car takes to settle under a new cap. */
  carResponseMs: number;
  /** A sample older than this no longer counts as the car's draw (decide params drawStaleAfterMs), ms. */
  drawStaleMs: number;
  /** A lending car is asked again this long before its sample goes stale, ms (answer and delivery fit in it). */
  refreshLeadMs: number;
}

export interface ConnectorSampleState {
  chargerId: string;
  connectorId: number;
  /** A car's session runs on the connector. */
  session: boolean;
  /** When its charger last sampled a current (wall ms), undefined: never in this session. */
  lastSampleAtMs: number | undefined;
  /** The charger is connected, through its setup and can be capped (an uncontrollable one counts at its max whatever it draws). */
  reachable: boolean;
}

export type SampleReason = 'settle' | 'refresh' | 'rise';

/** A grid rise the cars may have made (counted as building load until their samples show it) is asked about this long, ms. */
const RISE_ASK_MS = 10_000;

export interface SampleWanted {
  chargerId: string;
  connectorId: number;
  reason: SampleReason;
  /** Since when the sample has been wanted (wall ms): the longest waiting go first. */
  sinceMs: number;
  /** The connector's last sample then (wall ms). */
  lastSampleAtMs: number | undefined;
}

/**
 * The connectors whose cars should be sampled now, on a site where a limit binds some cap (else
 * nothing waits for a lender): a car with a cap and no sample taken since it could settle under
 * it (`settle`; that sample also shows the phases a car draws on, so a single-phase car stops
 * counting on three), or that lends its unused part or draws clearly under its cap and whose last
 * sample goes stale soon (`refresh`: else its share comes back and the caps move twice). A charger that
 * reports often enough is never in the list: its own samples come first.
 */
export function samplesWanted(decision: Decision, connectors: () => Iterable<ConnectorSampleState>, settings: SampleWantedSettings): SampleWanted[] {
  if (decision.failsafe) return [];
  const atMs = decision.atMs;
  const rose = decision.nextState.estimate?.riseGrid?.[0];
  const riseAtMs = rose !== undefined && atMs - rose <= RISE_ASK_MS ? rose : undefined;
  const limitBinds = decision.caps.some((c) => c.currentA > 0 && SITE_BOUND.has(c.reason.kind));
  if (riseAtMs === undefined && !limitBinds) return [];
  const caps = new Map(decision.caps.map((c) => [connectorKey(c.chargerId, c.connectorId), c]));
  const memories = decision.nextState.connectors;
  const refreshAfterMs = Math.max(0, settings.drawStaleMs - settings.refreshLeadMs);
  const wanted: SampleWanted[] = [];
  for (const c of connectors()) {
    if (!c.session || !c.reachable) continue;
    const key = connectorKey(c.chargerId, c.connectorId);
    const cap = caps.get(key);
    const memory = memories[key];
    if (!cap || !(cap.currentA > 0) || !memory || !Number.isFinite(memory.changedAtMs)) continue;
    const last = c.lastSampleAtMs;
    const settledFrom = settledFromMs(memory, settings);
    if (limitBinds && atMs >= settledFrom && (last === undefined || last < settledFrom)) {
      wanted.push({ chargerId: c.chargerId, connectorId: c.connectorId, reason: 'settle', sinceMs: settledFrom, lastSampleAtMs: last });
      continue;
    }
    // The grid rose by what this car, not sampled since it could settle, may have ramped: the rise
    // counts as building load until a sample shows how much of it is the car's.
    if (riseAtMs !== undefined && (last === undefined || (last < riseAtMs && last < settledFrom))) {
      wanted.push({ chargerId: c.chargerId, connectorId: c.connectorId, reason: 'rise', sinceMs: riseAtMs, lastSampleAtMs: last });
      continue;
    }
    const underDrawing = memory.lending === true || memory.underDrawSinceMs !== undefined;
    if (limitBinds && underDrawing && last !== undefined && atMs - last >= refreshAfterMs) {
      wanted.push({ chargerId: c.chargerId, connectorId: c.connectorId, reason: 'refresh', sinceMs: last + refreshAfterMs, lastSampleAtMs: last });
    }
  }
  return wanted.sort((a, b) => a.sinceMs - b.sinceMs);
}
