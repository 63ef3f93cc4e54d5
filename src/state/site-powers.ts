import type { Config } from '../../config/schema.ts';
import type { SiteState } from './site-state.ts';
import { strictestLimits } from '../../optimizer/site-view.ts';

/** Where the power goes right now, W. Signs: grid + import, battery + discharge, PV + production. */
export interface SitePowers {
  gridPowerW?: number;
  gridCurrentA?: [number, number, number];
  pvPowerW?: number;
  batteryPowerW?: number;
  batterySocPct?: number;
  /** Sum over connectors: metered power, else measured current × voltage. */
  evPowerW: number;
  /** Everything that is not EV charging: grid + PV + battery − EV (needs a grid meter). */
  buildingPowerW?: number;
  /** The import the site may use now: the site limit per phase × voltage, the grid power cap, active grid signals. */
  limitPowerW?: number;
}

const sum = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) : undefined);

/** Derived from the latest values in SiteState; pure given the state. */
export function sitePowers(state: SiteState, config: Config, atMs: number): SitePowers {
  const voltageV = config.site.voltage;
  const online = (role: string) =>
    [...state.devices.values()].filter((d) => d.role === role && d.reading && d.health !== 'offline').map((d) => d.reading!);
  const gridReading = config.grid.meter ? state.devices.get(config.grid.meter)?.reading : online('grid-meter')[0];
  const pvPowerW = sum(online('pv').flatMap((r) => (r.powerW === undefined ? [] : [r.powerW])));
  const batteries = online('battery');
  const batteryPowerW = sum(batteries.flatMap((r) => (r.powerW === undefined ? [] : [r.powerW])));
  const batterySocPct = batteries.find((r) => r.socPct !== undefined)?.socPct;
  let evPowerW = 0;
  for (const c of state.connectors.values()) {
    if (c.powerW !== undefined) evPowerW += c.powerW;
    else evPowerW += (c.drawA[0] + c.drawA[1] + c.drawA[2]) * voltageV;
  }
  const gridPowerW = gridReading?.powerW;
  const buildingPowerW =
    gridPowerW === undefined ? undefined : Math.max(0, gridPowerW + (pvPowerW ?? 0) + (batteryPowerW ?? 0) - evPowerW);
  const limits: number[] = [];
  const limitA = state.lastDecision?.headroom.limitA;
  limits.push(limitA ? (limitA[0] + limitA[1] + limitA[2]) * voltageV : config.grid.maxCurrent * 3 * voltageV);
  // The strictest power limit, picked where decide() picks it (optimizer/site-view.ts).
  const { importLimitW } = strictestLimits(state.signalLimits(atMs), { maxImportPowerW: config.grid.maxPower, maxExportPowerW: config.grid.maxExportPower });
  if (importLimitW !== undefined) limits.push(importLimitW);
  return {
    gridPowerW,
    gridCurrentA: gridReading?.currentA,
    pvPowerW,
    batteryPowerW,
    batterySocPct,
    evPowerW,
    buildingPowerW,
    limitPowerW: Math.min(...limits),
  };
}
