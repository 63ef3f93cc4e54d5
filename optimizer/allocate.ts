// Greedy allocation over the fuse tree: minimums first in priority order, then the rest filled in
// priority order (or evenly). Every step checks the residual of each (node, phase) on the
// connector's path and the grid power residual, so the result never exceeds a limit.
import type { Pool } from './site-headroom.ts';
import type { PriorityScheme } from './types.ts';
import type { Slot } from './slot.ts';
import { BINDER_POWER, BINDER_UPPER } from './slot.ts';
import { LevelQueue } from './level-queue.ts';
import { slotPowerWeight } from './phase-map.ts';
import { mayUseLanding } from './landing.ts';

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
  const power = Math.floor(pool.power / slotPowerWeight(slot));
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

/** As reach(), with what pending decreases will free added to the pool (landing.ts). */
function reachOnceLanded(slot: Slot, pool: Pool, credit: Pool, out: Tightest): number {
  const landed: Pool = { residual: Float64Array.from(pool.residual, (r, c) => r + credit.residual[c]), power: pool.power + credit.power };
  return reach(slot, landed, out);
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
  pool.power -= cost * slotPowerWeight(slot);
}

/**
 * Gives each slot, in order, `levelDa(slot)` if it fits; a slot where it does not fit stays at 0
 * and is marked refused with the constraint that refused it. Used for minimums and the failsafe.
 * With a landing `credit` (landing.ts), a session that was running at or above the level keeps it
 * if it fits once the pending decreases have landed (the pool may then go below 0 by at most the
 * credit, so nothing is raised into it afterwards).
 */
export function admit(order: readonly Slot[], pool: Pool, levelDa: (slot: Slot) => number, credit?: Pool): void {
  const scratch: Tightest = { binder: BINDER_UPPER };
  for (const slot of order) {
    const level = levelDa(slot);
    if (level <= 0 || slot.upperDa < level) continue;
    const fits = reach(slot, pool, scratch) >= level || (credit !== undefined && mayUseLanding(slot, level) && reachOnceLanded(slot, pool, credit, scratch) >= level);
    if (fits) {
      raiseTo(slot, pool, level);
    } else {
      slot.refused = true;
      slot.binder = scratch.binder;
    }
  }
}

/**
 * Sessions in priority order share the pool. Every scheme but `tier`: minimums to as many as fit in
 * priority order, then the rest filled in order (`equal`: evenly). `tier` is strict: a tier is
 * admitted and filled to its bounds (the plan's targets, the cars' max) before the next tier down
 * gets anything, so a lower tier's minimum never takes what a higher tier could use.
 */
export function allocateSessions(order: readonly Slot[], pool: Pool, scheme: PriorityScheme, credit?: Pool): void {
  if (scheme !== 'tier') {
    admit(order, pool, (slot) => slot.minDa, credit);
    if (scheme === 'equal') fillEqually(order, pool);
    else fillInOrder(order, pool);
    return;
  }
  let start = 0;
  while (start < order.length) {
    const tier = order[start].session?.tierRank;
    let end = start + 1;
    while (end < order.length && order[end].session?.tierRank === tier) end++;
    const group = order.slice(start, end);
    admit(group, pool, (slot) => slot.minDa, credit);
    fillInOrder(group, pool);
    start = end;
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
 * Even fill (water-filling): every admitted slot rises by the same amount until a constraint on
 * its path is full or it reaches its upper bound. Capacity below a slot's reservation is free, so
 * each slot first takes that. Event-driven: the common level only moves to the next event (a slot
 * reaching its bound, a constraint running out), so the cost is O(slots × depth × log) however
 * many distinct bounds there are. Levels are whole deci-amps; when a constraint cannot give all
 * its users one more, the last odd deci-amps go in priority order.
 */
export function fillEqually(order: readonly Slot[], pool: Pool): void {
  // (Indexed loops over the constraint lists: for-of over a typed array costs several times more.)
  const active: Slot[] = [];
  for (const slot of order) {
    if (slot.capDa <= 0) continue;
    const free = Math.min(slot.upperDa, slot.reservedDa);
    if (free > slot.capDa) raiseTo(slot, pool, free);
    if (slot.capDa < slot.upperDa) active.push(slot);
    else slot.binder = BINDER_UPPER;
  }
  if (active.length === 0) return;

  const constraintCount = pool.residual.length;
  const POWER = constraintCount; // the grid power residual, weighted by phases
  const res = new Float64Array(constraintCount + 1);
  res.set(pool.residual);
  res[POWER] = pool.power;
  const users = new Float64Array(constraintCount + 1); // active slots on each constraint (on the grid power: their phase weights)
  const since = new Float64Array(constraintCount + 1); // level at which res[c] was last brought current

  const n = active.length;
  const start = new Float64Array(n);
  const extra = new Float64Array(n);
  const frozen = new Uint8Array(n);
  const members = membersOf(active, constraintCount);
  for (let c = 0; c < constraintCount; c++) users[c] = members.start[c + 1] - members.start[c];
  for (let i = 0; i < n; i++) {
    const slot = active[i];
    start[i] = slot.capDa;
    users[POWER] += slotPowerWeight(slot);
  }

  let level = 0;
  const queue = new LevelQueue();
  const bring = (c: number): void => {
    if (users[c] > 0 && since[c] < level) res[c] -= users[c] * (level - since[c]);
    since[c] = level;
  };
  // When c runs out at the current rates. Users only leave between events, which moves this
  // later; a popped entry is re-checked and pushed again, so freezing never touches the queue.
  const runsOutAt = (c: number): number => since[c] + Math.max(0, Math.floor(res[c] / users[c]));
  const schedule = (c: number): void => {
    if (users[c] <= 0) return;
    const at = runsOutAt(c);
    if (Number.isFinite(at)) queue.push(at, c);
  };
  const freeze = (i: number, binder: number): void => {
    const slot = active[i];
    frozen[i] = 1;
    slot.capDa = start[i] + level + extra[i];
    slot.binder = binder;
    const cons = slot.cons;
    for (let k = 0; k < cons.length; k++) {
      bring(cons[k]);
      users[cons[k]]--;
    }
    bring(POWER);
    users[POWER] -= slotPowerWeight(slot);
  };
  // Room of an active slot at the current level, in deci-amps per phase; sets tightest.binder.
  const tightest: Tightest = { binder: BINDER_UPPER };
  const roomAt = (i: number): number => {
    const slot = active[i];
    let least = Number.POSITIVE_INFINITY;
    const cons = slot.cons;
    for (let k = 0; k < cons.length; k++) {
      const d = cons[k];
      bring(d);
      if (res[d] < least) {
        least = res[d];
        tightest.binder = d;
      }
    }
    bring(POWER);
    const power = Math.floor(res[POWER] / slotPowerWeight(slot));
    if (power < least) {
      least = power;
      tightest.binder = BINDER_POWER;
    }
    return least;
  };
  for (const c of members.constraints) schedule(c);

  const byGap = byGapThenPriority(active, start);
  let next = 0;
  for (;;) {
    while (next < n && frozen[byGap[next]]) next++;
    // Drop constraints nobody uses any more; push back those that now run out later.
    while (queue.size > 0) {
      const c = queue.peekId();
      if (users[c] <= 0) {
        queue.pop();
        continue;
      }
      const at = runsOutAt(c);
      if (at === queue.peekLevel()) break;
      queue.pop();
      if (Number.isFinite(at)) queue.push(at, c);
    }
    const gapLevel = next < n ? active[byGap[next]].upperDa - start[byGap[next]] : Number.POSITIVE_INFINITY;
    const constraintLevel = queue.peekLevel();
    if (gapLevel === Number.POSITIVE_INFINITY && constraintLevel === Number.POSITIVE_INFINITY) break;

    if (gapLevel <= constraintLevel) {
      level = Math.max(level, gapLevel);
      freeze(byGap[next], BINDER_UPPER);
      continue;
    }

    const c = queue.peekId();
    queue.pop();
    level = Math.max(level, constraintLevel);
    bring(c);
    const first = members.start[c];
    const end = members.start[c + 1];
    // c cannot give all its users one more step: the odd deci-amps go in priority order, then
    // whoever is now blocked (by c or by another constraint) stops; the others rise on.
    for (let m = first; m < end; m++) {
      const i = members.slots[m];
      if (frozen[i] || start[i] + level + extra[i] >= active[i].upperDa) continue;
      if (roomAt(i) < 1) continue;
      const slot = active[i];
      extra[i]++;
      const cons = slot.cons;
      for (let k = 0; k < cons.length; k++) {
        const d = cons[k];
        res[d] -= 1;
        if (d !== c) schedule(d);
      }
      res[POWER] -= slotPowerWeight(slot);
      if (c !== POWER) schedule(POWER);
    }
    for (let m = first; m < end; m++) {
      const i = members.slots[m];
      if (frozen[i]) continue;
      if (start[i] + level + extra[i] >= active[i].upperDa) freeze(i, BINDER_UPPER);
      else if (roomAt(i) < 1) freeze(i, tightest.binder);
    }
    schedule(c);
  }

  pool.residual.set(res.subarray(0, constraintCount));
  pool.power = res[POWER];
}

/** Which active slots load each constraint, in priority order (constraint `count` is the grid power). */
interface Members {
  /** Slot positions of constraint c: slots[start[c]] up to slots[start[c + 1]]. */
  start: Int32Array;
  slots: Int32Array;
  /** The constraints with a member, in the order first met walking the slots (where the events start from). */
  constraints: number[];
}

function membersOf(active: readonly Slot[], count: number): Members {
  const power = count;
  const start = new Int32Array(count + 2);
  const constraints: number[] = [];
  // Count the members of each constraint (in start[c + 1]), noting each constraint when first met.
  for (let i = 0; i < active.length; i++) {
    const cons = active[i].cons;
    for (let k = 0; k < cons.length; k++) if (start[cons[k] + 1]++ === 0) constraints.push(cons[k]);
    if (start[power + 1]++ === 0) constraints.push(power);
  }
  for (let c = 0; c <= count; c++) start[c + 1] += start[c];
  const slots = new Int32Array(start[count + 1]);
  const filled = start.slice(0, count + 1);
  for (let i = 0; i < active.length; i++) {
    const cons = active[i].cons;
    for (let k = 0; k < cons.length; k++) slots[filled[cons[k]]++] = i;
    slots[filled[power]++] = i;
  }
  return { start, slots, constraints };
}

/**
 * Positions of `active` by the room below their upper bound (upperDa − start), least first, ties in
 * priority order. Whole deci-amps (as every bound is) sort as one number each, gap × n + position,
 * without a comparator; anything else sorts with one.
 */
function byGapThenPriority(active: readonly Slot[], start: Float64Array): Int32Array {
  const n = active.length;
  const keys = new Float64Array(n);
  let whole = true;
  for (let i = 0; i < n; i++) {
    const gap = active[i].upperDa - start[i];
    keys[i] = gap * n + i;
    if (!Number.isInteger(gap) || gap < 0 || !Number.isSafeInteger(keys[i])) whole = false;
  }
  const positions = new Int32Array(n);
  if (!whole) {
    for (let i = 0; i < n; i++) positions[i] = i;
    return positions.sort((a, b) => active[a].upperDa - start[a] - (active[b].upperDa - start[b]) || a - b);
  }
  keys.sort();
  for (let i = 0; i < n; i++) positions[i] = keys[i] % n;
  return positions;
}

/**
 * Cars seen drawing whole amps draw floor(cap): a cap of 14.6 A gives 14 A and 0.6 A nobody uses.
 * Their caps go down to the whole amp (never below the minimum), then, in priority order, up by
 * whole amps while every constraint on their path has the room; what is left goes to the cars that
 * follow fractions (in priority order). Only lowers and room-checked raises: no limit is exceeded.
 */
export function roundToWholeAmps(order: readonly Slot[], pool: Pool): void {
  let whole = 0;
  for (const slot of order) {
    if (!slot.session?.wholeAmps || slot.capDa <= 0) continue;
    const down = Math.floor(slot.capDa / 10) * 10;
    if (down >= slot.minDa && down < slot.capDa) raiseTo(slot, pool, down);
    whole++;
  }
  if (whole === 0) return;
  const scratch: Tightest = { binder: BINDER_UPPER };
  for (const slot of order) {
    if (!slot.session?.wholeAmps || slot.capDa <= 0 || slot.capDa % 10 !== 0) continue;
    if (slot.capDa + 10 <= slot.upperDa && reach(slot, pool, scratch) >= slot.capDa + 10) raiseTo(slot, pool, slot.capDa + 10);
  }
  fillInOrder(
    order.filter((slot) => !slot.session?.wholeAmps),
    pool,
  );
}
