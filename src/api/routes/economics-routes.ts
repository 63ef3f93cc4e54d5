import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NotFoundError } from '../api-errors.ts';
import type { EconomicsSource } from '../economics-source.ts';
import { billView, billViewSchema, kpisView, kpisViewSchema, planView, planViewSchema } from '../economics-views.ts';
import { exportRange, fileStamp, sendCsv } from '../csv-reply.ts';
import { idTagNames } from '../id-tag-names.ts';
import type { RouteEnv } from '../route-env.ts';
import { jsonOrCsv } from '../route-docs.ts';
import { billRows, sessionCsv } from '../session-rows.ts';
import { jsonSchema, responseSchema } from '../zod-schema.ts';

const timeParam = z.union([z.string().regex(/^\d+$/).transform(Number), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);
const billsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  format: z.enum(['json', 'csv']).default('json').describe('csv: bills of sessions ended in [from, to) and running ones, as text/csv'),
  from: timeParam.optional().describe('csv: ISO 8601 time or epoch ms; default 31 days before `to`'),
  to: timeParam.optional().describe('csv: ISO 8601 time or epoch ms; default now'),
});
const planQuery = z.strictObject({ slots: z.coerce.number().int().min(1).max(672).default(16).describe('how many slots from the current one') });

/** KPIs, prices, per-session bills and the planner's view: what the site costs and what it plans. */
export function registerEconomicsRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { ctx } = env;
  const viewer = env.guard('viewer');
  const economics = (): EconomicsSource => {
    if (!env.economics) throw new NotFoundError('costs and KPIs are not available: the tariff service is not running');
    return env.economics;
  };

  app.get(
    '/api/v1/kpis',
    {
      onRequest: viewer,
      schema: {
        tags: ['costs'],
        summary: "Today's KPIs (energy, cost, cost per kWh, peak), the month's peak and demand charge, current prices",
        response: { 200: responseSchema(kpisViewSchema) },
      },
    },
    async () => kpisView(economics(), ctx.clock.nowMs()),
  );

  app.get<{ Querystring: z.infer<typeof billsQuery> }>(
    '/api/v1/bills',
    {
      onRequest: viewer,
      schema: {
        tags: ['costs'],
        summary: 'Energy and cost per charging session (running first, then ended), newest first',
        querystring: jsonSchema(billsQuery),
        response: jsonOrCsv(z.array(billViewSchema)),
      },
    },
    async (request, reply) => {
      if (request.query.format !== 'csv') return economics().sessionBills(request.query.limit).map(billView);
      const nowMs = ctx.clock.nowMs();
      const { fromMs, toMs } = exportRange(request.query.from, request.query.to, nowMs);
      const bills = economics().billsBetween(fromMs, toMs).filter((b) => b.endedAtMs !== undefined || toMs >= nowMs);
      const rows = billRows({ config: ctx.config, transactions: env.store.transactions, sessionSettings: env.store.sessionSettings, bills, nowMs });
      return sendCsv(reply, `bills-${fileStamp(fromMs)}-${fileStamp(toMs)}.csv`, sessionCsv(rows));
    },
  );

  app.get<{ Querystring: z.infer<typeof planQuery> }>(
    '/api/v1/plan',
    {
      onRequest: viewer,
      schema: {
        tags: ['costs'],
        summary: "The horizon planner's status and the plan in force: grid, battery and per-session power for the next slots",
        querystring: jsonSchema(planQuery),
        response: { 200: responseSchema(planViewSchema) },
      },
    },
    async (request) => {
      const nameOf = idTagNames(ctx.config);
      return planView(env.plan, ctx.clock.nowMs(), request.query.slots, (chargerId, connectorId) => {
        const s = connectorId === null ? undefined : ctx.state.connector(chargerId, connectorId)?.session;
        return s ? { idTag: s.idTag, name: nameOf(s.idTag), departureAtMs: s.departureAtMs, energyNeedWh: s.energyNeedWh, energyWh: s.energyWh } : undefined;
      });
    },
  );
}
