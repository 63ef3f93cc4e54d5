// Guarantee 6: caps do not flap. An increase smaller than the deadband is not made; decreases
// always apply. The minimum pause after a stop is enforced in slot.ts (upper bound 0) so the
// capacity goes to others instead of idling. Both only ever lower caps, so limits still hold.
import type { ConnectorMemory } from './types.ts';
import type { Pool } from './site-headroom.ts';
import type { Slot } from './slot.ts';
import { raiseTo } from './allocate.ts';
import { ceilDa, nonNegative } from './numbers.ts';

/** Keeps the previous cap where the new one would only be a little higher; frees the difference. */
export function holdSmallIncreases(slots: readonly Slot[], pool: Pool, deadbandA: number): void {
  const deadbandDa = ceilDa(nonNegative(deadbandA));
  if (deadbandDa <= 0) return;
  for (const slot of slots) {
    if (!slot.memory) continue;
    const previousDa = Math.round(slot.memory.currentA * 10);
    if (previousDa <= 0 || slot.capDa <= previousDa || slot.capDa - previousDa >= deadbandDa) continue;
    if (previousDa < slot.minDa || previousDa > slot.upperDa) continue;
    raiseTo(slot, pool, previousDa);
    slot.heldByDeadband = true;
  }
}

/** What decide() remembers about a connector for the next cycle. */
export function nextMemory(slot: Slot, atMs: number): ConnectorMemory {
  const currentA = slot.capDa / 10;
  const previous = slot.memory;
  const memory: ConnectorMemory = {
    currentA,
    changedAtMs: previous && previous.currentA === currentA ? previous.changedAtMs : atMs,
  };
  const session = slot.session;
  if (!session) return memory;
  memory.sessionId = session.id;
  const releasedCar = slot.upperKind === 'released' || slot.upperKind === 'probe';
  if (currentA === 0 && !session.paused && previous && !releasedCar) {
    // A stop (cap went from > 0 to 0) starts the minimum pause; an ongoing pause keeps its start.
    if (previous.currentA > 0) memory.pausedSinceMs = atMs;
    else if (previous.pausedSinceMs !== undefined) memory.pausedSinceMs = previous.pausedSinceMs;
  }
  if (slot.underDrawSinceMs !== undefined) memory.underDrawSinceMs = slot.underDrawSinceMs;
  if (slot.lending) memory.lending = true;
  return memory;
}
