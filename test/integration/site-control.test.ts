// The whole EMS on loopback with independent strict OCPP chargers: what the chargers receive is
// what the site gets. The EMS clock is a ManualClock so staleness is driven, not waited for.
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { configSchema, type Config } from '../../config/schema.ts';
import { startApp, type App } from '../../src/app.ts';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { TestCharger } from '../helpers/test-charger.ts';
import { waitFor } from '../helpers/wait-for.ts';

const T0 = Date.parse('2026-11-24T10:00:00Z');

function siteConfig(overrides: Partial<{ gridA: number; rowA: number; priority: Config['control']['priority']; chargers: number }> = {}): Config {
  const n = overrides.chargers ?? 3;
  const ids = Array.from({ length: n }, (_, i) => `CP${i + 1}`);
  return configSchema.parse({
    site: { name: 'Test site', voltage: 230, timezone: 'UTC' },
    grid: { maxCurrent: overrides.gridA ?? 100, meter: 'grid', safetyMargin: 0 },
    control: {
      intervalMs: 200,
      staleAfterMs: 10_000,
      failsafeCurrent: 6,
      priority: overrides.priority ?? 'fcfs',
      deadbandA: 0,
      minPauseMs: 0,
      profileMinIntervalMs: 0,
      unusedHoldMs: 3_600_000,
    },
    circuits: [{ id: 'main', maxCurrent: overrides.gridA ?? 100, children: [{ id: 'row', maxCurrent: overrides.rowA ?? 100, chargers: ids }] }],
    chargers: ids.map((id) => ({ id, connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3 })),
    idTags: [
      { idTag: 'FLEET1', tier: 'fleet' },
      { idTag: 'STAFF1', tier: 'staff' },
      { idTag: 'GUEST1', tier: 'guest' },
      { idTag: 'GUEST2', tier: 'guest' },
    ],
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
    ocpp: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    storage: { path: ':memory:' },
  });
}

describe('the site under control', () => {
  let app: App | undefined;
  let chargers: TestCharger[] = [];
  const clock = new ManualClock(T0);

  afterEach(async () => {
    await Promise.all(chargers.map((c) => c.close().catch(() => undefined)));
    chargers = [];
    await app?.stop();
    app = undefined;
  });

  async function start(config: Config): Promise<App> {
    clock.set(T0);
    app = await startApp({ config, log: silentLogger, clock });
    return app;
  }

  // A building is never at 0 A: the meter at the connection point always reads some load (and one
  // reading 0.00 A on every phase is more likely a meter that is not up yet, which the EMS does not trust).
  const QUIET_A = 2;
  let lastBuildingA = QUIET_A;
  /** The meter reports every second on the EMS's clock, as a real one does; cars follow in that time. */
  function tick(): void {
    clock.advance(1_000);
    meter(lastBuildingA);
  }

  function meter(buildingA: number, evA = 0) {
    lastBuildingA = buildingA;
    app!.ctx.bus.emit('device.reading', {
      deviceId: 'grid',
      role: 'grid-meter',
      atMs: clock.nowMs(),
      currentA: [buildingA + evA, buildingA + evA, buildingA + evA],
      powerW: (buildingA + evA) * 230 * 3,
    });
  }

  async function connect(config: Config, ids = config.chargers.map((c) => c.id)): Promise<TestCharger[]> {
    const endpoint = `ws://127.0.0.1:${app!.ocppPort}/ocpp`;
    chargers = ids.map((id) => new TestCharger(id, endpoint, { nowMs: () => clock.nowMs() }));
    await Promise.all(chargers.map((c) => c.connect()));
    return chargers;
  }

  it('keeps the sum of caps on every phase within the circuit limit', async () => {
    const config = siteConfig({ rowA: 40 });
    await start(config);
    meter(QUIET_A);
    const [a, b, c] = await connect(config);
    await a!.startTransaction(1, 'GUEST1');
    await b!.startTransaction(1, 'GUEST2');
    await c!.startTransaction(1, 'STAFF1');
    const limits = await waitFor(() => {
      tick();
      const l = [a!, b!, c!].map((x) => x.txLimitA(1));
      return l.every((v) => v !== undefined) && l.reduce((s, v) => s! + v!, 0)! >= 39 ? (l as number[]) : undefined;
    }, 'all three chargers to hold TxProfiles that use the row', 20_000);
    expect(limits.reduce((s, v) => s + v, 0)).toBeLessThanOrEqual(40 + 1e-9);
    for (const limit of limits) expect(limit === 0 || (limit >= 6 && limit <= 32)).toBe(true);
  });

  it('gives the higher tier the larger share when capacity is scarce', async () => {
    const config = siteConfig({ rowA: 40, priority: 'tier' });
    await start(config);
    meter(QUIET_A);
    const [a, b] = await connect(config, ['CP1', 'CP2']);
    await a!.startTransaction(1, 'GUEST1');
    await b!.startTransaction(1, 'FLEET1');
    const [guest, fleet] = await waitFor(() => {
      tick();
      const g = a!.txLimitA(1);
      const f = b!.txLimitA(1);
      return g !== undefined && f === 32 ? [g, f] : undefined;
    }, 'the fleet car to get its full 32 A', 20_000);
    expect(fleet).toBe(32);
    expect(guest).toBeLessThanOrEqual(8);
  });

  it('lowers the caps when the building load steps up', async () => {
    const config = siteConfig({ gridA: 60 });
    await start(config);
    meter(QUIET_A);
    const [a] = await connect(config, ['CP1']);
    await a!.startTransaction(1, 'STAFF1');
    await waitFor(() => a!.txLimitA(1) === 32, 'a full 32 A with an idle building');
    // The car has not started drawing yet, and its charger says so: the rise is the building's.
    await a!.meter(1, [0, 0, 0]);
    meter(45);
    const lowered = await waitFor(() => {
      tick();
      void a!.meter(1, [0, 0, 0]).catch(() => undefined); // its charger keeps saying so
      const l = a!.txLimitA(1);
      return l !== undefined && l < 32 ? l : undefined;
    }, 'the cap to drop after the meter step');
    expect(lowered).toBeLessThanOrEqual(15 + 1e-9);
  });

  it('falls back to the failsafe current when the grid meter goes stale', async () => {
    const config = siteConfig({ gridA: 100 });
    const running = await start(config);
    meter(QUIET_A);
    const [a] = await connect(config, ['CP1']);
    await a!.startTransaction(1, 'STAFF1');
    await waitFor(() => a!.txLimitA(1) === 32, 'a full 32 A while the meter is fresh');
    clock.advance(config.control.staleAfterMs + 1_000);
    await running.control.runCycle();
    await waitFor(() => a!.txLimitA(1) === config.control.failsafeCurrent, 'the failsafe current');
    meter(QUIET_A);
    await waitFor(() => a!.txLimitA(1) === 32, 'recovery once the meter is fresh again');
  });

  it('reserves the full max current of a charger that rejects profiles', async () => {
    const config = siteConfig({ rowA: 50 });
    await start(config);
    meter(QUIET_A);
    const [a, b] = await connect(config, ['CP1', 'CP2']);
    a!.profileAnswer = 'Rejected';
    await a!.startTransaction(1, 'STAFF1');
    await waitFor(() => a!.profiles(1).some((p) => p.csChargingProfiles.chargingProfilePurpose === 'TxProfile'), 'a TxProfile attempt on the rejecting charger');
    await b!.startTransaction(1, 'GUEST1');
    const other = await waitFor(() => {
      const l = b!.txLimitA(1);
      return l !== undefined && l <= 50 - 32 ? l : undefined;
    }, 'the other charger to be held to what is left after the reservation');
    expect(other).toBeLessThanOrEqual(18 + 1e-9);
  });

  it('applies a priority change saved in the config editor without a restart', async () => {
    process.env.EMS_ADMIN_PASSWORD = 'integration-admin';
    const config = siteConfig({ rowA: 40, priority: 'fcfs' });
    const running = await start(config);
    meter(QUIET_A);
    const [a, b] = await connect(config, ['CP1', 'CP2']);
    await a!.startTransaction(1, 'GUEST1');
    await b!.startTransaction(1, 'FLEET1');
    await waitFor(() => (tick(), a!.txLimitA(1) === 32 && b!.txLimitA(1) === 8), 'first come, first served: the guest who came first gets 32 A', 20_000);

    const base = `http://127.0.0.1:${running.httpPort}`;
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'integration-admin' }),
    });
    const { token } = (await login.json()) as { token: string };
    const edited = { ...config, control: { ...config.control, priority: 'tier' } };
    const saved = await fetch(`${base}/api/v1/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ yaml: stringify(edited) }),
    });
    expect(saved.status).toBe(200);
    expect(((await saved.json()) as { applied: string[] }).applied).toContain('control');
    await waitFor(() => (tick(), b!.txLimitA(1) === 32 && a!.txLimitA(1) === 8), 'the fleet car to take the 32 A after the switch to tiers', 20_000);
  });

  it('pauses a session at 0 A when the operator pauses it, and resumes it', async () => {
    const config = siteConfig();
    await start(config);
    meter(QUIET_A);
    const [a] = await connect(config, ['CP1']);
    await a!.startTransaction(1, 'STAFF1');
    await waitFor(() => a!.txLimitA(1) === 32, 'charging at 32 A');
    app!.ctx.bus.emit('session.update', { chargerId: 'CP1', connectorId: 1, paused: true });
    await waitFor(() => a!.txLimitA(1) === 0, 'a 0 A profile while paused');
    app!.ctx.bus.emit('session.update', { chargerId: 'CP1', connectorId: 1, paused: false });
    await waitFor(() => a!.txLimitA(1) === 32, 'charging again after resume');
  });
});
