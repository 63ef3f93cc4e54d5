// Stopping the EMS while the planner is solving (Ctrl-C on `npm start` during a re-plan) is a
// normal stop: the solve it cuts short is not a failure. Session 8 saw "planning failed; greedy
// control continues without plan targets" with a "planner stopped" stack trace in the demo's log.
// The real planner service and its solver worker; the log the EMS writes (JSON lines) is read back.
// The solve is under way for sure: planning hands the input to the worker before its first await.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log.ts';
import { createPlannerService } from '../../src/planner/planner-service.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { LocalTimeZone } from '../../src/tariffs/local-time.ts';
import { Tariff } from '../../src/tariffs/tariff.ts';

const scratch = mkdtempSync(join(tmpdir(), 'ems-planner-stop-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const T0 = Date.parse('2026-11-24T17:07:00Z');

describe('stopping the planner during a solve', () => {
  it('logs no failure and no stack trace, and the stop waits for nothing', async () => {
    const lines: string[] = [];
    const destination = new Writable({ write: (chunk, _enc, done) => (lines.push(...String(chunk).split('\n').filter(Boolean)), done()) });
    const log = createLogger({ level: 'debug', destination, format: 'json' });
    const config = configSchema.parse({
      site: { timezone: 'Europe/Berlin' },
      storage: { path: join(scratch, 'ems.sqlite') },
      grid: { maxCurrent: 100 },
      chargers: Array.from({ length: 8 }, (_, i) => ({ id: `CP${i + 1}`, maxCurrent: 16, phases: 3 })),
      tariffs: { import: { default: 0.18, periods: [{ from: '07:00', to: '22:00', price: 0.32 }] } },
      planner: { timeLimitMs: 20_000 },
    });
    const bus = new Bus(log);
    const clock = new ManualClock(T0);
    const ctx = { config, bus, log, clock, state: new SiteState(config, bus) };
    const planner = createPlannerService(ctx, { tariff: new Tariff(config.tariffs, config.site.timezone), zone: new LocalTimeZone('Europe/Berlin'), peakSoFarW: () => 0 }, { forecastFilePath: join(scratch, 'forecast.json') });
    await planner.start();
    // A plan first, so the worker is up and the next solve is a real one.
    config.chargers.forEach((c, i) =>
      bus.emit('session.started', { chargerId: c.id, connectorId: 1, transactionId: i + 1, idTag: `T${i}`, tier: 'staff', startedAtMs: T0, meterStartWh: 0, energyNeedWh: 20_000 + i * 1_000, departureAtMs: T0 + (8 + i) * 3_600_000 }),
    );
    expect((await planner.replanNow('first'))?.status).toBe('optimal');
    const before = lines.length;
    const solving = planner.replanNow('cut short');
    await planner.stop();
    expect(await solving).toBeUndefined();
    const after = lines.slice(before).map((l) => JSON.parse(l) as { level: number; msg: string; err?: { stack?: string } });
    expect(after.filter((e) => e.level >= 40).map((e) => e.msg)).toEqual([]);
    expect(after.filter((e) => e.err?.stack)).toEqual([]);
    expect(planner.status().failures).toBe(0);
  }, 60_000);
});
