import type { IPoint } from 'influx';
import type { Config } from '../../config/schema.ts';
import type { Decision } from '../../optimizer/types.ts';
import { sitePowers } from '../state/site-powers.ts';
import type { SiteState } from '../state/site-state.ts';

const finite = (fields: Record<string, number | boolean | string | undefined>) => {
  const out: Record<string, number | boolean | string> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && (typeof v !== 'number' || Number.isFinite(v))) out[k] = v;
  return out;
};

/** One sample of the site, each connector and each device as InfluxDB points (line protocol). */
export function influxPoints(state: SiteState, config: Config, decision: Decision, prefix: string): IPoint[] {
  const atMs = decision.atMs;
  const site = config.site.name;
  const p = sitePowers(state, config, atMs);
  const [h1, h2, h3] = decision.headroom.headroomA;
  const points: IPoint[] = [
    {
      measurement: `${prefix}site`,
      tags: { site },
      fields: finite({
        grid_power_w: p.gridPowerW,
        // Apart per sample, so mean() over any GROUP BY time() keeps both on a site that swings.
        grid_import_w: p.gridPowerW === undefined ? undefined : Math.max(0, p.gridPowerW),
        grid_export_w: p.gridPowerW === undefined ? undefined : Math.max(0, -p.gridPowerW),
        pv_power_w: p.pvPowerW,
        battery_power_w: p.batteryPowerW,
        battery_soc_pct: p.batterySocPct,
        ev_power_w: p.evPowerW,
        building_power_w: p.buildingPowerW,
        limit_power_w: p.limitPowerW,
        headroom_l1_a: h1,
        headroom_l2_a: h2,
        headroom_l3_a: h3,
        failsafe: decision.failsafe,
      }),
      timestamp: atMs,
    },
  ];
  for (const cap of decision.caps) {
    const connector = state.connector(cap.chargerId, cap.connectorId);
    points.push({
      measurement: `${prefix}connector`,
      tags: { site, charger: cap.chargerId, connector: String(cap.connectorId) },
      fields: finite({
        cap_a: cap.currentA,
        draw_a: connector ? Math.max(...connector.drawA) : undefined,
        power_w: connector?.powerW,
        session_energy_wh: connector?.session?.energyWh,
        charging: connector?.session ? !connector.session.paused : false,
        // A field, not a tag: a tag per reason would split each connector into many series.
        reason: cap.reason.kind,
      }),
      timestamp: atMs,
    });
  }
  for (const device of state.devices.values()) {
    points.push({
      measurement: `${prefix}device`,
      tags: { site, device: device.id, role: device.role },
      fields: finite({ online: device.health === 'online', power_w: device.reading?.powerW, soc_pct: device.reading?.socPct }),
      timestamp: atMs,
    });
  }
  return points;
}
