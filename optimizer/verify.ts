// The last word on safety: recount every (node, phase) and the grid power from the final caps and,
// should anything exceed what was free after reservations, cut caps to 0 in reverse priority until
// it fits. The allocator never needs this; it guards against a future bug in it.
import type { Capacity, Pool } from './site-headroom.ts';
import type { Slot } from './slot.ts';
import { slotPowerWeight } from './phase-map.ts';

function extraOf(slot: Slot): number {
  return Math.max(0, slot.capDa - slot.reservedDa);
}

/**
 * Returns how many caps had to be cut (0 when the allocation was sound). `credit`: what pending
 * decreases will free (landing.ts), which running cars may keep their minimum out of.
 */
export function enforceLimits(capacity: Capacity, cutOrder: readonly Slot[], credit?: Pool): number {
  const allowed = credit ? Float64Array.from(capacity.initial.residual, (r, c) => r + credit.residual[c]) : capacity.initial.residual;
  const allowedPower = capacity.initial.power + (credit ? credit.power : 0);
  const used = new Float64Array(allowed.length);
  let powerUsed = 0;
  for (const slot of cutOrder) {
    const extra = extraOf(slot);
    if (extra === 0) continue;
    const cons = slot.cons;
    for (let k = 0; k < cons.length; k++) used[cons[k]] += extra;
    powerUsed += extra * slotPowerWeight(slot);
  }
  const over = (c: number): boolean => used[c] > Math.max(0, allowed[c]);
  const powerOver = (): boolean => powerUsed > Math.max(0, allowedPower);

  let anyOver = powerOver();
  for (let c = 0; c < used.length && !anyOver; c++) anyOver = over(c);
  if (!anyOver) return 0;

  let cuts = 0;
  for (const slot of cutOrder) {
    const extra = extraOf(slot);
    if (extra === 0) continue;
    let touchesOver = powerOver();
    for (const c of slot.cons) touchesOver ||= over(c);
    if (!touchesOver) continue;
    for (const c of slot.cons) used[c] -= extra;
    powerUsed -= extra * slotPowerWeight(slot);
    slot.capDa = 0;
    slot.heldByDeadband = false;
    cuts++;
  }
  return cuts;
}
