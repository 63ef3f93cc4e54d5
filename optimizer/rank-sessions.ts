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

function cmp(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sort keys per item position, four to an item (a number each, never NaN). */
const TIER = 0;
/** 0 when the session's deadline is close (promoted within its tier), 1 otherwise. */
const URGENCY = 1;
const PRIMARY = 2;
const STARTED = 3;
const KEYS = 4;

/**
 * Sessions (items with a session) in priority order, highest priority first.
 * `likelyOrder`: item positions in the order they probably end up in (last cycle's, see decide());
 * the result does not depend on it, only the time the sort takes: the order is total (ties end in
 * the item's position, as a stable sort of `items` would), and a sort of an order that is already
 * right is one pass.
 */
export function rankSessions<T extends Rankable>(items: readonly T[], scheme: PriorityScheme, atMs: number, voltageV: number, likelyOrder?: readonly number[]): T[] {
  const n = items.length;
  const keys = new Float64Array(KEYS * n);
  const deadlineAware = DEADLINE_AWARE.has(scheme);
  let sessions = 0;
  // The tie-breaks order every pair of sessions only when the ids are a string and a number; else
  // (bad input) some pairs compare equal whichever way round and the result would depend on where
  // the sort starts from: then it starts from the items' own order, as it always did.
  let comparableIds = true;
  for (let i = 0; i < n; i++) {
    const item = items[i];
    if (!item.session) continue;
    sessions++;
    let primary = primaryKey(item, scheme, atMs, voltageV);
    let tier = 0;
    let urgency = 1;
    if (deadlineAware) {
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
    const k = KEYS * i;
    keys[k + TIER] = Number.isNaN(tier) ? LAST : tier;
    keys[k + URGENCY] = urgency;
    keys[k + PRIMARY] = Number.isNaN(primary) ? LAST : primary;
    keys[k + STARTED] = finiteOr(item.session.startedAtMs, LAST);
    const { chargerId, connectorId } = item.connector;
    if (typeof chargerId !== 'string' || typeof connectorId !== 'number' || Number.isNaN(connectorId)) comparableIds = false;
  }
  const positions = startingOrder(items, sessions, comparableIds ? likelyOrder : undefined);
  const compare = (a: number, b: number): number => {
    const ka = KEYS * a;
    const kb = KEYS * b;
    return (
      cmp(keys[ka + TIER], keys[kb + TIER]) ||
      cmp(keys[ka + URGENCY], keys[kb + URGENCY]) ||
      cmp(keys[ka + PRIMARY], keys[kb + PRIMARY]) ||
      cmp(keys[ka + STARTED], keys[kb + STARTED]) ||
      compareText(items[a].connector.chargerId, items[b].connector.chargerId) ||
      cmp(items[a].connector.connectorId, items[b].connector.connectorId) ||
      a - b
    );
  };
  if (!inOrder(positions, compare)) positions.sort(compare);
  const out: T[] = new Array(positions.length);
  for (let i = 0; i < positions.length; i++) out[i] = items[positions[i]];
  return out;
}

function inOrder(positions: readonly number[], compare: (a: number, b: number) => number): boolean {
  for (let i = 1; i < positions.length; i++) if (compare(positions[i - 1], positions[i]) > 0) return false;
  return true;
}

/** The positions of the `sessions` items with a session: those of `likelyOrder` first, in its order, then the rest. */
function startingOrder(items: readonly Rankable[], sessions: number, likelyOrder: readonly number[] | undefined): number[] {
  const positions: number[] = [];
  if (likelyOrder === undefined) {
    for (let i = 0; i < items.length; i++) if (items[i].session) positions.push(i);
    return positions;
  }
  const taken = new Uint8Array(items.length);
  for (const i of likelyOrder) {
    if (i >= 0 && i < items.length && items[i].session && !taken[i]) {
      taken[i] = 1;
      positions.push(i);
    }
  }
  if (positions.length < sessions) for (let i = 0; i < items.length; i++) if (items[i].session && !taken[i]) positions.push(i);
  return positions;
}
