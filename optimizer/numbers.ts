// Number hygiene for the optimizer. Internally every current is a whole number of deci-amps
// (0.1 A, the pilot step chargers accept), so capacities and caps add and subtract exactly.

/** `value` when it is a finite number, else `fallback` (NaN, ±Infinity, undefined, strings...). */
export function finiteOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** Finite and ≥ 0, else 0: measured draws and loads never count negative. */
export function nonNegative(value: unknown): number {
  const n = finiteOr(value, 0);
  return n > 0 ? n : 0;
}

/** Amps to deci-amps, rounding down (capacities, caps). The epsilon absorbs 6.3 * 10 = 62.999... */
export function floorDa(currentA: number): number {
  return Math.floor(currentA * 10 + 1e-6);
}

/** Amps to deci-amps, rounding up (minimums, reservations, measured loads). */
export function ceilDa(currentA: number): number {
  return Math.ceil(currentA * 10 - 1e-6);
}

export function daToA(da: number): number {
  return da / 10;
}

/** "32 A", "12.5 A". */
export function formatA(currentA: number): string {
  return `${Math.round(currentA * 10) / 10} A`;
}

/** "150 kW", "7.4 kW". */
export function formatKw(powerW: number): string {
  return `${Math.round(powerW / 100) / 10} kW`;
}

/** "12 s", "1.5 s". */
export function formatSeconds(durationMs: number): string {
  return `${Math.round(durationMs / 100) / 10} s`;
}
