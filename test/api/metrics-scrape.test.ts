import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Decision } from '../../optimizer/types.ts';
import { createMetrics } from '../../src/api/metrics.ts';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { configSchema } from '../../config/schema.ts';
import { silentLogger } from '../../src/log.ts';
import type { ServiceContext } from '../../src/service.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { T0 } from './api-fixture.ts';

const CHARGERS = 200;
const ids = Array.from({ length: CHARGERS }, (_, i) => `CP${String(i + 1).padStart(4, '0')}`);

function site(): ServiceContext {
  const config = configSchema.parse({
    site: { name: 'Scrape depot', voltage: 230, timezone: 'Europe/Berlin' },
    grid: { maxCurrent: 4000 },
    chargers: ids.map((id) => ({ id, maxCurrent: 32 })),
    http: { host: '127.0.0.1', port: 0 },
  });
  const bus = new Bus(silentLogger);
  const ctx: ServiceContext = { config, bus, log: silentLogger, clock: new ManualClock(T0), state: new SiteState(config, bus) };
  for (const chargerId of ids) {
    bus.emit('charger.connected', { chargerId, atMs: T0, protocol: 'ocpp1.6' });
    bus.emit('connector.status', { chargerId, connectorId: 1, status: 'Charging', atMs: T0 });
    bus.emit('connector.meter', { chargerId, connectorId: 1, atMs: T0, currentA: [10, 10, 10], powerW: 6900, energyWh: 1000 });
  }
  const decision: Decision = {
    atMs: T0,
    failsafe: false,
    nextState: { connectors: {} },
    headroom: { limitA: [4000, 4000, 4000], headroomA: [2000, 2000, 2000], buildingA: [0, 0, 0], binding: { kind: 'grid-current', phase: 'L1', text: 'grid' } },
    caps: ids.map((chargerId) => ({ chargerId, connectorId: 1, currentA: 10, phases: 3 as const, reason: { kind: 'charger' as const, text: 'charger max' } })),
  };
  bus.emit('decision', decision);
  return ctx;
}

/** Turns of the event loop (setImmediate, after I/O) that ran while `work` was pending. */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let pending = true;
  const tick = () => {
    if (!pending) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const result = await work();
  pending = false;
  return { result, turns };
}

describe('a /metrics scrape at 200 chargers', () => {
  let metrics: ReturnType<typeof createMetrics>;
  beforeEach(() => {
    metrics = createMetrics(site(), { processMetrics: false, upstream: () => ids.map((chargerId) => ({ chargerId, upstreamId: chargerId, protocol: 'ocpp1.6', chargerLink: 'connected' as const, uplink: 'online' as const, queueLength: 0, csmsProfiles: 0, lastFromChargerAtMs: T0, lastToCsmsAtMs: T0 })) });
  });
  afterEach(() => metrics.stop());

  it("lets the event loop run between its parts (a charger's frame waits for a slice of it, not the whole scrape)", async () => {
    const { result, turns } = await turnsDuring(() => metrics.scrape());
    expect(result.match(/^ems_connector_cap_amperes\{/gm)).toHaveLength(CHARGERS);
    // ~1,600 series here, at most 64 to a turn, and a turn after every metric: ~45 turns. In one
    // task (Registry.metrics()) no other turn ran until it was done.
    expect(turns).toBeGreaterThanOrEqual(20);
  });

  it('reads exactly what the registry formats in one go', async () => {
    const text = await metrics.scrape();
    expect(text).toBe(await metrics.registry.metrics());
    expect(text.match(/^ems_upstream_last_message_timestamp_seconds\{/gm)).toHaveLength(2 * CHARGERS);
  });

  it('gives scrapes that overlap the same whole text (a gauge is never refilled by two at once)', async () => {
    const [a, b] = await Promise.all([metrics.scrape(), metrics.scrape()]);
    expect(a).toBe(b);
    expect(a.match(/^ems_connector_draw_amperes\{/gm)).toHaveLength(CHARGERS);
    const c = await metrics.scrape();
    expect(c).toBe(a);
  });
});
