// Pure: what the stationary battery and the PV inverter should do this cycle.
// - Peak shaving: discharge to keep grid import at the import cap (grid.maxPower or the strictest
//   import-limit signal, less the safety margin) and to cover EV demand that the cap holds back.
// - PV surplus: charge from what would otherwise be exported.
// - SoC limits: never discharge at or below minSocPct, never charge at or above maxSocPct.
// - PV curtailment: limit the inverter when export would exceed the export cap.
// Signs: grid + import; battery + discharge / − charge; PV + production.
import type { ConnectorCap } from './types.ts';

export interface BatteryDispatchInput {
  /** Measured at the connection point, W. */
  gridPowerW: number;
  /** Measured battery power, W (+ discharge); 0 when there is no battery. */
  batteryPowerW: number;
  socPct?: number;
  pvPowerW?: number;
  /** The PV limit currently written, W; undefined = not curtailed. */
  pvLimitW?: number;
  /** EV power held back by the import cap in the last decision, W. */
  constrainedEvDemandW: number;
}

export interface BatteryDispatchParams {
  maxImportW?: number;
  maxExportW?: number;
  safetyMargin: number;
  minSocPct: number;
  maxSocPct: number;
  maxChargeW: number;
  maxDischargeW: number;
  /** PV nameplate, W: curtailment is lifted when the computed limit reaches it. */
  pvRatedW?: number;
  hasBattery: boolean;
  hasPvControl: boolean;
}

export interface DispatchResult {
  /** + discharge / − charge, W. */
  batterySetpointW: number;
  batteryReason: string;
  /** W; undefined = no curtailment. */
  pvLimitW?: number;
  pvReason: string;
}

export function dispatchBattery(input: BatteryDispatchInput, params: BatteryDispatchParams): DispatchResult {
  const { batterySetpointW, batteryReason } = params.hasBattery ? batteryPower(input, params) : { batterySetpointW: 0, batteryReason: 'no battery' };
  const pv = params.hasPvControl ? pvLimit(input, params, batterySetpointW) : { pvReason: 'no PV control' };
  return { batterySetpointW, batteryReason, ...pv };
}

function batteryPower(input: BatteryDispatchInput, params: BatteryDispatchParams): { batterySetpointW: number; batteryReason: string } {
  // What the site would exchange with the grid if the battery stood still.
  const siteW = input.gridPowerW + input.batteryPowerW;
  const soc = input.socPct;
  if (params.maxImportW !== undefined) {
    const targetW = params.maxImportW * (1 - params.safetyMargin);
    const needW = Math.max(0, siteW - targetW) + Math.max(0, input.constrainedEvDemandW);
    if (needW > 0) {
      if (soc === undefined) return { batterySetpointW: 0, batteryReason: 'peak shaving needed, but the battery SoC is unknown' };
      if (soc <= params.minSocPct) return { batterySetpointW: 0, batteryReason: `peak shaving needed, but SoC ${soc} % is at its minimum ${params.minSocPct} %` };
      // Never discharge into the grid: at most what the site itself consumes.
      const w = Math.max(0, Math.min(needW, params.maxDischargeW, siteW));
      return { batterySetpointW: round(w), batteryReason: `peak shaving: import cap ${round(targetW)} W` };
    }
  }
  if (siteW < 0) {
    if (soc === undefined) return { batterySetpointW: 0, batteryReason: 'PV surplus, but the battery SoC is unknown' };
    if (soc >= params.maxSocPct) return { batterySetpointW: 0, batteryReason: `PV surplus, but SoC ${soc} % is at its maximum ${params.maxSocPct} %` };
    const w = Math.min(-siteW, params.maxChargeW);
    return { batterySetpointW: -round(w), batteryReason: 'charging from PV surplus' };
  }
  return { batterySetpointW: 0, batteryReason: 'idle: no surplus and import below the cap' };
}

function pvLimit(input: BatteryDispatchInput, params: BatteryDispatchParams, batterySetpointW: number): { pvLimitW?: number; pvReason: string } {
  if (params.maxExportW === undefined) return { pvReason: 'no export cap' };
  if (input.pvPowerW === undefined) return { pvReason: 'PV power unknown: curtailment left as is', pvLimitW: input.pvLimitW };
  const allowedExportW = params.maxExportW * (1 - params.safetyMargin);
  // Expected grid power once the battery follows its new setpoint.
  const gridAfterW = input.gridPowerW + input.batteryPowerW - batterySetpointW;
  const limitW = Math.max(0, input.pvPowerW + gridAfterW + allowedExportW);
  const curtailed = input.pvLimitW !== undefined;
  if (!curtailed && -gridAfterW <= allowedExportW) return { pvReason: 'export within the cap' };
  if (params.pvRatedW !== undefined ? limitW >= params.pvRatedW : curtailed && gridAfterW > 0) {
    return { pvReason: 'export cap no longer binding: curtailment lifted' };
  }
  return { pvLimitW: round(limitW), pvReason: `export cap ${round(allowedExportW)} W` };
}

/**
 * EV power the import cap held back in a decision: for every cap bound by the grid power or an
 * import-limit signal, the gap to the charger's maximum, in W.
 */
export function constrainedEvDemandW(caps: readonly ConnectorCap[], maxCurrentA: (chargerId: string) => number, voltageV: number): number {
  let total = 0;
  for (const cap of caps) {
    if (cap.reason.kind !== 'grid-power' && cap.reason.kind !== 'signal') continue;
    total += Math.max(0, maxCurrentA(cap.chargerId) - cap.currentA) * voltageV * cap.phases;
  }
  return total;
}

const round = (w: number) => Math.round(w);
