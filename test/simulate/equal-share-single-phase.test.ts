// The equal-share baseline on a single-phase site (issue #11): four 1-phase chargers on L1 of a
// 7.36 kW (32 A at 230 V) connection. The baseline used to turn grid.maxPower into amps as if
// spread over three phases (a limit 3× too strict: 25 % delivered where 55 % fits); the cap must be
// split on the phase the cars actually load, on the instant model and on the plant alike.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { decideParamsFromConfig } from '../../src/control/decide-params.ts';
import { replayOnPlant } from '../../src/simulate/plant-replay.ts';
import { parseReplaySessions } from '../../src/simulate/replay-sessions.ts';
import { replay } from '../../src/simulate/replay.ts';

const CAP_W = 32 * 230;
const HOURS = 2;

function site() {
  const config = configSchema.parse({
    site: { name: 'single-phase', voltage: 230, timezone: 'UTC' },
    grid: { maxCurrent: 40, maxPower: CAP_W, safetyMargin: 0, meter: 'grid' },
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
    chargers: ['A', 'B', 'C', 'D'].map((id) => ({ id, connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 1 })),
  });
  // Four cars that each want more than the two hours can give them: the cap binds throughout.
  const sessions = parseReplaySessions(
    ['A', 'B', 'C', 'D'].map((id) => ({ id: `car-${id}`, chargerId: id, arrival: '2026-11-24T09:00:00Z', departure: '2026-11-24T11:00:00Z', energyWh: 12_000, maxPowerW: 7_360, batteryWh: 80_000, soc: 20 })),
    config,
  );
  return { config, params: decideParamsFromConfig(config), sessions };
}

describe('equal share on a single-phase site', () => {
  for (const [name, engine] of [
    ['instant model', replay],
    ['site plant', replayOnPlant],
  ] as const) {
    it(`splits the 7.36 kW cap on L1 among four cars evenly and uses it (${name})`, async () => {
      const { config, params, sessions } = site();
      const r = await engine({ config, params, sessions, strategy: 'equal-share', stepMs: 60_000 });
      const deliveredWh = r.kpis.energyDeliveredWh;
      // All of the cap but the first minutes (authorisation, the plant's ramps): ≥ 90 % of 14.7 kWh.
      // A cap read as 3-phase amps (2.45 kW usable on L1) would deliver 4.9 kWh at most.
      expect(deliveredWh).toBeGreaterThan(0.9 * CAP_W * HOURS);
      expect(r.kpis.peakW).toBeLessThanOrEqual(CAP_W * 1.001);
      if (r.plant) expect(r.plant.emsCausedAs + r.plant.outsideAs).toBe(0);
      else expect(r.kpis.limitViolations).toBe(0);
      // Evenly: each car within 5 % of a quarter.
      for (const s of r.sessions) expect(Math.abs(s.deliveredWh - deliveredWh / 4)).toBeLessThan(0.05 * (deliveredWh / 4));
    }, 120_000);
  }
});
