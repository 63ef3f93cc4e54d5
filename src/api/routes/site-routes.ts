import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ConnectorHistoryResolution, HistoryResolution, HistorySample } from '../../storage/types.ts';
import { ApiValidationError, NotFoundError } from '../api-errors.ts';
import { circuitViews } from '../circuit-view.ts';
import type { RouteEnv } from '../route-env.ts';
import { jsonOrCsv } from '../route-docs.ts';
import { toCsv } from '../csv.ts';
import { exportRange, fileStamp, sendCsv } from '../csv-reply.ts';
import { idTagNames, idTagTiers } from '../id-tag-names.ts';
import { sessionCsv, sessionEnergyWh, sessionRows } from '../session-rows.ts';
import { buildStateView, connectorViews, deviceViews, signalViews } from '../state-view.ts';
import { connectorHistoryViewSchema, connectorViewSchema, deviceViewSchema, stateViewSchema } from '../view-schemas.ts';
import { upstreamView } from '../upstream-view.ts';
import { jsonSchema, responseSchema } from '../zod-schema.ts';
import { historyPoints } from '../history-points.ts';

const HISTORY_RESOLUTIONS = ['1s', '1m', '15m'] as const satisfies readonly HistoryResolution[];
const CONNECTOR_HISTORY_RESOLUTIONS = ['1m', '15m'] as const satisfies readonly ConnectorHistoryResolution[];
const connectorParams = z.object({ chargerId: z.string().min(1), connectorId: z.coerce.number().int().min(1).max(99) });
/** The last millisecond of year 9999: later epoch values are typos or probes, answered 400. */
const MAX_EPOCH_MS = 253_402_300_799_999;
const timeParam = z
  .union([z.string().regex(/^\d{1,16}$/).transform(Number), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))])
  .pipe(z.number().int().min(0, 'before 1970').max(MAX_EPOCH_MS, 'after year 9999'));
const historyQuery = z.strictObject({
  from: timeParam.optional().describe('ISO 8601 time or epoch ms; default 24 h before `to`'),
  to: timeParam.optional().describe('ISO 8601 time or epoch ms; default now'),
  resolution: z.enum([...HISTORY_RESOLUTIONS, 'auto']).default('auto'),
  format: z.enum(['json', 'csv']).default('json').describe('csv: one row per point (mean power per interval, W; grid import and export energy per interval, Wh)'),
});
const connectorHistoryQuery = z.strictObject({
  from: timeParam.optional().describe('ISO 8601 time or epoch ms; default 24 h before `to`'),
  to: timeParam.optional().describe('ISO 8601 time or epoch ms; default now'),
  resolution: z.enum([...CONNECTOR_HISTORY_RESOLUTIONS, 'auto']).default('auto').describe('1m kept 7 days, 15m kept 1 year; auto: 1m for up to 3 days within the last 7'),
  chargerId: z.string().min(1).max(200).optional().describe('only this charger'),
  connectorId: z.coerce.number().int().min(1).max(99).optional().describe('only this connector (with chargerId)'),
  format: z.enum(['json', 'csv']).default('json').describe('csv: one row per connector and interval (energy Wh, mean power W, mean current per phase A, mean cap A)'),
});
const sessionsQuery = z.strictObject({
  since: timeParam.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  format: z.enum(['json', 'csv']).default('json').describe('csv: every session started in [from, to) as text/csv (billing export)'),
  from: timeParam.optional().describe('csv: ISO 8601 time or epoch ms; default 31 days before `to`'),
  to: timeParam.optional().describe('csv: ISO 8601 time or epoch ms; default now'),
});

const HOUR_MS = 3_600_000;
const roundW = (w: number | undefined) => (w === undefined ? null : Math.round(w));

const costOf = (bill: { cost: number; currency: string } | undefined) =>
  bill ? { cost: Math.round(bill.cost * 10_000) / 10_000, currency: bill.currency } : { cost: null, currency: null };

function autoResolution(fromMs: number, toMs: number, nowMs: number): HistoryResolution {
  const spanMs = toMs - fromMs;
  if (fromMs >= nowMs - HOUR_MS && spanMs <= HOUR_MS) return '1s';
  if (fromMs >= nowMs - 7 * 24 * HOUR_MS && spanMs <= 3 * 24 * HOUR_MS) return '1m';
  return '15m';
}

export function registerSiteRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { ctx, store } = env;
  const viewer = env.guard('viewer');
  const now = () => ctx.clock.nowMs();

  app.get(
    '/api/v1/state',
    {
      onRequest: viewer,
      schema: { tags: ['site'], summary: 'Site measurements, headroom, caps and reasons per connector, devices, signals', response: { 200: responseSchema(stateViewSchema) } },
    },
    async () =>
    buildStateView(ctx.state, ctx.config, now(), env.sessionSources),
  );

  app.get(
    '/api/v1/connectors',
    { onRequest: viewer, schema: { tags: ['connectors'], summary: 'Every connector with its cap, draw, reason and session', response: { 200: responseSchema(z.array(connectorViewSchema)) } } },
    async () =>
    connectorViews(ctx.state, ctx.config, env.sessionSources, ctx.clock.nowMs()),
  );

  app.get<{ Params: z.infer<typeof connectorParams> }>(
    '/api/v1/connectors/:chargerId/:connectorId',
    { onRequest: viewer, schema: { tags: ['connectors'], summary: 'One connector', params: jsonSchema(connectorParams), response: { 200: responseSchema(connectorViewSchema) } } },
    async (request) => {
      const { chargerId, connectorId } = request.params;
      const view = connectorViews(ctx.state, ctx.config, env.sessionSources, ctx.clock.nowMs()).find((c) => c.chargerId === chargerId && c.connectorId === connectorId);
      if (!view) throw new NotFoundError(`no connector ${chargerId}/${connectorId}`);
      return view;
    },
  );

  app.get<{ Querystring: z.infer<typeof sessionsQuery> }>(
    '/api/v1/sessions',
    { onRequest: viewer, schema: { tags: ['sessions'], summary: 'Active sessions and recent transactions', querystring: jsonSchema(sessionsQuery) } },
    async (request, reply) => {
      if (request.query.format === 'csv') {
        const { fromMs, toMs } = exportRange(request.query.from, request.query.to, now());
        const rows = sessionRows(
          { config: ctx.config, transactions: store.transactions, sessionSettings: store.sessionSettings, bills: env.economics?.billsBetween(fromMs, Number.MAX_SAFE_INTEGER) ?? [], nowMs: now() },
          fromMs,
          toMs,
        );
        return sendCsv(reply, `sessions-${fileStamp(fromMs)}-${fileStamp(toMs)}.csv`, sessionCsv(rows));
      }
      const active = connectorViews(ctx.state, ctx.config, env.sessionSources, ctx.clock.nowMs())
        .filter((c) => c.session)
        .map((c) => ({ chargerId: c.chargerId, connectorId: c.connectorId, capA: c.capA, drawA: c.drawA, reason: c.reason, rank: c.rank, ...c.session! }));
      // Cost of a recorded transaction, from the tariff service's bills (running and recent ended ones).
      const bills = new Map((env.economics?.sessionBills(1000) ?? []).map((b) => [`${b.chargerId}#${b.transactionId}`, b]));
      const nameOf = idTagNames(ctx.config);
      const tierOf = idTagTiers(ctx.config);
      const recent = store.transactions.list({ sinceMs: request.query.since, limit: request.query.limit }).map((t) => ({
        ...t,
        name: nameOf(t.idTag),
        // The tier it charged at: the operator's override, else the bill's (the tier at start), else the tag's.
        tier: store.sessionSettings.get(t.transactionId)?.tier ?? bills.get(`${t.chargerId}#${t.transactionId}`)?.tier ?? tierOf(t.idTag),
        ...costOf(bills.get(`${t.chargerId}#${t.transactionId}`)),
        startedAt: new Date(t.startedAtMs).toISOString(),
        stoppedAt: t.stoppedAtMs === undefined ? null : new Date(t.stoppedAtMs).toISOString(),
        energyWh: sessionEnergyWh(t, bills.get(`${t.chargerId}#${t.transactionId}`)),
        settings: store.sessionSettings.get(t.transactionId) ?? null,
      }));
      return { active, recent };
    },
  );

  app.get('/api/v1/chargers', { onRequest: viewer, schema: { tags: ['connectors'], summary: 'Chargers: OCPP connection, protocol, limits from the config' } }, async () =>
    ctx.config.chargers.map((c) => {
      const link = ctx.state.chargers.get(c.id);
      const upstream = env.upstream?.().find((u) => u.chargerId === c.id);
      return {
        id: c.id,
        online: link?.online ?? false,
        protocol: link?.protocol ?? null,
        since: link?.sinceMs === undefined ? null : new Date(link.sinceMs).toISOString(),
        connectors: c.connectors,
        maxCurrentA: c.maxCurrent,
        minCurrentA: c.minCurrent,
        phases: c.phases,
        phaseRotation: c.phaseRotation,
        tier: c.tier ?? null,
        upstream: upstream ? upstreamView(upstream) : null,
      };
    }),
  );

  app.get(
    '/api/v1/devices',
    { onRequest: viewer, schema: { tags: ['site'], summary: 'Meters, PV, batteries: health and staleness', response: { 200: responseSchema(z.array(deviceViewSchema)) } } },
    async () =>
    deviceViews(ctx.state, ctx.config, now()),
  );

  app.get('/api/v1/circuits', { onRequest: viewer, schema: { tags: ['site'], summary: 'The fuse tree with load, EV load and caps per phase' } }, async () =>
    circuitViews(ctx.state, ctx.config),
  );

  app.get('/api/v1/signals', { onRequest: viewer, schema: { tags: ['signals'], summary: 'Active and upcoming grid signals' } }, async () =>
    env.signals ? env.signals.list() : signalViews(ctx.state, now()),
  );

  if (env.signals) {
    const signals = env.signals;
    const eventParams = z.object({ eventId: z.string().min(1).max(200) });
    for (const [verb, act] of [
      ['opt-out', (id: string, actor: { username: string; role: string }) => signals.optOut(id, actor)],
      ['opt-in', (id: string, actor: { username: string; role: string }) => signals.optIn(id, actor)],
    ] as const) {
      app.post<{ Params: z.infer<typeof eventParams> }>(
        `/api/v1/signals/:eventId/${verb}`,
        { onRequest: env.guard('operator'), schema: { tags: ['signals'], summary: `${verb} of a grid event`, params: jsonSchema(eventParams) } },
        async (request) => {
          const { username, role } = request.principal!;
          act(request.params.eventId, { username, role });
          env.audit(request, `signal.${verb}`, request.params.eventId, undefined, { opt: verb === 'opt-out' ? 'out' : 'in' });
          return { ok: true };
        },
      );
    }
  }

  app.get<{ Querystring: z.infer<typeof historyQuery> }>(
    '/api/v1/history',
    {
      onRequest: viewer,
      schema: {
        tags: ['site'],
        summary: 'Power history (grid, grid import and export apart, PV, battery, EV total, building, limit) and grid current per phase; 1 s kept 1 h, 1 min kept 7 days, 15 min kept 1 year',
        querystring: jsonSchema(historyQuery),
      },
    },
    async (request, reply) => {
      const nowMs = now();
      // Default `to` includes the sample of the current second.
      const toMs = request.query.to ?? nowMs + 1;
      const fromMs = request.query.from ?? toMs - 24 * HOUR_MS;
      if (!(fromMs < toMs)) throw new ApiValidationError([{ path: 'from', message: 'must be before `to`' }]);
      const resolution = request.query.resolution === 'auto' ? autoResolution(fromMs, toMs, nowMs) : request.query.resolution;
      const points = historyPoints(store.history, fromMs, toMs, resolution);
      // A point's energy: its mean × the samples behind it × sampleMs (a sample per control cycle,
      // at most one a second). Import and export are split per sample before any mean.
      const sampleMs = Math.max(1000, ctx.config.control.intervalMs);
      const gridWh = (p: HistorySample, w: number | undefined) => (w === undefined ? 0 : (w * (p.gridSamples ?? 0) * sampleMs) / HOUR_MS);
      if (request.query.format === 'csv') {
        const columns = ['gridPowerW', 'pvPowerW', 'batteryPowerW', 'evPowerW', 'buildingPowerW', 'limitPowerW'] as const;
        const phases = ['gridL1A', 'gridL2A', 'gridL3A'] as const;
        const roundA = (a: number | undefined) => (a === undefined ? null : Math.round(a * 100) / 100);
        const roundWh = (wh: number) => Math.round(wh * 10_000) / 10_000;
        const body = toCsv(
          ['time', 'resolution', ...columns, ...phases, 'gridImportW', 'gridExportW', 'gridImportWh', 'gridExportWh', 'gridNettedSamples'],
          points.map((p) => [
            new Date(p.atMs).toISOString(),
            resolution,
            ...columns.map((c) => roundW(p[c])),
            ...phases.map((c) => roundA(p[c])),
            roundW(p.gridImportW),
            roundW(p.gridExportW),
            roundWh(gridWh(p, p.gridImportW)),
            roundWh(gridWh(p, p.gridExportW)),
            p.gridNettedSamples ?? 0,
          ]),
        );
        return sendCsv(reply, `history-${resolution}-${fileStamp(fromMs)}-${fileStamp(toMs)}.csv`, body);
      }
      const totals = { gridImportWh: 0, gridExportWh: 0, gridNettedSamples: 0 };
      const withEnergy = points.map((p) => {
        const gridImportWh = gridWh(p, p.gridImportW);
        const gridExportWh = gridWh(p, p.gridExportW);
        totals.gridImportWh += gridImportWh;
        totals.gridExportWh += gridExportWh;
        totals.gridNettedSamples += p.gridNettedSamples ?? 0;
        return { ...p, gridImportWh, gridExportWh };
      });
      return { resolution, sampleMs, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), totals, points: withEnergy };
    },
  );

  app.get<{ Querystring: z.infer<typeof connectorHistoryQuery> }>(
    '/api/v1/history/connectors',
    {
      onRequest: viewer,
      schema: {
        tags: ['site'],
        summary: 'History per connector: energy, mean power, current per phase and cap per minute or quarter hour (intervals without a car or a draw are left out)',
        querystring: jsonSchema(connectorHistoryQuery),
        response: jsonOrCsv(connectorHistoryViewSchema),
      },
    },
    async (request, reply) => {
      const { chargerId, connectorId } = request.query;
      if (connectorId !== undefined && chargerId === undefined) throw new ApiValidationError([{ path: 'connectorId', message: 'needs chargerId' }]);
      if (chargerId !== undefined && !ctx.config.chargers.some((c) => c.id === chargerId)) throw new NotFoundError(`no charger ${chargerId}`);
      const nowMs = now();
      const toMs = request.query.to ?? nowMs + 1;
      const fromMs = request.query.from ?? toMs - 24 * HOUR_MS;
      if (!(fromMs < toMs)) throw new ApiValidationError([{ path: 'from', message: 'must be before `to`' }]);
      const auto: ConnectorHistoryResolution = autoResolution(fromMs, toMs, nowMs) === '15m' ? '15m' : '1m';
      const resolution = request.query.resolution === 'auto' ? auto : request.query.resolution;
      const points = store.connectorHistory.query(fromMs, toMs, resolution, { chargerId, connectorId });
      if (request.query.format === 'csv') {
        const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
        const body = toCsv(
          ['time', 'resolution', 'chargerId', 'connectorId', 'energyWh', 'powerW', 'l1A', 'l2A', 'l3A', 'capA'],
          points.map((p) => [new Date(p.atMs).toISOString(), resolution, p.chargerId, p.connectorId, round(p.energyWh, 3), Math.round(p.powerW), ...p.currentA.map((a) => round(a, 2)), round(p.capA, 2)]),
        );
        return sendCsv(reply, `connector-history-${resolution}-${fileStamp(fromMs)}-${fileStamp(toMs)}.csv`, body);
      }
      const byConnector = new Map<string, { chargerId: string; connectorId: number; energyWh: number; points: unknown[] }>();
      for (const p of points) {
        const key = `${p.chargerId}/${p.connectorId}`;
        const entry = byConnector.get(key) ?? { chargerId: p.chargerId, connectorId: p.connectorId, energyWh: 0, points: [] };
        entry.energyWh += p.energyWh;
        entry.points.push({ atMs: p.atMs, energyWh: p.energyWh, powerW: p.powerW, currentA: p.currentA, capA: p.capA });
        byConnector.set(key, entry);
      }
      return { resolution, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), connectors: [...byConnector.values()] };
    },
  );

  const eventsQuery = z.strictObject({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    since: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0).describe('only events with a larger id (for polling)'),
    severity: z.enum(['info', 'warning', 'error']).optional(),
  });
  app.get<{ Querystring: z.infer<typeof eventsQuery> }>(
    '/api/v1/events',
    { onRequest: viewer, schema: { tags: ['site'], summary: 'Site events, newest first: faults, failsafe, devices, chargers, grid signals, sessions, config changes', querystring: jsonSchema(eventsQuery) } },
    async (request) =>
      env.events
        .list({ limit: request.query.limit, sinceId: request.query.since, severity: request.query.severity })
        .map((e) => ({ ...e, at: new Date(e.atMs).toISOString() })),
  );

  app.get('/api/v1/peak', { onRequest: viewer, schema: { tags: ['site'], summary: "This month's peak of 15-min mean import (demand charge base)" } }, async () => {
    // The tariff service owns the figure (it writes the store with its KPI snapshot): never behind.
    const held = env.economics?.monthPeak?.(now());
    // Whole watts, as /api/v1/kpis shows the same figure.
    if (held) return { month: held.month, peakPowerW: held.atMs === undefined ? null : Math.round(held.peakW), at: held.atMs === undefined ? null : new Date(held.atMs).toISOString() };
    const { month, peak } = store.peaks.current(now(), ctx.config.site.timezone);
    return { month, peakPowerW: peak ? Math.round(peak.peakPowerW) : null, at: peak ? new Date(peak.atMs).toISOString() : null };
  });
}
