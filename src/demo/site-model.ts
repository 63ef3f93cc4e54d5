// The physical side of the demo site: building load over the day, PV over the day, a battery
// that follows the EMS's setpoint while one is in force (else shaves peaks and soaks up surplus on
// its own), PV that obeys a curtailment limit, and the grid meter that sees the sum. Pure.

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
  /**
   * A written setpoint or PV limit is in force this long after it was written, unless it came with
   * its own revert timer (the EMS rewrites them periodically; real devices revert on a timer), then
   * the devices fall back to their own rules. Default 90 s.
   */
  setpointHoldMs?: number;
}

/** What the EMS last wrote to the simulated devices, and when (simulation time). */
export interface SiteSetpoints {
  /** + discharge / − charge, W. */
  batteryPowerW?: number;
  batterySetAtMs?: number;
  /** PV active power limit, W; undefined = not curtailed. */
  pvLimitW?: number;
  pvLimitSetAtMs?: number;
  /** Revert timers the EMS wrote with them, ms: they replace `setpointHoldMs` when set. */
  batteryHoldMs?: number;
  pvLimitHoldMs?: number;
}

export const DEFAULT_SETPOINT_HOLD_MS = 90_000;

export interface SiteModelState {
  batterySocPct: number;
  batteryPowerW: number;
}

export interface SiteReading {
  buildingA: [number, number, number];
  pvPowerW: number;
  batteryPowerW: number;
  batterySocPct: number;
  /** Who decided the battery power: a setpoint from the EMS in force, or the battery's own rule. */
  batteryMode: 'ems' | 'self';
  /** PV held under an EMS limit (W it could have produced beyond it); 0 when not curtailed. */
  pvCurtailedW: number;
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

const inForce = (value: number | undefined, setAtMs: number | undefined, holdMs: number | undefined, atMs: number, p: SiteModelParams): value is number =>
  value !== undefined && setAtMs !== undefined && atMs - setAtMs <= (holdMs || p.setpointHoldMs || DEFAULT_SETPOINT_HOLD_MS);

/** The battery's own rule: soak up surplus, shave import above `peakShaveAboveW`. */
function selfConsumptionW(netW: number, socPct: number, p: SiteModelParams): number {
  const b = p.battery;
  if (netW < 0 && socPct < b.maxSocPct) return Math.max(netW, -b.maxPowerW);
  if (netW > p.peakShaveAboveW && socPct > b.minSocPct) return Math.min(netW - p.peakShaveAboveW, b.maxPowerW);
  return 0;
}

/** A commanded battery power within the inverter's power and the SoC window (no discharge at the floor, no charge at the top). */
export function batteryFollowW(setpointW: number, socPct: number, p: SiteModelParams): number {
  const b = p.battery;
  const w = Math.min(b.maxPowerW, Math.max(-b.maxPowerW, setpointW));
  if (w > 0 && socPct <= b.minSocPct) return 0;
  if (w < 0 && socPct >= b.maxSocPct) return 0;
  return w;
}

/**
 * One step of the site: EV draw per site phase in, everything the meters would read out. The
 * battery follows `setpoints.batteryPowerW` and PV stays under `setpoints.pvLimitW` while they are
 * in force (see `setpointHoldMs`).
 */
export function stepSite(
  atMs: number,
  dtS: number,
  evA: [number, number, number],
  state: SiteModelState,
  p: SiteModelParams,
  setpoints: SiteSetpoints = {},
): SiteReading {
  const buildingA = buildingLoadA(atMs, p);
  const availablePvW = pvPowerW(atMs, p);
  const pvW = inForce(setpoints.pvLimitW, setpoints.pvLimitSetAtMs, setpoints.pvLimitHoldMs, atMs, p) ? Math.min(availablePvW, Math.max(0, Math.round(setpoints.pvLimitW))) : availablePvW;
  const loadW = (buildingA[0] + buildingA[1] + buildingA[2] + evA[0] + evA[1] + evA[2]) * p.voltageV;
  const netW = loadW - pvW;
  const b = p.battery;
  const following = inForce(setpoints.batteryPowerW, setpoints.batterySetAtMs, setpoints.batteryHoldMs, atMs, p);
  const batteryW = following ? batteryFollowW(setpoints.batteryPowerW!, state.batterySocPct, p) : selfConsumptionW(netW, state.batterySocPct, p);
  state.batteryPowerW = Math.round(batteryW);
  state.batterySocPct = Math.min(100, Math.max(0, state.batterySocPct - (batteryW * dtS) / 3600 / b.capacityWh * 100));
  const perPhaseOffsetA = (pvW + batteryW) / 3 / p.voltageV;
  const gridCurrentA = [0, 1, 2].map((i) => Math.round((buildingA[i]! + evA[i]! - perPhaseOffsetA) * 10) / 10) as [number, number, number];
  return {
    buildingA,
    pvPowerW: pvW,
    batteryPowerW: state.batteryPowerW,
    batterySocPct: Math.round(state.batterySocPct * 10) / 10,
    batteryMode: following ? 'ems' : 'self',
    pvCurtailedW: availablePvW - pvW,
    gridCurrentA,
    gridPowerW: Math.round(netW - batteryW),
  };
}
