// The plan steering the real control loop: its targets arrive in decide() as ceilings, and the
// cap reasons say so; without a plan the same site charges both cars at once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import type { ConnectorCap } from '../../optimizer/types.ts';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import type { ChargerCommands } from '../../src/control/charger-commands.ts';
import { createControlLoop } from '../../src/control/control-loop.ts';
import { silentLogger } from '../../src/log.ts';
import { createPlannerService, type PlannerService } from '../../src/planner/planner-service.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { LocalTimeZone } from '../../src/tariffs/local-time.ts';
import { Tariff } from '../../src/tariffs/tariff.ts';

const scratch = mkdtempSync(join(tmpdir(), 'ems-planner-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const T0 = Date.parse('2026-11-24T17:00:00Z'); // 18:00 Berlin: weekday peak price until 22:00

function site(withPlanner: boolean) {
  const config = configSchema.parse({
    site: { timezone: 'Europe/Berlin' },
    storage: { path: join(scratch, 'ems.sqlite') },
    grid: { maxCurrent: 63, meter: 'grid' },
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
    chargers: [
      { id: 'CP1', maxCurrent: 16, phases: 3 },
      { id: 'CP2', maxCurrent: 16, phases: 3 },
    ],
    tariffs: { import: { default: 0.18, periods: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '22:00', price: 0.4 }] } },
    ...(withPlanner ? { planner: { timeLimitMs: 20_000 } } : {}),
  });
  const bus = new Bus(silentLogger);
  const clock = new ManualClock(T0);
  const state = new SiteState(config, bus);
  const ctx = { config, bus, log: silentLogger, clock, state };
  const sent: ConnectorCap[][] = [];
  const chargers: ChargerCommands = {
    async applyCaps(caps) {
      sent.push([...caps]);
      return { sent: caps.length, unconfirmedDecreases: 0 };
    },
  };
  const planner = createPlannerService(ctx, { tariff: new Tariff(config.tariffs, config.site.timezone), zone: new LocalTimeZone('Europe/Berlin'), peakSoFarW: () => 0 });
  const control = createControlLoop(ctx, chargers, { ceilingProviders: [planner] });
  for (const id of ['CP1', 'CP2']) {
    bus.emit('charger.connected', { chargerId: id, atMs: T0, protocol: 'ocpp1.6' });
    bus.emit('connector.status', { chargerId: id, connectorId: 1, status: 'Charging', atMs: T0 });
  }
  bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: T0, powerW: 2_000, currentA: [3, 3, 3] });
  // CP1's car stays the night; CP2's leaves in an hour.
  bus.emit('session.started', { chargerId: 'CP1', connectorId: 1, transactionId: 1, idTag: 'A', tier: 'staff', startedAtMs: T0, meterStartWh: 0, energyNeedWh: 20_000, departureAtMs: T0 + 13 * 3_600_000 });
  bus.emit('session.started', { chargerId: 'CP2', connectorId: 1, transactionId: 2, idTag: 'B', tier: 'staff', startedAtMs: T0, meterStartWh: 0, energyNeedWh: 9_000, departureAtMs: T0 + 3_600_000 });
  return { planner, control, sent };
}

let planner: PlannerService | undefined;
afterEach(async () => {
  await planner?.stop();
  planner = undefined;
});

describe('plan targets in the control loop', () => {
  it('holds the car that can wait for the cheap night and charges the one leaving soon', async () => {
    const s = site(true);
    planner = s.planner;
    await s.planner.start();
    await s.planner.replanNow('test');
    const decision = await s.control.runCycle();
    const cap = (id: string) => decision!.caps.find((c) => c.chargerId === id)!;
    expect(cap('CP1').currentA).toBe(0);
    expect(cap('CP1').reason.kind).toBe('plan');
    expect(cap('CP2').currentA).toBeGreaterThanOrEqual(13);
  }, 30_000);

  it('charges both at once without a planner section (greedy control alone)', async () => {
    const s = site(false);
    planner = s.planner;
    await s.planner.start();
    const decision = await s.control.runCycle();
    for (const c of decision!.caps) expect(c.currentA).toBeGreaterThan(0);
  }, 30_000);
});
