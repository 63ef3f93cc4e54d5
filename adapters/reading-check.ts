// Pure: reject readings outside what is physically possible on an EV site, with the reason.
import type { DeviceReading } from './types.ts';

export interface ReadingBounds {
  maxPowerW: number;
  maxCurrentA: number;
  minVoltageV: number;
  maxVoltageV: number;
}

/** Generous bounds: a site connection of up to 10 MW / 10 kA per phase. */
export const DEFAULT_READING_BOUNDS: ReadingBounds = { maxPowerW: 10_000_000, maxCurrentA: 10_000, minVoltageV: 0, maxVoltageV: 1000 };

/** Null when plausible, else why not. */
export function implausibility(reading: DeviceReading, bounds: ReadingBounds = DEFAULT_READING_BOUNDS): string | null {
  const bad = (v: number) => !Number.isFinite(v);
  if (reading.powerW !== undefined && (bad(reading.powerW) || Math.abs(reading.powerW) > bounds.maxPowerW)) {
    return `power ${reading.powerW} W is outside ±${bounds.maxPowerW} W`;
  }
  if (reading.socPct !== undefined && (bad(reading.socPct) || reading.socPct < 0 || reading.socPct > 100)) {
    return `state of charge ${reading.socPct} % is outside 0..100 %`;
  }
  for (const [i, a] of (reading.currentA ?? []).entries()) {
    if (bad(a) || Math.abs(a) > bounds.maxCurrentA) return `L${i + 1} current ${a} A is outside ±${bounds.maxCurrentA} A`;
  }
  for (const [i, v] of (reading.voltageV ?? []).entries()) {
    if (bad(v) || v < bounds.minVoltageV || v > bounds.maxVoltageV) return `L${i + 1} voltage ${v} V is outside ${bounds.minVoltageV}..${bounds.maxVoltageV} V`;
  }
  for (const key of ['energyImportWh', 'energyExportWh'] as const) {
    const e = reading[key];
    if (e !== undefined && (bad(e) || e < 0)) return `${key} ${e} is negative or not a number`;
  }
  return null;
}

/** How far beyond the site's own largest fuse a reading may go before it is taken for nonsense. */
export const SITE_BOUNDS_FACTOR = 4;

/**
 * Bounds derived from the site: a current above 4× the largest fuse (main or circuit) cannot flow
 * without tripping it, so it is a wrong reading (a bad scale factor, a register map that moved),
 * not a measurement. Power likewise on three phases at the site voltage.
 */
export function siteReadingBounds(site: { largestFuseA: number; voltageV: number }): ReadingBounds {
  const maxCurrentA = Math.max(1, site.largestFuseA) * SITE_BOUNDS_FACTOR;
  return { maxPowerW: maxCurrentA * 3 * site.voltageV, maxCurrentA, minVoltageV: 0, maxVoltageV: 1000 };
}
