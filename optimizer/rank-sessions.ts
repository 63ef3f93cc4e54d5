// Priority order of sessions (guarantee 3). Every scheme ends in the same deterministic
// tie-break: plug-in time, then chargerId, then connectorId. Under fcfs, tier and soc a session
// close to its departure goes first within its tier (see URGENT_LAXITY_MS).
import type { PriorityScheme, SessionSnapshot } from './types.ts';
import { finiteOr, nonNegative } from './numbers.ts';

export interface Rankable {
  readonly session: SessionSnapshot | null;
  readonly connector: { readonly chargerId: string; readonly connectorId: number };
  /** Highest current the session could take, A per phase, and on how many phases. */
  readonly maxDa: number;
  readonly phases: 1 | 3;
}

interface Keyed<T> {
  item: T;
  /** Tier first under `tier`, 0 otherwise. */
  tier: number;
  /** 0 when the session's deadline is close (promoted within its tier), 1 otherwise. */
  urgency: number;
  primary: number;
  started: number;
}

/**
 * Under fcfs, tier and soc a session whose laxity has fallen below this goes ahead of the others of
 * its tier (least laxity first): those schemes say who goes first, not that a car may miss its
 * departure for one that stays all day.
 */
export const URGENT_LAXITY_MS = 3_600_000;
const DEADLINE_AWARE: ReadonlySet<PriorityScheme> = new Set(['fcfs', 'tier', 'soc']);

const LAST = Number.POSITIVE_INFINITY;

/**
 * Least laxity: time to departure minus the time the remaining energy needs at full power (charger
 * and car max, on the phases the car uses). A session without a departure goes after every session
 * with one; without an energy need the laxity is the time to departure (earliest departure first).
 */
function laxityMs(item: Rankable, atMs: number, voltageV: number): number {
  const session = item.session!;
  const departure = finiteOr(session.departureAtMs, Number.NaN);
  if (Number.isNaN(departure)) return LAST;
  const needWh = nonNegative(finiteOr(session.energyNeedWh, 0) - finiteOr(session.energyWh, 0));
  const carMaxA = finiteOr(session.carMaxCurrentA, Number.POSITIVE_INFINITY);
  const fullPowerW = Math.min(item.maxDa / 10, carMaxA) * item.phases * voltageV;
  const chargeMs = needWh > 0 && fullPowerW > 0 ? (needWh / fullPowerW) * 3_600_000 : 0;
  return departure - atMs - chargeMs;
}

function primaryKey(item: Rankable, scheme: PriorityScheme, atMs: number, voltageV: number): number {
  const session = item.session!;
  switch (scheme) {
    case 'departure':
      return laxityMs(item, atMs, voltageV);
    case 'soc':
      return finiteOr(session.socPct, LAST);
    case 'tier':
      return -finiteOr(session.tierRank, Number.NEGATIVE_INFINITY);
    case 'fcfs':
    case 'equal':
    default:
      return 0;
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sessions (items with a session) in priority order, highest priority first. */
export function rankSessions<T extends Rankable>(items: readonly T[], scheme: PriorityScheme, atMs: number, voltageV: number): T[] {
  const keyed: Keyed<T>[] = [];
  for (const item of items) {
    if (!item.session) continue;
    let primary = primaryKey(item, scheme, atMs, voltageV);
    let tier = 0;
    let urgency = 1;
    if (DEADLINE_AWARE.has(scheme)) {
      if (scheme === 'tier') {
        tier = primary;
        primary = 0;
      }
      const laxity = laxityMs(item, atMs, voltageV);
      if (laxity <= URGENT_LAXITY_MS) {
        urgency = 0;
        primary = laxity;
      }
    }
    keyed.push({
      item,
      tier: Number.isNaN(tier) ? LAST : tier,
      urgency,
      primary: Number.isNaN(primary) ? LAST : primary,
      started: finiteOr(item.session.startedAtMs, LAST),
    });
  }
  keyed.sort(
    (a, b) =>
      cmp(a.tier, b.tier) ||
      cmp(a.urgency, b.urgency) ||
      cmp(a.primary, b.primary) ||
      cmp(a.started, b.started) ||
      compareText(a.item.connector.chargerId, b.item.connector.chargerId) ||
      cmp(a.item.connector.connectorId, b.item.connector.connectorId),
  );
  return keyed.map((k) => k.item);
}

function cmp(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
