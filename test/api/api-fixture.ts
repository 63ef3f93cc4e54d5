// A real HTTP service over real SQLite (in memory) and a real bus/state, for fastify inject tests.
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { configSchema, type Config } from '../../config/schema.ts';
import { createHttpService, type HttpDeps, type HttpService } from '../../src/api/http-service.ts';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import type { ServiceContext } from '../../src/service.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { openStorage } from '../../src/storage/open-storage.ts';
import type { Role, Storage } from '../../src/storage/types.ts';

export const ADMIN_PASSWORD = 'admin-password-1';
export const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);

export function testConfig(overrides: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    site: { name: 'Test Depot', voltage: 230, timezone: 'Europe/Berlin' },
    grid: { maxCurrent: 63, meter: 'grid' },
    circuits: [{ id: 'main', maxCurrent: 63, children: [{ id: 'row-a', maxCurrent: 32, chargers: ['CP001', 'CP002'] }] }],
    chargers: [
      { id: 'CP001', connectors: 2, maxCurrent: 32 },
      { id: 'CP002', connectors: 1, maxCurrent: 16, phases: 1, phaseRotation: 'L2L3L1' },
    ],
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
    http: { host: '127.0.0.1', port: 0 },
    ...overrides,
  });
}

export interface ApiFixture {
  ctx: ServiceContext;
  clock: ManualClock;
  store: Storage;
  http: HttpService;
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** Logs in over the API; returns the bearer token, the cookies and the CSRF value. */
  login(username: string, password: string): Promise<{ token: string; cookie: string; csrf: string }>;
  /** Creates a user directly and logs in as it. */
  userToken(role: Role): Promise<string>;
  close(): Promise<void>;
}

export async function createApiFixture(
  options: {
    config?: Config;
    deps?: Partial<HttpDeps>;
    env?: Record<string, string>;
    /** Deps that need the fixture's context and store (e.g. a real tariff service). */
    depsFor?: (ctx: ServiceContext, store: Storage) => Promise<Partial<HttpDeps>>;
  } = {},
): Promise<ApiFixture> {
  const config = options.config ?? testConfig();
  const clock = new ManualClock(T0);
  const bus = new Bus(silentLogger);
  const state = new SiteState(config, bus);
  const ctx: ServiceContext = { config, bus, log: silentLogger, clock, state };
  const store = openStorage(':memory:', clock);
  const extra = options.depsFor ? await options.depsFor(ctx, store) : {};
  const http = createHttpService(ctx, {
    store,
    processMetrics: false,
    ...extra,
    ...options.deps,
    auth: { env: options.env ?? { EMS_ADMIN_PASSWORD: ADMIN_PASSWORD }, print: () => {}, scryptN: 1 << 10, ...options.deps?.auth },
  });
  await http.ready();
  await http.auth.bootstrap();
  const inject = (o: InjectOptions) => http.app.inject(o);
  const login = async (username: string, password: string) => {
    const res = await inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
    if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode} ${res.body}`);
    const cookies = res.cookies as { name: string; value: string }[];
    const csrf = cookies.find((c) => c.name === 'ems_csrf')!.value;
    return { token: res.json().token as string, cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; '), csrf };
  };
  let n = 0;
  return {
    ctx,
    clock,
    store,
    http,
    inject,
    login,
    async userToken(role) {
      const username = `${role}${++n}`;
      store.users.create({ username, passwordHash: await http.auth.hashPassword('password-123'), role });
      return (await login(username, 'password-123')).token;
    },
    async close() {
      await http.stop();
      store.close();
    },
  };
}

/** Puts a running session on a connector, as the OCPP side would. */
export function startSession(ctx: ServiceContext, chargerId: string, connectorId: number, transactionId: number): void {
  ctx.bus.emit('session.started', {
    chargerId,
    connectorId,
    transactionId,
    idTag: 'TAG-1',
    tier: 'staff',
    startedAtMs: T0 - 600_000,
    meterStartWh: 1000,
  });
}
