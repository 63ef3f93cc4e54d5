// How src/app.ts wires the tariff side and the planner: the tariff service is the planner's
// price and peak source, and the planner is a ceiling provider of the control loop.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import type { CeilingProvider } from '../../src/control/ceiling-provider.ts';
import { silentLogger } from '../../src/log.ts';
import { createPlannerService } from '../../src/planner/index.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { createTariffService } from '../../src/tariffs/index.ts';

describe('tariffs and planner wired together', () => {
  it('plans with the tariff service’s prices and the month’s peak from storage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ems-wiring-'));
    try {
      const config = configSchema.parse({
        site: { timezone: 'Europe/Berlin' },
        grid: { maxCurrent: 63 },
        chargers: [{ id: 'CP1', maxCurrent: 16 }],
        storage: { path: join(dir, 'ems.sqlite') },
        tariffs: { import: { default: 0.2 }, demandCharge: { pricePerKW: 10 } },
        planner: { timeLimitMs: 20_000 },
      });
      const bus = new Bus(silentLogger);
      const clock = new ManualClock(Date.parse('2026-11-24T10:00:00Z'));
      const ctx = { config, bus, log: silentLogger, clock, state: new SiteState(config, bus) };
      const tariffs = createTariffService(ctx, { peakSource: { get: () => ({ peakPowerW: 8_000 }) } });
      const planner = createPlannerService(ctx, tariffs);
      const providers: CeilingProvider[] = [planner];
      await tariffs.start();
      await planner.start();
      try {
        bus.emit('session.started', { chargerId: 'CP1', connectorId: 1, transactionId: 1, idTag: 'A', tier: 'staff', startedAtMs: clock.nowMs(), meterStartWh: 0, energyNeedWh: 16_000, departureAtMs: clock.nowMs() + 4 * 3_600_000 });
        const plan = await planner.replanNow('test');
        // Flat price and 8 kW already paid for this month: the 16 kWh fit under that peak, so the
        // plan neither raises it nor needs to stay below it.
        expect(plan?.peakW).toBeCloseTo(8_000, 0);
        expect(providers[0].ceilingsW(ctx.state.snapshot(clock.nowMs())).has('CP1/1')).toBe(true);
      } finally {
        await planner.stop();
        await tariffs.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
