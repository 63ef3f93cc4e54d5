// Guarantee 4: capacity a car does not use goes to others. A car that has drawn clearly less than
// its cap for unusedHoldMs keeps only its draw plus a ramp reserve (never below its minimum). So
// does, sooner, a car whose draw is settled: sampled once its cap has had time to reach it (the
// charger applies it, the car responds and ramps up to it even at a slow ramp) and still clearly
// below it. Lending early is never a safety matter (the lender is capped lower, nobody higher than
// the limits allow); a car that was in fact still ramping reaches its reserve and gets its share
// back. With the cap hysteresis (hysteresis.ts) the lent part only moves when another car needs it.
import type { ConnectorMemory, DecideParams } from './types.ts';
import { nonNegative } from './numbers.ts';

/** A charger may take this long to apply a new cap (plant.md: usually at once, up to a few seconds), ms. */
const APPLY_MS = 5_000;
/** The slowest ramp a car is expected to make towards its cap (plant.md: 5–30 A/s), A/s. */
const SLOW_RAMP_APS = 5;

export interface UnderDraw {
  /** Since when the car has drawn clearly less than its cap; undefined when it has not. */
  sinceMs: number | undefined;
  /** True when the hold time has passed: the share may shrink to draw + ramp reserve. */
  lend: boolean;
  /** A lender with no fresh sample: it keeps the cap it has (no raise) until one comes. */
  keep?: boolean;
}

/** Not under-drawing (one object: most cars most cycles). */
const NOT_UNDER: UnderDraw = Object.freeze({ sinceMs: undefined, lend: false });

/**
 * `drawA` is the car's fresh measured draw (highest phase), or undefined when there is none: no
 * fresh measurement, no lending (a car already lending without a planner target keeps its cap,
 * `keep`, until its next sample says whether it still under-draws). While lending, the car counts as still under-drawing until it
 * eats into half of its ramp reserve; otherwise a steady draw would flip lending on and off.
 */
export function underDraw(
  memory: ConnectorMemory | undefined,
  drawA: number | undefined,
  atMs: number,
  params: Pick<DecideParams, 'rampReserveA' | 'unusedHoldMs' | 'carResponseMs'>,
  drawAtMs?: number,
  planned = false,
): UnderDraw {
  const previousCapA = memory?.currentA ?? 0;
  // A lender whose sample went stale (a charger reporting rarely, a lost MeterValues) is not handed
  // its share back at once: the borrower would be cut, and raised again at the lender's next sample.
  if (drawA === undefined && memory?.lending && !planned && previousCapA > 0) return { sinceMs: memory.underDrawSinceMs, lend: false, keep: true };
  if (drawA === undefined || !(previousCapA > 0)) return NOT_UNDER;
  const reserveA = nonNegative(params.rampReserveA);
  const slackA = memory?.lending ? reserveA / 2 : reserveA;
  if (!(drawA < previousCapA - slackA)) return NOT_UNDER;
  const since = memory?.underDrawSinceMs;
  const sinceMs = since !== undefined && Number.isFinite(since) && since <= atMs ? since : atMs;
  if (atMs - sinceMs >= nonNegative(params.unusedHoldMs)) return { sinceMs, lend: true };
  // A car that lends goes on lending while it keeps under-drawing (the half reserve above ends it):
  // its cap went down to lend, so no sample can be settled under that change yet, and judging it so
  // handed the share back one cycle later, to lend it again at the next settled sample. Not a car
  // with a planner target: the plan's ceilings already follow its draw (plan-ceilings.ts), and
  // on the plant hub lending that lasted cost tapering planned cars their share (docs/closed-loop.md).
  if (memory?.lending && !planned) return { sinceMs, lend: true };
  return { sinceMs, lend: settled(memory!, drawAtMs, params) };
}

/** True when the draw was sampled long enough after the cap was set that the car had time to reach it. */
function settled(memory: ConnectorMemory, drawAtMs: number | undefined, params: Pick<DecideParams, 'carResponseMs'>): boolean {
  if (drawAtMs === undefined || !Number.isFinite(drawAtMs)) return false;
  // The ramp runs from the cap's last raise: a decrease since (`rampFromMs`, see nextMemory) makes
  // no car draw clearly less than the lower cap (a car above it comes down to it, not below), so it
  // starts no new wait. Restarting the wait at every small cut kept a car that drew 10 A under a
  // 14 A cap from lending for 35 s (property 1/2).
  const ramp = memory.rampFromMs;
  const from = ramp !== undefined && Number.isFinite(ramp) && ramp <= memory.changedAtMs ? ramp : memory.changedAtMs;
  return Number.isFinite(from) && drawAtMs - from >= settleAfterChangeMs(memory.currentA, params);
}

/** How long after a cap of `capA` was set a sample shows the car's settled draw under it, ms. */
function settleAfterChangeMs(capA: number, params: Pick<DecideParams, 'carResponseMs'>): number {
  const responseMs = nonNegative(params.carResponseMs ?? 5_000);
  return APPLY_MS + responseMs + (nonNegative(capA) / SLOW_RAMP_APS) * 1000;
}

/**
 * The earliest time a sample of the car shows its settled draw under the cap in `memory` (the
 * charger applied it, the car responded and could have ramped to it): a sample from then on lets
 * its unused part be lent at once. src/ocpp asks a charger that reports rarely for one then (after
 * every change: a decrease keeps older samples usable, see settled(), but a newer one says more).
 */
export function settledFromMs(memory: Pick<ConnectorMemory, 'currentA' | 'changedAtMs'>, params: Pick<DecideParams, 'carResponseMs'>): number {
  return memory.changedAtMs + settleAfterChangeMs(memory.currentA, params);
}
