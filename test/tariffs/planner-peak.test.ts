// The planner plans against the month's peak the operator sees: the tariff service's peakSoFarW (what
// the planner reads) is its monthPeak (what GET /api/v1/peak and the KPIs answer), one owner kept
// in storage. Across a restart in the middle of a demand window the two used to part: an in-memory
// tracker, empty after the restart, averaged the window over the part it saw (8 min at 60 kW:
// 60 kW), while today's KPIs, restored from storage, count the whole window (7 min at 0, 8 at 60 kW).
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

const T0 = Date.parse('2026-11-24T05:00:00Z'); // 06:00 in Berlin, a window start
const MIN = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'ems-planner-peak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function boot(clock: ManualClock) {
  const dbPath = join(dir, 'ems.sqlite');
  const config = configSchema.parse({
    site: { timezone: 'Europe/Berlin' },
    grid: { maxCurrent: 200, meter: 'grid' },
    chargers: [{ id: 'CP1', maxCurrent: 32 }],
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
    storage: { path: dbPath },
    tariffs: { import: { default: 0.25 }, demandCharge: { pricePerKW: 10 } },
  });
  const bus = new Bus(silentLogger);
  const store = openStorage(dbPath, clock);
  const service = createTariffService({ config, bus, log: silentLogger, clock, state: new SiteState(config, bus) }, { peakSource: store.peaks, kpiStore: store.kpiDays, billsFilePath: join(dir, 'bills.jsonl') });
  /** One grid reading a second from `fromMs` to `toMs` (inclusive) at `powerW`. */
  const readings = (fromMs: number, toMs: number, powerW: number) => {
    for (let atMs = fromMs; atMs <= toMs; atMs += 1000) {
      clock.set(atMs);
      bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs, powerW, currentA: [powerW / 690, powerW / 690, powerW / 690] });
    }
  };
  return { store, service, readings };
}

describe("the planner's peak so far", () => {
  it("is the month's peak the API answers, across a restart in the middle of a demand window", async () => {
    const clock = new ManualClock(T0);
    const a = boot(clock);
    await a.service.start();
    a.readings(T0, T0 + 7 * MIN, 0);
    await a.service.stop();
    a.store.close();

    const b = boot(clock);
    await b.service.start();
    // 60 kW from 06:07 to the end of the window, then 0 into the next one (which closes it).
    b.readings(T0 + 7 * MIN + 1000, T0 + 15 * MIN, 60_000);
    b.readings(T0 + 15 * MIN + 1000, T0 + 16 * MIN, 0);
    const now = clock.nowMs();
    const shown = b.service.monthPeak(now);
    // The whole window: 8 of its 15 minutes at 60 kW.
    expect(shown.peakW).toBeGreaterThan(31_000);
    expect(shown.peakW).toBeLessThan(33_000);
    expect(b.service.kpis().monthPeakW).toBe(shown.peakW);
    expect(b.service.peakSoFarW(now)).toBe(shown.peakW);
    await b.service.stop();
    b.store.close();
  });
});
