// Greedy allocation over the fuse tree: minimums first in priority order, then the rest filled in
// priority order (or evenly). Every step checks the residual of each (node, phase) on the
// connector's path and the grid power residual, so the result never exceeds a limit.
import type { Pool } from './site-headroom.ts';
import type { Slot } from './slot.ts';
import { BINDER_POWER, BINDER_UPPER } from './slot.ts';

/** Scratch output of room(): which constraint is tightest. */
interface Tightest {
  binder: number;
}

/** How far this slot's cost may still grow: the smallest residual on its path (and in power). */
export function room(slot: Slot, pool: Pool, out: Tightest): number {
  let least = Number.POSITIVE_INFINITY;
  let binder = BINDER_UPPER;
  const residual = pool.residual;
  const cons = slot.cons;
  for (let i = 0; i < cons.length; i++) {
    const r = residual[cons[i]];
    if (r < least) {
      least = r;
      binder = cons[i];
    }
  }
  const power = Math.floor(pool.power / slot.phases);
  if (power < least) {
    least = power;
    binder = BINDER_POWER;
  }
  out.binder = binder;
  return least;
}

/** The highest cap reachable now: up to the reservation the cap is free, beyond it costs room. */
function reach(slot: Slot, pool: Pool, out: Tightest): number {
  return Math.max(slot.capDa, slot.reservedDa) + room(slot, pool, out);
}

/** Sets the cap and charges the pool what it costs beyond the reservation. */
export function raiseTo(slot: Slot, pool: Pool, capDa: number): void {
  const r = slot.reservedDa;
  const cost = Math.max(0, capDa - r) - Math.max(0, slot.capDa - r);
  slot.capDa = capDa;
  if (cost === 0) return;
  const residual = pool.residual;
  const cons = slot.cons;
  for (let i = 0; i < cons.length; i++) residual[cons[i]] -= cost;
  pool.power -= cost * slot.phases;
}

/**
 * Gives each slot, in order, `levelDa(slot)` if it fits; a slot where it does not fit stays at 0
 * and is marked refused with the constraint that refused it. Used for minimums and the failsafe.
 */
export function admit(order: readonly Slot[], pool: Pool, levelDa: (slot: Slot) => number): void {
  const scratch: Tightest = { binder: BINDER_UPPER };
  for (const slot of order) {
    const level = levelDa(slot);
    if (level <= 0 || slot.upperDa < level) continue;
    if (reach(slot, pool, scratch) >= level) {
      raiseTo(slot, pool, level);
    } else {
      slot.refused = true;
      slot.binder = scratch.binder;
    }
  }
}

/** Priority fill: each admitted slot in order takes all it can. */
export function fillInOrder(order: readonly Slot[], pool: Pool): void {
  const scratch: Tightest = { binder: BINDER_UPPER };
  for (const slot of order) {
    if (slot.capDa <= 0) continue;
    const reachable = reach(slot, pool, scratch);
    if (slot.upperDa <= reachable) {
      if (slot.upperDa > slot.capDa) raiseTo(slot, pool, slot.upperDa);
      slot.binder = BINDER_UPPER;
    } else {
      if (reachable > slot.capDa) raiseTo(slot, pool, reachable);
      slot.binder = scratch.binder;
    }
  }
}

/**
 * Even fill (water-filling): every admitted slot rises by the same step until a constraint on its
 * path is full or it reaches its upper bound. Capacity below a slot's reservation is free, so each
 * slot first takes that. Steps are whole deci-amps; the last odd deci-amps of a full constraint go
 * in priority order.
 */
export function fillEqually(order: readonly Slot[], pool: Pool): void {
  const scratch: Tightest = { binder: BINDER_UPPER };
  let active: Slot[] = [];
  for (const slot of order) {
    if (slot.capDa <= 0) continue;
    const free = Math.min(slot.upperDa, slot.reservedDa);
    if (free > slot.capDa) raiseTo(slot, pool, free);
    if (slot.capDa < slot.upperDa) active.push(slot);
    else slot.binder = BINDER_UPPER;
  }

  const users = new Float64Array(pool.residual.length);
  const touched: number[] = [];
  let powerUsers = 0;
  for (const slot of active) {
    for (const c of slot.cons) {
      if (users[c] === 0) touched.push(c);
      users[c]++;
    }
    powerUsers += slot.phases;
  }

  while (active.length > 0) {
    let step = Number.POSITIVE_INFINITY;
    for (const slot of active) step = Math.min(step, slot.upperDa - slot.capDa);
    for (const c of touched) if (users[c] > 0) step = Math.min(step, Math.floor(pool.residual[c] / users[c]));
    if (powerUsers > 0) step = Math.min(step, Math.floor(pool.power / powerUsers));

    if (step >= 1) {
      for (const slot of active) raiseTo(slot, pool, slot.capDa + step);
    } else {
      for (const slot of active) if (room(slot, pool, scratch) >= 1) raiseTo(slot, pool, slot.capDa + 1);
    }

    const next: Slot[] = [];
    for (const slot of active) {
      let done = false;
      if (slot.capDa >= slot.upperDa) {
        slot.binder = BINDER_UPPER;
        done = true;
      } else if (room(slot, pool, scratch) < 1) {
        slot.binder = scratch.binder;
        done = true;
      }
      if (done) {
        for (const c of slot.cons) users[c]--;
        powerUsers -= slot.phases;
      } else {
        next.push(slot);
      }
    }
    active = next;
  }
}
