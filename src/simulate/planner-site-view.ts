// What the replay's planner may know of the site's building and PV: what a live planner at the same
// site would know. A live planner learns the building from its grid meter (grid − cars, + PV where a
// PV device reports): without a PV device that is the building net of PV, and PV beyond the building
// is lost behind a zero-export inverter (the plant throws it away, plant-scenario.ts), so it is no
// room for cars. With a PV device the planner sees both as configured.
import type { Config } from '../../config/schema.ts';

const MINUTES_PER_DAY = 1440;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Two daily curves (equal steps from local midnight) on a common grid: the first minus the second, at least 0. */
export function netDailyCurve(building: readonly number[], pv: readonly number[]): number[] {
  const lcm = (building.length / gcd(building.length, pv.length)) * pv.length;
  // Both curves step at multiples of 1440 / lcm minutes; past a minute grid curveAt reads whole minutes.
  const n = lcm <= MINUTES_PER_DAY ? lcm : MINUTES_PER_DAY;
  return Array.from({ length: n }, (_, i) => Math.max(0, building[Math.floor((i * building.length) / n)]! - pv[Math.floor((i * pv.length) / n)]!));
}

/** The config the replay plans with: without a PV device, the building curve net of PV and no PV curve. */
export function plannerConfig(config: Config, pvOnItsOwn: boolean): Config {
  const planner = config.planner;
  if (pvOnItsOwn || !planner?.pvForecastW) return config;
  const { pvForecastW, ...rest } = planner;
  return { ...config, planner: { ...rest, ...(rest.baseLoadW ? { baseLoadW: netDailyCurve(rest.baseLoadW, pvForecastW) } : {}) } };
}
