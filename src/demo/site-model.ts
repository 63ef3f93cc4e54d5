// The physical side of the demo site: building load over the day, PV over the day, a battery
// that shaves peaks and soaks up surplus, and the grid meter that sees the sum. Pure.

export interface SiteModelParams {
  voltageV: number;
  /** Local hour offset (hours to add to UTC) for the daily curves. */
  utcOffsetH: number;
  pvPeakW: number;
  buildingBaseA: number;
  buildingPeakA: number;
  battery: { capacityWh: number; maxPowerW: number; minSocPct: number; maxSocPct: number };
  /** Battery discharges when import would exceed this, W. */
  peakShaveAboveW: number;
}

export interface SiteModelState {
  batterySocPct: number;
  batteryPowerW: number;
}

export interface SiteReading {
  buildingA: [number, number, number];
  pvPowerW: number;
  batteryPowerW: number;
  batterySocPct: number;
  gridCurrentA: [number, number, number];
  gridPowerW: number;
}

const hourOfDay = (atMs: number, offsetH: number) => (((atMs / 3_600_000 + offsetH) % 24) + 24) % 24;

/** Office-like building: low at night, a morning ramp, lunch peak; a little phase imbalance. */
export function buildingLoadA(atMs: number, p: SiteModelParams): [number, number, number] {
  const h = hourOfDay(atMs, p.utcOffsetH);
  const day = h >= 6 && h <= 20 ? Math.sin(((h - 6) / 14) * Math.PI) : 0;
  const wobble = Math.sin(atMs / 97_000) * 2 + Math.sin(atMs / 13_000);
  const base = p.buildingBaseA + (p.buildingPeakA - p.buildingBaseA) * day + wobble;
  return [base * 1.1, base * 0.95, base * 0.9].map((a) => Math.max(0, Math.round(a * 10) / 10)) as [number, number, number];
}

export function pvPowerW(atMs: number, p: SiteModelParams): number {
  const h = hourOfDay(atMs, p.utcOffsetH);
  if (h < 6.5 || h > 19.5) return 0;
  const clouds = 0.85 + 0.15 * Math.sin(atMs / 310_000);
  return Math.round(p.pvPeakW * Math.sin(((h - 6.5) / 13) * Math.PI) * clouds);
}

/** One step of the site: EV draw per site phase in, everything the meters would read out. */
export function stepSite(atMs: number, dtS: number, evA: [number, number, number], state: SiteModelState, p: SiteModelParams): SiteReading {
  const buildingA = buildingLoadA(atMs, p);
  const pvW = pvPowerW(atMs, p);
  const loadW = (buildingA[0] + buildingA[1] + buildingA[2] + evA[0] + evA[1] + evA[2]) * p.voltageV;
  const netW = loadW - pvW;
  const b = p.battery;
  let batteryW = 0;
  if (netW < 0 && state.batterySocPct < b.maxSocPct) batteryW = Math.max(netW, -b.maxPowerW);
  else if (netW > p.peakShaveAboveW && state.batterySocPct > b.minSocPct) batteryW = Math.min(netW - p.peakShaveAboveW, b.maxPowerW);
  state.batteryPowerW = Math.round(batteryW);
  state.batterySocPct = Math.min(100, Math.max(0, state.batterySocPct - (batteryW * dtS) / 3600 / b.capacityWh * 100));
  const perPhaseOffsetA = (pvW + batteryW) / 3 / p.voltageV;
  const gridCurrentA = [0, 1, 2].map((i) => Math.round((buildingA[i]! + evA[i]! - perPhaseOffsetA) * 10) / 10) as [number, number, number];
  return {
    buildingA,
    pvPowerW: pvW,
    batteryPowerW: state.batteryPowerW,
    batterySocPct: Math.round(state.batterySocPct * 10) / 10,
    gridCurrentA,
    gridPowerW: Math.round(netW - batteryW),
  };
}
