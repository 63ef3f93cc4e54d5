// Starts the real central system on 127.0.0.1 port 0 with a config, and records what reaches the bus.
import { configSchema, type Config } from '../../config/schema.ts';
import { Bus, type BusEvents } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import { createCentralSystem, type CentralSystemDeps } from '../../src/ocpp/central-system.ts';
import { MemoryTransactionStore } from '../../src/state/memory-transaction-store.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { FakeCharger, type FakeChargerOptions } from './fake-charger.ts';

export const T0 = Date.parse('2026-11-24T10:00:00Z');

export type Recorded = { [E in keyof BusEvents]: BusEvents[E][] };

export function testConfig(overrides: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    site: { name: 'Test', voltage: 230, timezone: 'Europe/Berlin' },
    grid: { maxCurrent: 100, safetyMargin: 0.05 },
    control: { profileDurationS: 300, profileMinIntervalMs: 2000, tiers: { fleet: 3, staff: 2, guest: 1 } },
    chargers: [
      { id: 'CP001', connectors: 2, maxCurrent: 32, minCurrent: 6, phases: 3 },
      { id: 'CP002', connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3, password: 'secret-password-2', tier: 'staff' },
    ],
    idTags: [
      { idTag: 'FLEET01', tier: 'fleet', departure: '07:30', energyNeedWh: 40000 },
      { idTag: 'GUEST01', tier: 'guest' },
    ],
    ocpp: { host: '127.0.0.1', port: 0 },
    ...overrides,
  });
}

export async function startSystem(config: Config = testConfig(), deps: Partial<CentralSystemDeps> = {}, log: Logger = silentLogger) {
  const bus = new Bus(silentLogger);
  const clock = new ManualClock(T0);
  const state = new SiteState(config, bus);
  const events = {} as Recorded;
  const track = <E extends keyof BusEvents>(event: E) => {
    (events as any)[event] = [];
    bus.on(event, (payload) => (events as any)[event].push(payload));
  };
  for (const e of ['charger.connected', 'charger.disconnected', 'connector.status', 'connector.meter', 'session.started', 'session.ended', 'profile.status'] as const) track(e);
  const transactions = deps.transactions ?? new MemoryTransactionStore();
  const cs = createCentralSystem({ config, bus, clock, state, log }, { bootWaitMs: 60_000, ...deps, transactions });
  await cs.start();
  const chargers: FakeCharger[] = [];
  return {
    cs,
    bus,
    clock,
    state,
    events,
    config,
    transactions,
    /** Connects, boots and waits until the central system has set the charger up. */
    async charger(identity: string, options: Partial<FakeChargerOptions> = {}): Promise<FakeCharger> {
      const connectors = config.chargers.find((c) => c.id === identity)?.connectors ?? 1;
      const password = config.chargers.find((c) => c.id === identity)?.password;
      const charger = new FakeCharger({ port: cs.port, identity, connectors, ...(password ? { password } : {}), ...options });
      chargers.push(charger);
      await charger.connect();
      const ready = cs.whenReady(identity);
      await charger.boot();
      await ready;
      return charger;
    },
    async stop() {
      await Promise.all(chargers.map((c) => c.close().catch(() => undefined)));
      await cs.stop();
    },
  };
}

export type System = Awaited<ReturnType<typeof startSystem>>;

/** A pino logger whose lines land in `lines` (parsed), for tests that assert on logging. */
export async function capturingLogger(): Promise<{ log: Logger; lines: Record<string, any>[] }> {
  const { pino } = await import('pino');
  const { Writable } = await import('node:stream');
  const lines: Record<string, any>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}
