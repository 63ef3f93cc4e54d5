// Guarantee 6, the slow side of the cap hysteresis: a cap is raised only as far as it would still
// fit if the non-EV load came back to its peak of the last capHoldMs. The building estimate falls
// once its high readings age out (site-view.ts), and an increase made in such a dip would be taken
// back at the next high reading a few seconds later: a flap. Decreases are never delayed here (the
// pool itself holds the current estimate); this only ever lowers an increase, never below the
// previous cap, so every limit still holds.
import type { Capacity, Pool } from './site-headroom.ts';
import type { Slot } from './slot.ts';
import { raiseTo } from './allocate.ts';
import { slotPowerWeight } from './phase-map.ts';

/** Numbers per entry in the peaks memory: [peak, peakSinceMs, next, nextSinceMs]. */
export const PEAK_STRIDE = 4;

/**
 * The recent peak per constraint (non-EV load, deci-amps) and of the non-EV import power (W), as
 * flat records of PEAK_STRIDE numbers, constraints first, then power: the peak and its time, and
 * the highest value seen after it (and its time; the peak's own time when none yet), which takes
 * over once the peak is capHoldMs old.
 * Either way the remembered peak is never below the highest value of the last capHoldMs.
 */
export function nextPeaks(previous: readonly number[] | undefined, capacity: Capacity, atMs: number, holdMs: number): number[] {
  const now = capacity.buildingDa;
  const count = now.length + 1;
  const usable = previous && previous.length === PEAK_STRIDE * count && previous.every(Number.isFinite) ? previous : undefined;
  const out = new Array<number>(PEAK_STRIDE * count);
  for (let i = 0; i < count; i++) {
    const value = i < now.length ? now[i] : capacity.buildingPowerW;
    const k = PEAK_STRIDE * i;
    let peak = value;
    let peakAt = atMs;
    let next = value;
    let nextAt = atMs;
    if (usable && usable[k + 1] <= atMs && usable[k + 3] <= atMs) {
      peak = usable[k];
      peakAt = usable[k + 1];
      next = usable[k + 2];
      nextAt = usable[k + 3];
      if (atMs - peakAt >= holdMs) {
        // The peak has aged out: the highest value after it takes over.
        peak = next;
        peakAt = nextAt;
        next = value;
        nextAt = atMs;
      }
      if (value >= peak) {
        peak = next = value;
        peakAt = nextAt = atMs;
      } else if (value >= next || nextAt === peakAt || atMs - nextAt >= holdMs) {
        // (next taken at the peak's own time is the peak itself: nothing seen after it yet)
        next = value;
        nextAt = atMs;
      }
    }
    out[k] = peak;
    out[k + 1] = peakAt;
    out[k + 2] = next;
    out[k + 3] = nextAt;
  }
  return out;
}

function previousDa(slot: Slot): number {
  return slot.memory ? Math.round(slot.memory.currentA * 10) : 0;
}

/**
 * Trims the increases of running sessions (caps above last cycle's, which was > 0), in reverse
 * priority, until they would fit with the non-EV load at its recent peak; never below last cycle's
 * cap. `peaks` from nextPeaks() for this cycle. Returns how many increases were trimmed.
 */
export function trimUnsustainedRaises(cutOrder: readonly Slot[], pool: Pool, capacity: Capacity, peaks: readonly number[], voltageV: number): number {
  const now = capacity.buildingDa;
  const extra = new Float64Array(now.length);
  let any = false;
  for (let c = 0; c < now.length; c++) {
    extra[c] = Math.max(0, peaks[PEAK_STRIDE * c] - now[c]);
    if (extra[c] > 0) any = true;
  }
  const powerExtraW = Math.max(0, peaks[PEAK_STRIDE * now.length] - capacity.buildingPowerW);
  const powerExtra = voltageV > 0 && Number.isFinite(pool.power) ? Math.ceil((powerExtraW / voltageV) * 10) : 0;
  if (!any && powerExtra <= 0) return 0;
  let trimmed = 0;
  for (const slot of cutOrder) {
    // A planner target moves in its own slots and a car must reach its departure: not trimmed.
    if (!slot.session || !slot.memory || slot.upperKind === 'plan') continue;
    const before = previousDa(slot);
    if (before <= 0 || slot.capDa <= before) continue;
    let over = Math.max(0, powerExtra - pool.power) / slotPowerWeight(slot);
    for (const c of slot.cons) over = Math.max(over, extra[c] - pool.residual[c]);
    over = Math.ceil(over - 1e-9);
    if (over <= 0) continue;
    let target = Math.max(before, slot.capDa - over);
    if (target < slot.minDa) target = before;
    if (target >= slot.capDa) continue;
    raiseTo(slot, pool, target);
    slot.heldForPeak = true;
    trimmed++;
  }
  return trimmed;
}
