// Guarantee 4: capacity a car does not use goes to others. A car that has drawn clearly less than
// its cap for unusedHoldMs keeps only its draw plus a ramp reserve (never below its minimum).
import type { ConnectorMemory, DecideParams } from './types.ts';
import { nonNegative } from './numbers.ts';

export interface UnderDraw {
  /** Since when the car has drawn clearly less than its cap; undefined when it has not. */
  sinceMs: number | undefined;
  /** True when the hold time has passed: the share may shrink to draw + ramp reserve. */
  lend: boolean;
}

/**
 * `drawA` is the car's fresh measured draw (highest phase), or undefined when there is none: no
 * fresh measurement, no lending. While lending, the car counts as still under-drawing until it
 * eats into half of its ramp reserve; otherwise a steady draw would flip lending on and off.
 */
export function underDraw(
  memory: ConnectorMemory | undefined,
  drawA: number | undefined,
  atMs: number,
  params: Pick<DecideParams, 'rampReserveA' | 'unusedHoldMs'>,
): UnderDraw {
  const previousCapA = memory?.currentA ?? 0;
  if (drawA === undefined || !(previousCapA > 0)) return { sinceMs: undefined, lend: false };
  const reserveA = nonNegative(params.rampReserveA);
  const slackA = memory?.lending ? reserveA / 2 : reserveA;
  if (!(drawA < previousCapA - slackA)) return { sinceMs: undefined, lend: false };
  const since = memory?.underDrawSinceMs;
  const sinceMs = since !== undefined && Number.isFinite(since) && since <= atMs ? since : atMs;
  return { sinceMs, lend: atMs - sinceMs >= nonNegative(params.unusedHoldMs) };
}
