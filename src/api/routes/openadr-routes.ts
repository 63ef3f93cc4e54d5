// GET /api/v1/openadr: per configured VTN, whether the VEN is registered, its venID, last poll and
// contact, the current error, the events it knows and when its certificate expires.
import type { FastifyInstance } from 'fastify';
import { openAdrViewSchema, venView } from '../openadr-view.ts';
import type { RouteEnv } from '../route-env.ts';
import { responseSchema } from '../zod-schema.ts';

export function registerOpenAdrRoutes(app: FastifyInstance, env: RouteEnv): void {
  app.get(
    '/api/v1/openadr',
    {
      onRequest: env.guard('viewer'),
      schema: { tags: ['signals'], summary: 'OpenADR VEN status per configured VTN (empty without an openadr section)', response: { 200: responseSchema(openAdrViewSchema) } },
    },
    async () => {
      const nowMs = env.ctx.clock.nowMs();
      return { vtns: (env.openadr?.() ?? []).map((status) => venView(status, nowMs)) };
    },
  );
}
