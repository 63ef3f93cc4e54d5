import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Service, ServiceContext } from '../service.ts';
import type { Config } from '../../config/schema.ts';
import type { Storage } from '../storage/types.ts';
import type { UpstreamChargerStatus } from '../upstream/index.ts';
import { CsrfError, ForbiddenError, HttpListenError, HttpTlsError, NotFoundError } from './api-errors.ts';
import { CSRF_HEADER, SESSION_COOKIE, checkCsrf, createAuth, requireRole, type Auth, type AuthOptions } from './auth.ts';
import { installErrorHandler } from './error-handler.ts';
import type { EconomicsSource, PlanSource } from './economics-source.ts';
import { CurrentPlanOutlooks } from './plan-outlook.ts';
import { createEventLog, type EventLog } from './event-log.ts';
import { createLiveFeed } from './live-feed.ts';
import { createMetrics, type ControlStatsSource, type ExportStatsSource, type MqttStatsSource } from './metrics.ts';
import type { VenStatus } from '../openadr/types.ts';
import { registerOpenAdrMetrics } from './openadr-view.ts';
import type { RouteEnv, SignalsControl } from './route-env.ts';
import { buildStateView, type SessionCostSource, type StateView } from './state-view.ts';
import { registerAdminRoutes } from './routes/admin-routes.ts';
import { registerAuthRoutes } from './routes/auth-routes.ts';
import { registerConfigRoutes } from './routes/config-routes.ts';
import { registerEconomicsRoutes } from './routes/economics-routes.ts';
import { registerOpenAdrRoutes } from './routes/openadr-routes.ts';
import { registerSecurityMetrics, registerSecurityRoutes } from './routes/security-routes.ts';
import { registerSignalRoutes } from './routes/signal-routes.ts';
import { registerSiteRoutes } from './routes/site-routes.ts';
import { registerUpstreamRoutes } from './routes/upstream-routes.ts';
import { registerSteeringRoutes } from './routes/steering-routes.ts';
import { API_ERROR_SCHEMA, CIRCUIT_SCHEMA, documentRoute } from './route-docs.ts';
import { zodValidatorCompiler } from './zod-schema.ts';

export interface HttpDeps {
  store: Storage;
  /** The dashboard's build output (dashboard/dist), served at / with the SPA index for unknown paths. */
  staticDir?: string;
  signals?: SignalsControl;
  /** The OpenADR VENs' status (GET /api/v1/openadr, ems_openadr_* metrics). */
  openadr?: () => readonly VenStatus[];
  /** The tariff service: GET /kpis and /bills, and the running cost in connector and session views. */
  economics?: EconomicsSource;
  /** The horizon planner: GET /plan (answers {enabled:false} without it). */
  plan?: PlanSource;
  /** Each session's charge mode (solar charging), shown in connector views. */
  chargeMode?: (chargerId: string, connectorId: number) => string;
  /** The config file; PUT /api/v1/config saves there. Without it edits apply in memory only. */
  configPath?: string;
  /** With configPath: keep the Settings page's edits in this overrides file instead of writing configPath. */
  overridesPath?: string;
  /** What the process runs with for a config read from the file (see AppOptions.runtimeConfig). */
  runtimeConfig?: (fromFile: Config) => Config;
  /**
   * Config sections that take effect without a restart: the services using them re-read
   * ctx.config on the bus event 'config.changed'. Default none: every edit is saved and reported
   * as needing a restart.
   */
  liveConfigSections?: readonly string[];
  /** The control loop's stats, for the cycle-time metric. */
  controlStats?: () => ControlStatsSource;
  /** The InfluxDB export's counters, when it runs. */
  exportStats?: () => ExportStatsSource;
  /** The site's event log (GET /api/v1/events); default one started with this service. */
  events?: EventLog;
  /** The MQTT bridge's connection and error counters, when it runs. */
  mqttStats?: () => MqttStatsSource;
  /** Process CPU/memory/event-loop metrics on /metrics (default true; tests that make many services turn them off). */
  processMetrics?: boolean;
  auth?: AuthOptions;
  /** Minimum gap between live pushes, ms (default 500: at most 2 per second). */
  liveMinGapMs?: number;
  /** Local-controller mode: per charger, its uplink to the cloud CSMS. */
  upstream?: () => readonly UpstreamChargerStatus[];
  /** The central system's chargers without any credential on a non-loopback port (GET /api/v1/security, a metric). */
  unauthenticatedChargers?: () => readonly string[];
}

export interface HttpService extends Service {
  /** The bound port (config http.port 0 picks a free one). */
  readonly port: number;
  /** For tests (fastify inject) and benchmarks. */
  readonly app: FastifyInstance;
  readonly auth: Auth;
  /** Every registered route (method, url), e.g. for a test that each write route checks roles. */
  readonly routes: readonly { method: string; url: string }[];
  /** Resolves when every route is registered (inject() works from then on). */
  ready(): Promise<void>;
  /** What GET /api/v1/state answers at `atMs` (the terminal demo prints it). */
  stateView(atMs: number): StateView;
}

function readTls(tls: { cert: string; key: string; ca?: string } | undefined) {
  if (!tls) return undefined;
  try {
    return { cert: readFileSync(tls.cert), key: readFileSync(tls.key), ...(tls.ca ? { ca: readFileSync(tls.ca) } : {}) };
  } catch (cause) {
    throw new HttpTlsError(`cannot read the HTTPS files (http.tls): ${(cause as Error).message}`, { cause });
  }
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const DOCS_PREFIX = '/api/docs';
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');
const NOT_SPA = /^\/(api|metrics|healthz)(\/|$|\?)/;

/**
 * The EMS's HTTP side: the /api/v1 REST API with login, roles, CSRF and audit, the live
 * WebSocket, /metrics, /healthz, OpenAPI docs at /api/docs, and the dashboard's static files.
 * Routes are registered at creation, so `app.inject()` works before start(); start() listens.
 */
export function createHttpService(ctx: ServiceContext, deps: HttpDeps): HttpService {
  const log = ctx.log.child({ module: 'api' });
  // Read first: if the files are bad nothing below has subscribed to the bus yet.
  const https = readTls(ctx.config.http.tls);
  const auth = createAuth(deps.store, ctx.clock, log, {
    ...(ctx.config.storage.path !== ':memory:' ? { setupTokenFile: join(dirname(resolve(ctx.config.storage.path)), 'setup-token.txt') } : {}),
    onSecurityEvent: (kind, ip) => ctx.bus.emit('security.event', { kind, atMs: ctx.clock.nowMs(), remoteAddress: ip }),
    ...deps.auth,
  });
  const metrics = createMetrics(ctx, { controlStats: deps.controlStats, exportStats: deps.exportStats, processMetrics: deps.processMetrics ?? true, upstream: deps.upstream, mqtt: deps.mqttStats });
  if (deps.openadr) registerOpenAdrMetrics(metrics.registry, deps.openadr, () => ctx.clock.nowMs());
  if (deps.unauthenticatedChargers) registerSecurityMetrics(metrics.registry, deps.unauthenticatedChargers);
  const economics = deps.economics;
  // Walked once per plan in force, read per connector on each answer and live tick.
  const planOutlooks = new CurrentPlanOutlooks(deps.plan);
  const sessionSources: SessionCostSource = {
    sessionBill: (chargerId, connectorId) => economics?.sessionBill(chargerId, connectorId),
    ...(deps.chargeMode ? { chargeMode: deps.chargeMode } : {}),
    planOutlook: (chargerId, connectorId, atMs) => planOutlooks.at(`${chargerId}/${connectorId}`, atMs),
  };
  const live = createLiveFeed(ctx, deps.liveMinGapMs, undefined, sessionSources);
  // The app hands in a log it started before the other services (so the start-up failsafe is in it).
  const ownsEvents = deps.events === undefined;
  const events = deps.events ?? createEventLog(ctx);
  // With http.tls the same routes are served over HTTPS; cookies are then marked Secure.
  const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024, trustProxy: ctx.config.http.trustProxy, ...(https ? { https } : {}) } as FastifyServerOptions) as unknown as FastifyInstance;
  let port = 0;
  let ready: Promise<void> | undefined;

  const routes: { method: string; url: string }[] = [];
  app.addSchema(API_ERROR_SCHEMA);
  app.addSchema(CIRCUIT_SCHEMA);
  app.addHook('onRoute', documentRoute);
  app.addHook('onRoute', (route) => {
    for (const method of ([] as string[]).concat(route.method)) routes.push({ method, url: route.url });
  });
  app.decorateRequest('principal', null);
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installErrorHandler(app, log);
  for (const type of ['text/yaml', 'application/yaml', 'application/x-yaml']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => done(null, body));
  }

  const authenticate = (request: FastifyRequest) => {
    const principal = auth.authenticate(request.headers.authorization, request.cookies[SESSION_COOKIE]);
    if (principal || request.method !== 'GET' || !request.url.startsWith('/api/v1/live')) return principal;
    // Browsers cannot set headers on a WebSocket; the live feed also takes ?token=.
    const token = (request.query as Record<string, unknown> | undefined)?.token;
    return typeof token === 'string' ? auth.authenticate(`Bearer ${token}`, undefined) : undefined;
  };

  const env: RouteEnv = {
    ctx,
    store: deps.store,
    auth,
    events,
    signals: deps.signals,
    openadr: deps.openadr,
    economics: deps.economics,
    sessionSources,
    plan: deps.plan,
    configPath: deps.configPath,
    overridesPath: deps.overridesPath,
    runtimeConfig: deps.runtimeConfig,
    liveConfigSections: deps.liveConfigSections ?? [],
    ...(deps.upstream ? { upstream: deps.upstream } : {}),
    ...(deps.unauthenticatedChargers ? { unauthenticatedChargers: deps.unauthenticatedChargers } : {}),
    guard: (role) => async (request) => {
      const principal = requireRole(authenticate(request), role);
      if (WRITE_METHODS.has(request.method) && !checkCsrf(principal, request.headers[CSRF_HEADER])) {
        throw new CsrfError(`cookie-authenticated writes need the ${CSRF_HEADER} header (the ems_csrf cookie's value)`);
      }
      request.principal = principal;
    },
    audit: (request, action, target, before, after) => {
      deps.store.audit.record({ actor: request.principal?.username ?? 'anonymous', action, target, before, after, ip: request.ip });
    },
  };

  // The dashboard steers chargers: no framing by other sites, no MIME sniffing, no referrer leaks,
  // and no script but the dashboard's own files (an injected inline script does not run).
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'same-origin');
    if (!request.url.startsWith(DOCS_PREFIX)) reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  });
  // Source maps would publish the dashboard's sources; they stay on disk for development only.
  app.addHook('onRequest', async (request) => {
    if (request.method === 'GET' && /\.map(\?|$)/.test(request.url) && !request.url.startsWith('/api/')) throw new NotFoundError('no such file');
  });

  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  const setup = async () => {
    await app.register(fastifyCookie);
    await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });
    await app.register(fastifySwagger, {
      openapi: {
        info: {
          title: 'EMS API',
          version: 'v1',
          description: 'Site energy management: state, steering, config, users, audit. Errors answer the ApiError schema.',
          license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
        },
        servers: [{ url: '/', description: 'this EMS' }],
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, cookie: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE } } },
        security: [{ bearer: [] }, { cookie: [] }],
      },
      // Shared schemas keep their names (#/components/schemas/ApiError).
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    });
    const docsGuard = env.guard('viewer');
    await app.register(fastifySwaggerUi, {
      routePrefix: DOCS_PREFIX,
      staticCSP: true,
      ...(ctx.config.http.publicDocs ? {} : { uiHooks: { onRequest: (request, reply, done) => void docsGuard(request, reply).then(() => done(), done) } }),
    });

    // 503 when the control loop has stopped deciding (the watchdog and load balancers act on it).
    app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness: 200 while the control loop decides, 503 when it has stalled (no login)' } }, async (_request, reply) => {
      const nowMs = ctx.clock.nowMs();
      const lastMs = ctx.state.lastDecision?.atMs;
      const stallMs = Math.max(5_000, 5 * ctx.config.control.intervalMs);
      const stalled = lastMs !== undefined && nowMs - lastMs > stallMs;
      return reply.status(stalled ? 503 : 200).send({
        status: stalled ? 'stalled' : 'ok',
        at: new Date(nowMs).toISOString(),
        lastDecisionAt: lastMs === undefined ? null : new Date(lastMs).toISOString(),
        failsafe: ctx.state.lastDecision?.failsafe ?? false,
      });
    });
    app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics (public unless http.publicMetrics is false; then a viewer token)' }, ...(ctx.config.http.publicMetrics ? {} : { onRequest: env.guard('viewer') }) }, async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.scrape();
    });
    registerAuthRoutes(app, env);
    registerSiteRoutes(app, env);
    registerUpstreamRoutes(app, env);
    registerSteeringRoutes(app, env);
    registerConfigRoutes(app, env);
    registerEconomicsRoutes(app, env);
    registerAdminRoutes(app, env);
    registerSignalRoutes(app, env);
    registerOpenAdrRoutes(app, env);
    registerSecurityRoutes(app, env);
    const viewerGuard = env.guard('viewer');
    app.get(
      '/api/v1/live',
      {
        websocket: true,
        schema: { tags: ['site'], summary: 'Live feed (WebSocket): the state view and site events as they change (viewer)' },
        // @fastify/websocket hides its routes from the document; this one is part of the API.
        config: { swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, hide: false }, url }) },
        onRequest: async (request, reply) => {
          // Browsers send Origin on WebSocket handshakes; another site's page (or a sandboxed one,
          // Origin: null) must not read the feed. Clients that are not browsers send none.
          const origin = request.headers.origin;
          if (origin !== undefined) {
            let host: string | undefined;
            try {
              host = new URL(origin).host;
            } catch {
              host = undefined;
            }
            if (host !== request.headers.host) throw new ForbiddenError(`live feed refused for origin ${origin}`);
          }
          await viewerGuard(request, reply);
        },
      },
      (socket) => live.add(socket),
    );

    const staticDir = deps.staticDir ? resolve(deps.staticDir) : undefined;
    const index = staticDir ? join(staticDir, 'index.html') : undefined;
    if (staticDir && existsSync(staticDir)) {
      await app.register(fastifyStatic, { root: staticDir, prefix: '/', wildcard: false, index: 'index.html' });
    } else {
      app.get('/', { schema: { hide: true } }, async (_request, reply) =>
        reply.type('text/html').send('<!doctype html><title>EMS</title><p>The dashboard is not built. Run <code>npm run build:dashboard</code>. The API is at <a href="/api/docs">/api/docs</a>.</p>'),
      );
    }
    app.setNotFoundHandler(async (request, reply) => {
      if (request.method === 'GET' && !NOT_SPA.test(request.url) && index && existsSync(index)) {
        return reply.type('text/html').sendFile('index.html');
      }
      throw new NotFoundError(`no route ${request.method} ${request.url.split('?')[0]}`);
    });
    await app.ready();
  };
  ready = setup();
  // Callers of ready()/start() see a failure; this only keeps it from being reported as unhandled.
  ready.catch((err) => log.error({ err }, 'HTTP service setup failed'));

  return {
    name: 'http',
    app,
    auth,
    routes,
    get port() {
      return port;
    },
    ready: () => ready!,
    stateView: (atMs) => buildStateView(ctx.state, ctx.config, atMs, sessionSources),
    async start() {
      await ready;
      await auth.bootstrap();
      try {
        await app.listen({ host: ctx.config.http.host, port: ctx.config.http.port });
      } catch (cause) {
        const code = (cause as NodeJS.ErrnoException).code;
        const why = code === 'EADDRINUSE' ? 'the port is in use' : code === 'EACCES' ? 'permission denied' : (cause as Error).message;
        throw new HttpListenError(`cannot serve HTTP on ${ctx.config.http.host}:${ctx.config.http.port} (http.host/http.port): ${why}`, { cause });
      }
      const address = app.server.address();
      port = typeof address === 'object' && address ? address.port : 0;
      log.info({ port }, `dashboard and API on ${https ? 'https' : 'http'}://${ctx.config.http.host}:${port}/`);
    },
    async stop() {
      live.stop();
      if (ownsEvents) events.stop();
      metrics.stop();
      await app.close();
    },
  };
}
