// Guarantee 6: caps do not flap. An increase smaller than the deadband is not made, nor one within
// capHoldMs of the connector's last change. A decrease that no limit needs (the car draws less
// than its cap and nobody wants the rest, the building estimate wobbled but the caps still fit) is
// not made: the previous cap is kept where the pool still has room for it. A decrease a limit does
// need is made at once, rounded up to the deadband so the next small rise needs no second cut.
// The minimum pause after a stop is enforced in slot.ts (upper bound 0) so the capacity goes to
// others instead of idling. Every step here checks the pool, so limits still hold.
import type { ConnectorMemory } from './types.ts';
import type { Pool } from './site-headroom.ts';
import { BINDER_NONE, BINDER_UPPER, type Slot } from './slot.ts';
import { raiseTo, room } from './allocate.ts';
import { ceilDa, nonNegative } from './numbers.ts';
import { slotPowerWeight } from './phase-map.ts';

function previousDa(slot: Slot): number {
  return slot.memory ? Math.round(slot.memory.currentA * 10) : 0;
}

/**
 * Keeps the previous cap where the new one would only be a little higher; frees the difference.
 * Not where the small increases of the slots that one constraint stopped add up to the deadband
 * or more: n cars sharing a limit would otherwise leave up to n deadbands of it unused for good
 * (four cars each 0.4 A short of an even share left 1.6 A of a 50.8 A share idle; acceptance
 * site-64a). Those are made: each is small, but together they are real capacity.
 * With `deferShared` (capHoldMs on) they are held here too and made by makeSharedSmallRaises()
 * once keepUnneededDecreases() has kept what it can: made first, they would take the room that
 * keeps other cars' caps where they are and force those down a deadband at a time (the 3 h depot
 * day: 50 cars, 0.1 A each, two decreases within 10 s on one car 4x as often).
 */
export function holdSmallIncreases(slots: readonly Slot[], pool: Pool, deadbandA: number, deferShared = false): void {
  const deadbandDa = ceilDa(nonNegative(deadbandA));
  if (deadbandDa <= 0) return;
  const held: Slot[] = [];
  const heldDaByBinder = new Map<number, number>();
  for (const slot of slots) {
    if (!slot.memory) continue;
    const previousDa = Math.round(slot.memory.currentA * 10);
    if (previousDa <= 0 || slot.capDa <= previousDa || slot.capDa - previousDa >= deadbandDa) continue;
    if (previousDa < slot.minDa || previousDa > slot.upperDa) continue;
    held.push(slot);
    if (slot.binder !== BINDER_UPPER && slot.binder !== BINDER_NONE) heldDaByBinder.set(slot.binder, (heldDaByBinder.get(slot.binder) ?? 0) + slot.capDa - previousDa);
  }
  for (const slot of held) {
    const shared = (heldDaByBinder.get(slot.binder) ?? 0) >= deadbandDa;
    if (shared && !deferShared) continue;
    if (deferShared) slot.sharedRaiseDa = shared ? slot.capDa : 0;
    raiseTo(slot, pool, Math.round(slot.memory!.currentA * 10));
    slot.heldByDeadband = true;
  }
}

/**
 * A shared small raise waits until the car has wanted it this many capHoldMs in a row (2 min at the
 * recommended 10 s): an under-use that lasts is taken up, the wobble of an estimate is not. The
 * 3 h depot day (bench/closed-loop.bench.ts): 3,386 flaps made at once, 1,328 after 6 holds,
 * 1,124 after 12, 1,015 with no shared raise at all.
 */
const SHARED_RAISE_SUSTAIN_HOLDS = 12;

/**
 * The small increases holdSmallIncreases() deferred (they free the deadband or more together),
 * in `order`, each as far as the pool still allows after the keeps, once the car has wanted a small
 * raise for SHARED_RAISE_SUSTAIN_HOLDS × holdMs; not within holdMs of its last change. Never beyond
 * the allocation's cap, so limits still hold.
 */
export function makeSharedSmallRaises(order: readonly Slot[], pool: Pool, holdMs: number, atMs: number): void {
  const scratch = { binder: BINDER_UPPER };
  const sustainMs = SHARED_RAISE_SUSTAIN_HOLDS * holdMs;
  for (const slot of order) {
    const wanted = slot.sharedRaiseDa;
    const memory = slot.memory;
    if (!wanted || !memory) continue;
    const wantedSinceMs = memory.smallRaiseSinceMs;
    if (sustainMs > 0 && !(wantedSinceMs !== undefined && atMs - wantedSinceMs >= sustainMs)) continue;
    const sinceMs = atMs - memory.changedAtMs;
    if (!memory.byFailsafe && slot.upperKind !== 'plan' && sinceMs >= 0 && sinceMs < holdMs) continue;
    const target = Math.min(wanted, Math.max(slot.capDa, slot.reservedDa) + Math.max(0, room(slot, pool, scratch)));
    if (target <= slot.capDa) continue;
    raiseTo(slot, pool, target);
    slot.heldByDeadband = false;
  }
}

/**
 * An increase within `holdMs` of the connector's last cap change is not made yet (the cap stays
 * where it is): a cap that just went down is not raised again a few seconds later because the
 * building estimate wobbled back. Starts from 0 are not held (the minimum pause governs those).
 */
export function holdRecentIncreases(slots: readonly Slot[], pool: Pool, holdMs: number, atMs: number): void {
  if (!(holdMs > 0)) return;
  for (const slot of slots) {
    const memory = slot.memory;
    if (!memory) continue;
    const previous = previousDa(slot);
    if (previous <= 0 || slot.capDa <= previous) continue;
    if (previous < slot.minDa || previous > slot.upperDa) continue;
    // A planner target moves in its own slots and a car must reach its departure: not held.
    if (slot.upperKind === 'plan') continue;
    // The failsafe's share is no estimate wobbling back: the raise once the data is trusted again is not held.
    if (memory.byFailsafe) continue;
    const sinceMs = atMs - memory.changedAtMs;
    if (!(sinceMs >= 0 && sinceMs < holdMs)) continue;
    raiseTo(slot, pool, previous);
    slot.heldSinceChangeMs = sinceMs;
    slot.heldByDeadband = false;
  }
}

/** A decrease nothing asks for: the upper bound still allows the previous cap, or it is only lending. */
function keepable(slot: Slot): boolean {
  if (!slot.session || !slot.memory) return false;
  const previous = previousDa(slot);
  if (previous <= 0 || slot.capDa >= previous || previous < slot.minDa || previous > slot.maxDa) return false;
  return slot.upperDa >= previous || slot.upperKind === 'unused';
}

/**
 * Keeps the previous cap of every session whose cap would go down although nothing needs it lower.
 * All such slots are first put back to their previous cap; where that overloads a constraint (or
 * the grid power) beyond what the allocation left, the lenders go first (down to what the
 * allocation gave them), then the others in reverse priority, each by at least the deadband. Every
 * slot that had to give ends at or below the allocation's cap unless it alone cleared the overload,
 * so afterwards nothing exceeds what the allocation left free.
 * `order` is the priority order.
 */
export function keepUnneededDecreases(order: readonly Slot[], pool: Pool, deadbandA: number): void {
  const kept: Slot[] = [];
  const allocatedDa = new Map<Slot, number>();
  for (const slot of order) if (keepable(slot)) kept.push(slot);
  if (kept.length === 0) return;
  // What the allocation left: a constraint already overloaded by reservations stays as it was.
  const floor = Float64Array.from(pool.residual, (r) => Math.min(0, r));
  const powerFloor = Math.min(0, pool.power);
  for (const slot of kept) {
    allocatedDa.set(slot, slot.capDa);
    raiseTo(slot, pool, previousDa(slot));
  }
  const overOf = (slot: Slot): number => {
    let over = Math.max(0, powerFloor - pool.power) / slotPowerWeight(slot);
    for (const c of slot.cons) over = Math.max(over, floor[c] - pool.residual[c]);
    return Math.ceil(over - 1e-9);
  };
  const stepDa = ceilDa(nonNegative(deadbandA));
  const lendersFirst = [...kept.filter((s) => s.upperKind === 'unused').reverse(), ...kept.filter((s) => s.upperKind !== 'unused').reverse()];
  for (const slot of lendersFirst) {
    const over = overOf(slot);
    const allocated = allocatedDa.get(slot)!;
    if (over <= 0) continue;
    const previous = previousDa(slot);
    // At least one deadband down (so the next small rise needs no second cut), and at least to the
    // allocation's own cap unless this slot alone can clear the overload from higher up; never into
    // the gap below the minimum (then the allocation's cap). With every kept slot at or below the
    // allocation's cap everything fits.
    // A lender goes to the allocation's cap, and a deadband down at least as well: it draws less
    // than its cap, and cut 0.1 A at a time it changed at every small rise of the estimate (1/160).
    let target = slot.upperKind === 'unused' ? Math.min(allocated, previous - stepDa) : Math.min(Math.max(allocated, previous - over), previous - stepDa);
    if (target < slot.minDa) target = allocated;
    raiseTo(slot, pool, target);
  }
  for (const slot of kept) if (slot.capDa === previousDa(slot)) slot.keptNotNeeded = true;
}

/**
 * What decide() remembers about a connector for the next cycle: the last cycle's object itself when
 * every value is the same (most connectors on most cycles; no new object to make and compare).
 */
export function nextMemory(slot: Slot, atMs: number, failsafe = false): ConnectorMemory {
  const currentA = slot.capDa / 10;
  const previous = slot.memory;
  const unchanged = !!previous && previous.currentA === currentA;
  const changedAtMs = unchanged ? previous.changedAtMs : atMs;
  const byFailsafe = (unchanged ? previous.byFailsafe : failsafe) ? true : undefined;
  // A decrease keeps the time the car last had to ramp (unused-capacity.ts settledFromMs); not for
  // a car with a planner target, whose lending stays judged on samples after its last change.
  const rampFromMsBefore = previous?.rampFromMs ?? previous?.changedAtMs;
  let rampFromMs: number | undefined;
  if (unchanged) rampFromMs = previous.rampFromMs;
  else if (previous && currentA > 0 && currentA < previous.currentA && slot.session?.targetPowerW === undefined) rampFromMs = rampFromMsBefore;
  let smallRaiseSinceMs: number | undefined;
  if (slot.sharedRaiseDa !== undefined) {
    // (a garbled time from a restored memory starts the wait again instead of blocking it for good)
    const since = unchanged ? previous.smallRaiseSinceMs : undefined;
    smallRaiseSinceMs = since !== undefined && Number.isFinite(since) && since <= atMs ? since : atMs;
  }
  const session = slot.session;
  let pausedSinceMs: number | undefined;
  let earlyRestartAtMs: number | undefined;
  if (session) {
    const releasedCar = slot.upperKind === 'released' || slot.upperKind === 'probe';
    if (currentA === 0 && !session.paused && previous && !releasedCar) {
      // A stop (cap went from > 0 to 0) starts the minimum pause; an ongoing pause keeps its start.
      if (previous.currentA > 0) pausedSinceMs = atMs;
      else pausedSinceMs = previous.pausedSinceMs;
    }
    // A restart before the minimum pause was over (pause-recheck.ts) is remembered for the session.
    earlyRestartAtMs = currentA > 0 && slot.restartIfFree ? atMs : previous?.earlyRestartAtMs;
  }
  const sessionId = session ? session.id : undefined;
  const underDrawSinceMs = session ? slot.underDrawSinceMs : undefined;
  const lending = session && slot.lending ? true : undefined;
  if (
    previous !== undefined &&
    previous.currentA === currentA &&
    previous.changedAtMs === changedAtMs &&
    previous.byFailsafe === byFailsafe &&
    previous.rampFromMs === rampFromMs &&
    previous.smallRaiseSinceMs === smallRaiseSinceMs &&
    previous.sessionId === sessionId &&
    previous.pausedSinceMs === pausedSinceMs &&
    previous.earlyRestartAtMs === earlyRestartAtMs &&
    previous.underDrawSinceMs === underDrawSinceMs &&
    previous.lending === lending
  )
    return previous;
  const memory: ConnectorMemory = { currentA, changedAtMs };
  if (byFailsafe) memory.byFailsafe = true;
  if (rampFromMs !== undefined) memory.rampFromMs = rampFromMs;
  if (smallRaiseSinceMs !== undefined) memory.smallRaiseSinceMs = smallRaiseSinceMs;
  if (!session) return memory;
  memory.sessionId = session.id;
  if (pausedSinceMs !== undefined) memory.pausedSinceMs = pausedSinceMs;
  if (earlyRestartAtMs !== undefined) memory.earlyRestartAtMs = earlyRestartAtMs;
  if (underDrawSinceMs !== undefined) memory.underDrawSinceMs = underDrawSinceMs;
  if (lending) memory.lending = true;
  return memory;
}
