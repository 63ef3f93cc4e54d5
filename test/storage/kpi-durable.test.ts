// Today's KPIs and the month's peak come from durable storage: a tariff service started again on
// the same database (a restart) reports the very same figures; today's peak and the month's peak
// are one definition (15-min mean import) and agree. The real-process restart is in
// test/dashboard/restart.browser.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { openStorage } from '../../src/storage/open-storage.ts';
import { createTariffService } from '../../src/tariffs/tariff-service.ts';

const T0 = Date.parse('2026-11-24T05:00:00Z'); // 06:00 in Berlin
const dir = mkdtempSync(join(tmpdir(), 'ems-kpi-durable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const dbPath = join(dir, 'ems.sqlite');

function boot(clock: ManualClock) {
  const config = configSchema.parse({
    site: { timezone: 'Europe/Berlin' },
    grid: { maxCurrent: 100, meter: 'grid' },
    chargers: [{ id: 'CP1', maxCurrent: 32 }],
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
    storage: { path: dbPath },
    tariffs: { import: { default: 0.25 }, demandCharge: { pricePerKW: 10 } },
  });
  const bus = new Bus(silentLogger);
  const state = new SiteState(config, bus);
  const store = openStorage(dbPath, clock);
  const service = createTariffService(
    { config, bus, log: silentLogger, clock, state },
    { peakSource: store.peaks, kpiStore: store.kpiDays, billsFilePath: join(dir, 'bills.jsonl') },
  );
  return { bus, store, service };
}

const grid = (bus: Bus, atMs: number, powerW: number) => bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs, powerW, currentA: [0, 0, 0] });

describe('KPIs from durable storage', () => {
  it('reports the same figures after a restart, and one peak for today and the month', async () => {
    const clock = new ManualClock(T0);
    const a = boot(clock);
    await a.service.start();
    a.bus.emit('session.started', { chargerId: 'CP1', connectorId: 1, transactionId: 1, idTag: 'BUS12', tier: 'fleet', startedAtMs: T0, meterStartWh: 0, energyNeedWh: 4_000 });
    // 30 kW for the first quarter hour, 10 kW for the next 20 minutes (a reading every 10 s).
    for (let s = 0; s <= 35 * 60; s += 10) grid(a.bus, T0 + s * 1000, s < 15 * 60 ? 30_000 : 10_000);
    a.bus.emit('connector.meter', { chargerId: 'CP1', connectorId: 1, atMs: T0 + 35 * 60_000, energyWh: 5_000 });
    a.bus.emit('session.ended', { chargerId: 'CP1', connectorId: 1, transactionId: 1, endedAtMs: T0 + 35 * 60_000, meterStopWh: 5_000 });
    clock.set(T0 + 35 * 60_000);
    const before = a.service.kpis();
    expect(before.gridImportWh).toBeCloseTo(30_000 * 0.25 + 10_000 * (20 / 60), 3);
    expect(before.energyCost).toBeCloseTo((before.gridImportWh / 1000) * 0.25, 6);
    expect(before.sessions).toBe(1);
    expect(before.peakW).toBeCloseTo(30_000, 3);
    expect(before.monthPeakW).toBe(before.peakW);
    expect(before.peakAtMs).toBe(T0);
    expect(before.monthPeakAtMs).toBe(T0);
    await a.service.stop();
    a.store.close();

    const b = boot(clock);
    await b.service.start();
    const after = b.service.kpis();
    expect(after).toEqual(before);
    expect(b.store.peaks.get('2026-11')).toMatchObject({ peakPowerW: before.peakW, atMs: T0 });
    await b.service.stop();
    b.store.close();
  });

  it('starts a new day at zero and keeps the month peak set on an earlier day', async () => {
    const clock = new ManualClock(T0 + 86_400_000);
    const c = boot(clock);
    await c.service.start();
    for (let s = 0; s <= 20 * 60; s += 10) grid(c.bus, T0 + 86_400_000 + s * 1000, 5_000);
    const k = c.service.kpis();
    expect(k.sessions).toBe(0);
    expect(k.peakW).toBeCloseTo(5_000, 3);
    expect(k.monthPeakW).toBeCloseTo(30_000, 3);
    expect(k.monthPeakAtMs).toBe(T0);
    await c.service.stop();
    c.store.close();
  });
});
