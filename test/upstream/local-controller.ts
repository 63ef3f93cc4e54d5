// The EMS's OCPP side in local-controller mode, as app.ts wires it: the central system on
// 127.0.0.1:0 with every charger's connection relayed by the upstream service, real SQLite storage.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema, type Config } from '../../config/schema.ts';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import { createCentralSystem } from '../../src/ocpp/central-system.ts';
import { OcppCallRefused } from '../../src/ocpp/errors.ts';
import { TransactionBook } from '../../src/ocpp/transaction-book.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { openStorage } from '../../src/storage/open-storage.ts';
import type { Timers } from '../../src/upstream/charger-relay.ts';
import { createUpstreamService } from '../../src/upstream/upstream-service.ts';

export const T0 = Date.parse('2026-11-24T10:00:00Z');

export function relayConfig(csmsUrl: string, overrides: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    site: { name: 'Relay', voltage: 230, timezone: 'Europe/Berlin' },
    grid: { maxCurrent: 100, safetyMargin: 0.05 },
    control: { profileDurationS: 300, profileMinIntervalMs: 0 },
    chargers: [
      { id: 'CP16', connectors: 2, maxCurrent: 32, phases: 3, upstreamId: 'CLOUD-CP16', upstreamPassword: 'cloud-password-16' },
      { id: 'CS201', connectors: 1, maxCurrent: 32, phases: 3, upstreamPassword: 'cloud-password-201' },
    ],
    idTags: [{ idTag: 'LOCAL01', tier: 'guest' }],
    ocpp: { host: '127.0.0.1', port: 0 },
    upstream: { url: csmsUrl, callTimeoutMs: 2_000, reconnectMinMs: 20, reconnectMaxMs: 200 },
    ...overrides,
  });
}

export async function startLocalController(config: Config, options: { dir?: string; log?: Logger; timers?: Timers; random?: () => number } = {}) {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'ems-upstream-'));
  const log = options.log ?? (process.env.UPSTREAM_TEST_LOG ? (await import('../../src/log.ts')).createLogger({ level: 'debug' }) : silentLogger);
  const clock = new ManualClock(T0);
  const bus = new Bus(silentLogger);
  const state = new SiteState(config, bus);
  const ctx = { config, bus, clock, state, log };
  const store = openStorage(join(dir, 'ems.sqlite'), clock);
  // One book, as app.ts wires it: the central system writes it, the relay reads it.
  const book = new TransactionBook(store.transactions, store.stationIds);
  const upstream = createUpstreamService(ctx, {
    store: store.upstream,
    book,
    refuse: (code, message) => new OcppCallRefused(code as OcppCallRefused['rpcErrorCode'], message),
    ...(options.timers ? { timers: options.timers } : {}),
    ...(options.random ? { random: options.random } : {}),
  });
  await upstream.start();
  const cs = createCentralSystem(ctx, {
    transactions: book,
    bootWaitMs: 60_000,
    wrapConnection: (connection, charger) => upstream.wrap(connection, charger),
    acceptedElsewhere: (idTag) => upstream.acceptedElsewhere(idTag),
  });
  await cs.start();
  const sessions: any[] = [];
  bus.on('session.started', (e) => sessions.push({ ...e, event: 'started' }));
  bus.on('session.ended', (e) => sessions.push({ ...e, event: 'ended' }));
  return {
    ctx,
    cs,
    upstream,
    store,
    clock,
    bus,
    dir,
    sessions,
    status: (chargerId: string) => upstream.status().find((s) => s.chargerId === chargerId)!,
    async stop(options: { keepDir?: boolean } = {}) {
      await cs.stop();
      await upstream.stop();
      store.close();
      if (!options.keepDir && !dir.startsWith('/keep')) rmSync(dir, { recursive: true, force: true });
    },
  };
}
