import type { PlantBattery, PlantLoad, PlantPv, Triple } from './types.ts';

/** A reproducible value in [0, 1) for (seed, a, b): noise that does not depend on call order. */
export function hashUnit(seed: number, a: number, b: number): number {
  let h = (seed ^ Math.imul(a + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

export const hourOfDay = (wallMs: number, utcOffsetH: number): number => (((wallMs / 3_600_000 + utcOffsetH) % 24) + 24) % 24;

/** The non-EV load of one entry at plant time `atMs`, A per site phase. */
export function loadA(load: PlantLoad, index: number, seed: number, atMs: number, wallMs: number, utcOffsetH: number): Triple {
  const steps = load.steps ?? [];
  const k = lastAtOrBefore(steps, atMs);
  const current: Triple = k < 0 ? load.baseA : steps[k]!.currentA;
  const result: Triple = [current[0], current[1], current[2]];
  if (load.dailyPeakA) {
    const h = hourOfDay(wallMs, utcOffsetH);
    const day = h >= 6 && h <= 20 ? Math.sin(((h - 6) / 14) * Math.PI) : 0;
    for (let p = 0; p < 3; p++) result[p] += load.dailyPeakA[p]! * day;
  }
  if (load.noiseA) {
    const k = Math.floor(atMs / (load.noisePeriodMs ?? 5_000));
    for (let p = 0; p < 3; p++) result[p] += (hashUnit(seed, index * 3 + p, k) * 2 - 1) * load.noiseA;
  }
  return result.map((a) => Math.max(0, a)) as Triple;
}

/** Index of the last entry with atMs ≤ `atMs` in a list sorted by atMs (-1: none). Binary search: long replays carry thousands of steps. */
export function lastAtOrBefore(list: readonly { atMs: number }[], atMs: number): number {
  let lo = 0;
  let hi = list.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.atMs <= atMs) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** PV the panels could produce now, W (before any curtailment): the recorded curve where given, else the daily sine with clouds. */
export function pvAvailableW(pv: PlantPv, seed: number, wallMs: number, utcOffsetH: number, atMs?: number): number {
  if (pv.curve && atMs !== undefined) {
    const k = lastAtOrBefore(pv.curve, atMs);
    return k < 0 ? 0 : Math.max(0, pv.curve[k]!.powerW);
  }
  const h = hourOfDay(wallMs, utcOffsetH);
  if (h < 6.5 || h > 19.5) return 0;
  const k = Math.floor(wallMs / 20_000);
  const cloud = pv.cloudDepth ? pv.cloudDepth * hashUnit(seed, 991, k) : 0;
  return Math.max(0, pv.peakW * Math.sin(((h - 6.5) / 13) * Math.PI) * (1 - cloud));
}

export const DEFAULT_SETPOINT_HOLD_MS = 90_000;

/** What the EMS last wrote to the battery and PV inverter (plant time). */
export interface DeviceSetpoints {
  /** + discharge / − charge, W. */
  batteryPowerW?: number;
  batterySetAtMs?: number;
  batteryHoldMs?: number;
  /** PV active power limit, W. */
  pvLimitW?: number;
  pvLimitSetAtMs?: number;
  pvLimitHoldMs?: number;
}

const inForce = (value: number | undefined, setAtMs: number | undefined, holdMs: number, atMs: number): value is number =>
  value !== undefined && setAtMs !== undefined && atMs - setAtMs <= holdMs;

export interface BatteryState {
  socPct: number;
  powerW: number;
  mode: 'ems' | 'self';
}

/**
 * The battery for one step: follows the EMS's setpoint while it is in force (within its power and
 * SoC window), else its own rule (soak up surplus, shave import above peakShaveAboveW).
 */
export function stepBattery(b: PlantBattery, state: BatteryState, netW: number, setpoints: DeviceSetpoints, atMs: number, dtMs: number): void {
  const following = inForce(setpoints.batteryPowerW, setpoints.batterySetAtMs, setpoints.batteryHoldMs ?? b.setpointHoldMs ?? DEFAULT_SETPOINT_HOLD_MS, atMs);
  let w: number;
  if (following) w = Math.min(b.maxPowerW, Math.max(-b.maxPowerW, setpoints.batteryPowerW!));
  else if (netW < 0 && state.socPct < b.maxSocPct) w = Math.max(netW, -b.maxPowerW);
  else if (b.peakShaveAboveW !== undefined && netW > b.peakShaveAboveW && state.socPct > b.minSocPct) w = Math.min(netW - b.peakShaveAboveW, b.maxPowerW);
  else w = 0;
  if (w > 0 && state.socPct <= b.minSocPct) w = 0;
  if (w < 0 && state.socPct >= b.maxSocPct) w = 0;
  state.powerW = w;
  state.mode = following ? 'ems' : 'self';
  state.socPct = Math.min(100, Math.max(0, state.socPct - ((w * dtMs) / 3_600_000 / b.capacityWh) * 100));
}

/** PV output under the EMS's limit while it is in force. */
export function pvOutputW(availableW: number, setpoints: DeviceSetpoints, atMs: number): number {
  return inForce(setpoints.pvLimitW, setpoints.pvLimitSetAtMs, setpoints.pvLimitHoldMs ?? DEFAULT_SETPOINT_HOLD_MS, atMs)
    ? Math.min(availableW, Math.max(0, setpoints.pvLimitW))
    : availableW;
}
