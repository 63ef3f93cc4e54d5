// A decrease reaches the car before the capacity it frees is handed on (DESIGN.md, closed loop).
// A car whose cap went down may still draw its old cap until it follows (measured, or
// carResponseMs): the site view's holdA. The allocation itself ignores these holds, so a car in
// the middle of a decrease can be cut further at once; afterwards this pass takes back the
// *increases* (caps above last cycle's) that would only fit if the held cars had already slowed
// down, in reverse priority, down to last cycle's cap. Only ever lowers caps.
import type { Capacity } from './site-headroom.ts';
import type { Slot } from './slot.ts';

function previousDa(slot: Slot): number {
  return slot.memory ? Math.round(slot.memory.currentA * 10) : 0;
}

/** What a slot may draw during the handover, deci-amps: its cap, its reservation, its hold. */
function countedDa(slot: Slot): number {
  return Math.max(slot.capDa, slot.reservedDa, slot.holdDa);
}

/** Returns how many increases were held back. */
export function waitForHandover(capacity: Capacity, slots: readonly Slot[], cutOrder: readonly Slot[]): number {
  let anyHold = false;
  for (const slot of slots) if (slot.holdDa > Math.max(slot.capDa, slot.reservedDa)) anyHold = true;
  if (!anyHold) return 0;

  // Free room per constraint and in power before any EV (limit less margin less building).
  const base = capacity.base;
  const used = new Float64Array(base.residual.length);
  let powerUsed = 0;
  for (const slot of slots) {
    const da = countedDa(slot);
    if (da <= 0) continue;
    for (const c of slot.cons) used[c] += da;
    powerUsed += da * slot.phases;
  }
  const overAt = (c: number): number => used[c] - Math.max(0, base.residual[c]);
  const powerOver = (): number => powerUsed - Math.max(0, base.power);

  let held = 0;
  for (const slot of cutOrder) {
    const before = previousDa(slot);
    if (slot.capDa <= before) continue;
    let over = powerOver() / slot.phases;
    for (const c of slot.cons) over = Math.max(over, overAt(c));
    if (over <= 0) continue;
    const from = countedDa(slot);
    let target = Math.max(before, slot.capDa - Math.ceil(over));
    if (target > 0 && target < slot.minDa) target = before >= slot.minDa ? before : 0;
    slot.capDa = target;
    slot.heldForHandover = true;
    slot.heldByDeadband = false;
    const delta = from - countedDa(slot);
    if (delta > 0) {
      for (const c of slot.cons) used[c] -= delta;
      powerUsed -= delta * slot.phases;
    }
    held++;
  }
  return held;
}
