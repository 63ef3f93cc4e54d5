// The terminal demo's status line tells the time the demo was started at (--start 11:00 local), not UTC.
import { expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { Bus } from '../../src/bus.ts';
import { formatStatus } from '../../src/demo/status-text.ts';
import { silentLogger } from '../../src/log.ts';
import { SiteState } from '../../src/state/site-state.ts';

it("prints the site's local time", () => {
  const config = configSchema.parse({ site: { timezone: 'Europe/Berlin' }, grid: { maxCurrent: 63 }, chargers: [{ id: 'CP1' }] });
  const state = new SiteState(config, new Bus(silentLogger));
  const site = { gridCurrentA: [1, 2, 3] as [number, number, number], gridPowerW: 1000, pvPowerW: 0, batteryPowerW: 0, batterySocPct: 50 };
  const text = formatStatus(state, Date.parse('2026-12-06T10:21:32Z'), site as never, config.site.timezone);
  expect(text.split('\n')[0]).toMatch(/^11:21:32 /);
});
