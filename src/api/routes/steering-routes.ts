import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SessionUpdate } from '../../bus.ts';
import { ApiValidationError, NoSessionError, NotFoundError } from '../api-errors.ts';
import type { RouteEnv } from '../route-env.ts';
import { connectorViews } from '../state-view.ts';
import { jsonSchema } from '../zod-schema.ts';

const connectorParams = z.object({ chargerId: z.string().min(1), connectorId: z.coerce.number().int().min(1).max(99) });
const sessionPatch = z
  .strictObject({
    departure: z.iso.datetime({ offset: true, message: 'expected an ISO 8601 time with zone, e.g. 2026-11-25T07:30:00+01:00' }).nullable().optional(),
    energyNeedWh: z.number().positive().max(1_000_000).nullable().optional(),
    tier: z.string().min(1).max(48).optional(),
    paused: z.boolean().optional(),
    chargeMode: z.enum(['fast', 'minpv', 'pv']).optional().describe('fast: as fast as allowed; minpv: the minimum plus PV surplus; pv: PV surplus only'),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), { message: 'give at least one of departure, energyNeedWh, tier, paused, chargeMode' });

type Patch = z.infer<typeof sessionPatch>;

/** A departure further ahead than this is a typo (a year of 9999), not a plan. */
const MAX_DEPARTURE_AHEAD_MS = 366 * 86_400_000;

export function registerSteeringRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { ctx } = env;
  app.patch<{ Params: z.infer<typeof connectorParams>; Body: Patch }>(
    '/api/v1/connectors/:chargerId/:connectorId/session',
    {
      onRequest: env.guard('operator'),
      schema: {
        tags: ['connectors'],
        summary: 'Steer the running session: departure (future only), energy need, tier override, pause/resume, charge mode (operator)',
        params: jsonSchema(connectorParams),
        body: jsonSchema(sessionPatch),
      },
    },
    async (request) => {
      const { chargerId, connectorId } = request.params;
      const body = request.body;
      const connector = ctx.state.connector(chargerId, connectorId);
      if (!connector) throw new NotFoundError(`no connector ${chargerId}/${connectorId}`);
      const session = connector.session;
      if (!session) throw new NoSessionError(`connector ${chargerId}/${connectorId} has no running session`);
      if (body.tier !== undefined && !(body.tier in ctx.config.control.tiers)) {
        throw new ApiValidationError([{ path: 'tier', message: `unknown tier; one of ${Object.keys(ctx.config.control.tiers).join(', ')}` }]);
      }
      if (body.departure) {
        const departureMs = Date.parse(body.departure);
        const nowMs = ctx.clock.nowMs();
        // In the site's words: its wall time, as the dashboard shows times.
        const siteTime = new Intl.DateTimeFormat('en-GB', { timeZone: ctx.config.site.timezone, day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
        const at = `${siteTime.format(departureMs)} (now ${siteTime.format(nowMs)}, site time ${ctx.config.site.timezone})`;
        if (departureMs <= nowMs) throw new ApiValidationError([{ path: 'departure', message: `${at} is in the past; give a later time, or null to clear it` }]);
        if (departureMs > nowMs + MAX_DEPARTURE_AHEAD_MS) throw new ApiValidationError([{ path: 'departure', message: `${at} is more than a year ahead; check the year` }]);
      }
      const before = {
        departure: session.departureAtMs === undefined ? null : new Date(session.departureAtMs).toISOString(),
        energyNeedWh: session.energyNeedWh ?? null,
        tier: session.tier,
        paused: session.paused,
      };
      const update: SessionUpdate = { chargerId, connectorId };
      if (body.departure !== undefined) update.departureAtMs = body.departure === null ? null : Date.parse(body.departure);
      if (body.energyNeedWh !== undefined) update.energyNeedWh = body.energyNeedWh;
      if (body.tier !== undefined) update.tier = body.tier;
      if (body.paused !== undefined) update.paused = body.paused;
      if (body.chargeMode !== undefined) update.chargeMode = body.chargeMode;
      // Recorded first: if the audit log cannot be written, nothing is steered.
      env.audit(request, 'session.update', `${chargerId}/${connectorId}#${session.transactionId}`, before, { ...before, ...body });
      ctx.bus.emit('session.update', update);
      return connectorViews(ctx.state, ctx.config, env.sessionSources, ctx.clock.nowMs()).find((c) => c.chargerId === chargerId && c.connectorId === connectorId);
    },
  );
}
