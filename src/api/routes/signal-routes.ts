// Operator limits: POST /api/v1/signals adds an import or export limit to the grid-signal
// timeline, DELETE /api/v1/signals/{id} ends it. Both need the operator role, are audited, and
// appear in the site's events. (GET /api/v1/signals and the opt-in/out routes are in site-routes.)
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NotFoundError } from '../api-errors.ts';
import type { RouteEnv } from '../route-env.ts';
import { jsonSchema, responseSchema } from '../zod-schema.ts';

const TEN_YEARS_S = 10 * 365 * 86_400;

export const operatorLimitSchema = z.strictObject({
  kind: z.enum(['import-limit', 'export-limit']).describe('import-limit: the most the site may draw from the grid; export-limit: the most it may feed in'),
  valueW: z.number().finite().min(0).max(1e9).describe('W, at the connection point'),
  durationS: z.number().int().min(1).max(TEN_YEARS_S).optional().describe('how long it holds, s; without it the limit holds until it is ended (shown as open-ended)'),
  startsAt: z.iso.datetime({ offset: true }).optional().describe('ISO 8601; default now'),
  source: z
    .string()
    .min(1)
    .max(60)
    .regex(/^[\p{L}\p{N} ._:/#@()-]+$/u, 'letters, digits, spaces and . _ : / # @ ( ) - only')
    .optional()
    .describe('who asked for it (e.g. "DSO call 2026-11-24"); shown with the signal'),
});

const createdSchema = z.object({ id: z.string().describe('the new signal; DELETE /api/v1/signals/{id} ends it') });
const idParams = z.object({ id: z.string().min(1).max(200) });
const endedSchema = z.object({ id: z.string(), ended: z.literal(true) });

export function registerSignalRoutes(app: FastifyInstance, env: RouteEnv): void {
  const signals = env.signals;
  const operator = env.guard('operator');
  const timeline = () => {
    if (!signals?.addLimit || !signals.end) throw new NotFoundError('the grid-signal timeline is not running');
    return { addLimit: signals.addLimit, end: signals.end };
  };

  app.post<{ Body: z.infer<typeof operatorLimitSchema> }>(
    '/api/v1/signals',
    {
      onRequest: operator,
      schema: {
        tags: ['signals'],
        summary: 'Add an operator import or export limit to the grid-signal timeline (operator role, audited)',
        body: jsonSchema(operatorLimitSchema),
        response: { 201: responseSchema(createdSchema) },
      },
    },
    async (request, reply) => {
      const { username, role } = request.principal!;
      const body = request.body;
      const { id } = timeline().addLimit(
        { kind: body.kind, valueW: body.valueW, durationS: body.durationS, startsAtMs: body.startsAt === undefined ? undefined : Date.parse(body.startsAt), source: body.source },
        { username, role },
      );
      env.audit(request, 'signal.add', id, undefined, body);
      return reply.status(201).send({ id });
    },
  );

  app.delete<{ Params: z.infer<typeof idParams> }>(
    '/api/v1/signals/:id',
    {
      onRequest: operator,
      schema: {
        tags: ['signals'],
        summary: 'End an operator limit (or the MQTT site limit) now; OpenADR events are opted out of instead (409)',
        params: jsonSchema(idParams),
        response: { 200: responseSchema(endedSchema) },
      },
    },
    async (request) => {
      const { username, role } = request.principal!;
      const ended = timeline().end(request.params.id, { username, role });
      env.audit(request, 'signal.end', request.params.id, { kind: ended.kind, value: ended.value, source: ended.source }, undefined);
      return { id: request.params.id, ended: true as const };
    },
  );
}
