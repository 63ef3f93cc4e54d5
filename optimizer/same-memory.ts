// Whether a connector's next hysteresis memory holds the same values as its last one: decide() then
// keeps the last object instead of the new one. Most caps do not change from one cycle to the
// next; kept objects are not copied by the young-generation GC every few cycles.
import type { ConnectorMemory } from './types.ts';

/**
 * Every field sameMemory() compares: a field added to ConnectorMemory must be added to both (this does
 * not compile without it), and to nextMemory()'s comparison (hysteresis.ts).
 */
export const MEMORY_FIELDS: Record<keyof ConnectorMemory, true> = {
  currentA: true, changedAtMs: true, sessionId: true, pausedSinceMs: true, underDrawSinceMs: true, lending: true, byFailsafe: true, smallRaiseSinceMs: true, earlyRestartAtMs: true, rampFromMs: true,
};

/**
 * True when `a` and `b` hold the same values: the next memory of a connector whose cap and timers
 * did not change is then last cycle's object itself (kept, not copied, by every cycle after; the
 * memories are never changed once made).
 */
export function sameMemory(a: ConnectorMemory, b: ConnectorMemory): boolean {
  return (
    a.currentA === b.currentA &&
    a.changedAtMs === b.changedAtMs &&
    a.sessionId === b.sessionId &&
    a.pausedSinceMs === b.pausedSinceMs &&
    a.underDrawSinceMs === b.underDrawSinceMs &&
    a.lending === b.lending &&
    a.byFailsafe === b.byFailsafe &&
    a.smallRaiseSinceMs === b.smallRaiseSinceMs &&
    a.earlyRestartAtMs === b.earlyRestartAtMs &&
    a.rampFromMs === b.rampFromMs
  );
}
