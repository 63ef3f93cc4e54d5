/**
 * Rounds down to a multiple of 0.1, the resolution of every OCPP charging limit (the schema says
 * `multipleOf: 0.1`). Float-safe: 2.3 stays 2.3 (2.3 * 10 is 22.999...), 16.05 becomes 16, and the
 * result is the double closest to n / 10, so it never reads as 16.049999. Negative and non-finite
 * input gives 0.
 */
export function floorToTenth(value: number): number {
  if (!Number.isFinite(value) || value <= 0) return 0;
  const tenths = Math.floor(value * 10 + 1e-7);
  return tenths / 10;
}
