/**
 * Rounds down to a multiple of 0.1, the resolution of every OCPP charging limit (the schema says
 * `multipleOf: 0.1`). Float-safe both ways: 2.3 stays 2.3 (although 2.3 * 10 is 22.999...), 16.05
 * becomes 16, the result is never above the input, and it is the double closest to k / 10, so it
 * reads as one decimal on the wire. Negative and non-finite input gives 0.
 */
export function floorToTenth(value: number): number {
  if (!Number.isFinite(value) || value <= 0) return 0;
  let tenths = Math.round(value * 10);
  while (tenths > 0 && tenths / 10 > value) tenths--;
  return tenths / 10;
}
