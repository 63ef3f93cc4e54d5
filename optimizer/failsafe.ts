// Guarantee 8: when the site's measurements cannot be trusted, every session gets the failsafe
// current, in priority order, as long as the static tree and grid limits (with margin, counting
// only EV caps and reservations) still hold; the rest get 0, and so do idle connectors. Whether the
// measurements can be trusted (fresh and plausible) is the site view's call (site-view.ts).
import type { DecideParams } from './types.ts';
import type { Pool } from './site-headroom.ts';
import type { Slot } from './slot.ts';
import { admit } from './allocate.ts';
import { floorDa, nonNegative } from './numbers.ts';

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
