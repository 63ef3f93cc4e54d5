import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RouteEnv } from '../route-env.ts';
import { upstreamView, upstreamViewSchema } from '../upstream-view.ts';
import { responseSchema } from '../zod-schema.ts';

const upstreamListSchema = z.object({
  enabled: z.boolean().describe('local-controller mode (config `upstream`)'),
  chargers: z.array(upstreamViewSchema.extend({ chargerId: z.string() })),
});

/** GET /api/v1/upstream: per charger, its link to the EMS and the EMS's link to the cloud CSMS. */
export function registerUpstreamRoutes(app: FastifyInstance, env: RouteEnv): void {
  app.get(
    '/api/v1/upstream',
    {
      onRequest: env.guard('viewer'),
      schema: { tags: ['connectors'], summary: 'Local-controller mode: per charger, charger link, uplink to the CSMS, last message each way, queue length', response: { 200: responseSchema(upstreamListSchema) } },
    },
    async () => ({
      enabled: env.upstream !== undefined,
      chargers: (env.upstream?.() ?? []).map((s) => ({ chargerId: s.chargerId, ...upstreamView(s) })),
    }),
  );
}
