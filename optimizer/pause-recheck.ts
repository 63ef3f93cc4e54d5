// A pause the next readings disprove does not cost the car the whole minimum pause (issue #9: F7,
// F8, F9, F11 all ended there). The EMS pauses a car at its minimum when its estimate says the
// minimum no longer fits; during start-up, after a blank meter or while decreases land, that
// estimate can be a few amps too high for a few seconds (a ramp counted as building load until
// the cars' samples show it, a reading taken while cuts were still on their way), and minPauseMs
// (2 min) then held the car at 0 A long after the readings showed room for it.
// The minimum pause exists so that a car is not stopped and started again and again (contactors,
// cars that fall asleep; plant.md). So a paused car is rechecked only in a short window after its
// pause (from RECHECK_AFTER_MS, one flap period, until the estimate that paused it has had the time
// to be corrected: a car response, a MeterValues period, the building hold and that first wait),
// only after every running car has its minimum (it never takes the place of a car that runs), and
// at most once per session per EARLY_RESTART_EVERY_MS: one extra stop and start at the most. A real
// shortfall (a building step, a lower limit where it does not fit) keeps it at 0: its minimum does
// not fit in the window, and the minimum pause runs its full length.
import type { ConnectorMemory, DecideParams, PriorityScheme } from './types.ts';
import type { Slot } from './slot.ts';
import { DEFAULTS } from './site-view.ts';
import { nonNegative } from './numbers.ts';

/** A paused car is not restarted sooner than this (at most one cap change per 10 s), ms. */
export const RECHECK_AFTER_MS = 10_000;
/** At most one early restart per session this often, ms. */
export const EARLY_RESTART_EVERY_MS = 600_000;
/** A charger's measured draw counts for 2.5 MeterValues periods (src/control/decide-params.ts). */
const DRAW_STALE_PERIODS = 2.5;

/** How long after its pause a car is rechecked, ms: the pause plus the time its cause takes to be disproven. */
export function recheckForMs(params: DecideParams): number {
  const responseMs = nonNegative(params.carResponseMs ?? DEFAULTS.carResponseMs);
  const holdMs = nonNegative(params.buildingHoldMs ?? DEFAULTS.buildingHoldMs);
  const sampleEveryMs = nonNegative(params.drawStaleAfterMs ?? params.staleAfterMs) / DRAW_STALE_PERIODS;
  return RECHECK_AFTER_MS + responseMs + sampleEveryMs + holdMs;
}

/**
 * Whether a car in its minimum pause may restart now if its minimum fits beside every running car's:
 * inside the recheck window of its pause, and no early restart yet in this session within
 * EARLY_RESTART_EVERY_MS (a garbled or future time in a restored memory counts as none).
 */
export function mayRestartEarly(memory: ConnectorMemory, atMs: number, params: DecideParams): boolean {
  const pausedSinceMs = memory.pausedSinceMs;
  if (pausedSinceMs === undefined || !Number.isFinite(pausedSinceMs)) return false;
  const sinceMs = atMs - pausedSinceMs;
  const untilMs = Math.min(recheckForMs(params), nonNegative(params.minPauseMs));
  if (!(sinceMs >= RECHECK_AFTER_MS && sinceMs < untilMs)) return false;
  const last = memory.earlyRestartAtMs;
  return last === undefined || !Number.isFinite(last) || last > atMs || atMs - last >= EARLY_RESTART_EVERY_MS;
}

/**
 * The priority order for the minimums, with the cars that may restart early moved after every other
 * car (of their tier under `tier`): they get a minimum only if it fits once every running car has its own.
 */
export function restartsLast(order: readonly Slot[], scheme: PriorityScheme): readonly Slot[] {
  if (!order.some((slot) => slot.restartIfFree)) return order;
  const out: Slot[] = [];
  let start = 0;
  while (start < order.length) {
    const tier = order[start].session?.tierRank;
    let end = start + 1;
    if (scheme !== 'tier') end = order.length;
    while (end < order.length && order[end].session?.tierRank === tier) end++;
    for (let i = start; i < end; i++) if (!order[i].restartIfFree) out.push(order[i]);
    for (let i = start; i < end; i++) if (order[i].restartIfFree) out.push(order[i]);
    start = end;
  }
  return out;
}
