// Guarantee 8: when the site's measurements cannot be trusted, every session gets the failsafe
// current, in priority order, as long as the static tree and grid limits (with margin, counting
// only EV caps and reservations) still hold; the rest get 0, and so do idle connectors.
import type { DecideParams, SiteSnapshot } from './types.ts';
import type { Pool } from './site-headroom.ts';
import type { Slot } from './slot.ts';
import { admit } from './allocate.ts';
import { finiteOr, floorDa, formatSeconds, nonNegative } from './numbers.ts';

export interface Staleness {
  failsafe: boolean;
  /** Why, for people: "grid meter stale for 12 s". */
  why: string;
}

function isValidReading(grid: NonNullable<SiteSnapshot['grid']>): boolean {
  return (
    Number.isFinite(grid.atMs) &&
    Number.isFinite(grid.powerW) &&
    Array.isArray(grid.currentA) &&
    grid.currentA.length >= 3 &&
    [0, 1, 2].every((p) => Number.isFinite(grid.currentA[p]))
  );
}

/** A metered site without a fresh, valid grid reading runs on the failsafe; an unmetered one never. */
export function gridStaleness(snapshot: SiteSnapshot, params: DecideParams): Staleness {
  if (!params.grid.metered) return { failsafe: false, why: '' };
  const grid = snapshot.grid;
  if (!grid) return { failsafe: true, why: 'no grid meter reading' };
  if (!isValidReading(grid)) return { failsafe: true, why: 'grid meter reading is not a number' };
  const ageMs = finiteOr(snapshot.atMs, Number.NaN) - grid.atMs;
  if (!(ageMs <= nonNegative(params.staleAfterMs))) {
    return { failsafe: true, why: Number.isNaN(ageMs) ? 'no valid time for the grid reading' : `grid meter stale for ${formatSeconds(ageMs)}` };
  }
  return { failsafe: false, why: '' };
}

/** The failsafe cap a session may get: failsafeCurrentA within the charger's max, or 0 below its minimum. */
export function failsafeLevelDa(slot: Slot, params: DecideParams): number {
  const level = Math.min(floorDa(nonNegative(params.failsafeCurrentA)), slot.maxDa);
  return level >= slot.minDa ? level : 0;
}

/** Failsafe allocation: sessions at their failsafe level in priority order while it fits; nothing else. */
export function allocateFailsafe(order: readonly Slot[], pool: Pool, params: DecideParams): void {
  for (const slot of order) {
    if (slot.upperDa > 0) slot.upperDa = failsafeLevelDa(slot, params);
  }
  admit(order, pool, (slot) => slot.upperDa);
}
