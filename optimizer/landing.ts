// A lower limit never pauses a car that still fits at its minimum (issue #9, F9). A decrease the
// EMS just made keeps the old cap reserved until the charger confirms it and the car follows
// (the snapshot's reservedA, the control step's cut-latency reservations): right for not handing
// the freed capacity on, wrong as a reason to cut further. With every car at its minimum that
// reservation made the allocator refuse one car its minimum and pause it for minPauseMs although
// the caps fit once the decreases land.
// The landing credit is what those reservations will free: per constraint (and in power), the
// reservation above the cap the EMS last decided, for a connector whose reservation is a cap the
// EMS itself decided lately (online, cut within the landing window). A car that was running at or
// above its minimum may keep its minimum out of that credit (no raise: nothing is handed on); a
// new start or a raise never uses it. If the meter keeps reading above a limit after the cars'
// response, the site view raises the building load by the excess and the pause comes then.
import type { Pool } from './site-headroom.ts';
import type { SiteView } from './site-view.ts';
import type { Slot } from './slot.ts';
import { slotPowerWeight } from './phase-map.ts';

/** Beyond the car response, how long a decrease may take to land (a charger's answer and apply delay), ms. */
const LANDING_SLACK_MS = 15_000;

/** The highest cap decided in [from, to] by the decided-cap history (pairs of time, A). */
function highestDecided(lows: readonly number[], from: number, to: number): number {
  let best = 0;
  for (let i = 0; i < lows.length; i += 2) {
    const start = lows[i];
    const end = i + 2 < lows.length ? lows[i + 2] : Number.POSITIVE_INFINITY;
    if (start > to || end <= from) continue;
    if (lows[i + 1] > best) best = lows[i + 1];
  }
  return best;
}

/** The part of a slot's reservation that is a decrease of the EMS's own on its way, deci-amps. */
export function landingDa(slot: Slot, view: SiteView, atMs: number, carResponseMs: number): number {
  const memory = slot.memory;
  if (!memory || slot.reservedDa <= 0 || slot.connector.online === false) return 0;
  const decidedDa = Math.round(memory.currentA * 10);
  if (slot.reservedDa <= decidedDa) return 0;
  const changedAt = memory.changedAtMs;
  if (!Number.isFinite(changedAt) || atMs - changedAt > carResponseMs + LANDING_SLACK_MS) return 0;
  const lows = view.memories[slot.index]?.lows;
  if (!lows || lows.length < 2) return 0;
  // The reservation is a cap the EMS itself had in force before this decrease.
  const before = highestDecided(lows, atMs - carResponseMs - LANDING_SLACK_MS, changedAt - 1);
  if (Math.round(before * 10) < slot.reservedDa) return 0;
  return slot.reservedDa - decidedDa;
}

/** What the pending decreases will free, per constraint and in power; undefined when none. */
export function landingCredit(slots: readonly Slot[], view: SiteView, atMs: number, carResponseMs: number, constraintCount: number): Pool | undefined {
  let credit: Pool | undefined;
  for (const slot of slots) {
    const da = landingDa(slot, view, atMs, carResponseMs);
    if (da <= 0) continue;
    credit ??= { residual: new Float64Array(constraintCount), power: 0 };
    for (const c of slot.cons) credit.residual[c] += da;
    credit.power += da * slotPowerWeight(slot);
  }
  return credit;
}

/** A session that was running at or above `levelDa` may keep it out of the landing credit. */
export function mayUseLanding(slot: Slot, levelDa: number): boolean {
  return !!slot.session && !!slot.memory && Math.round(slot.memory.currentA * 10) >= levelDa && levelDa > 0;
}
