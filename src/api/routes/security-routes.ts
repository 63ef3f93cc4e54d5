// GET /api/v1/security: what the operator must know about how exposed the site is. Today: the
// chargers anyone who can reach the OCPP port may connect as (no password, no client certificate)
// while that port is not loopback-only; the dashboard shows them as a warning on every page.
import type { FastifyInstance } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import type { RouteEnv } from '../route-env.ts';
import { responseSchema } from '../zod-schema.ts';

export const securityViewSchema = z.object({
  ocpp: z.object({
    host: z.string().describe('ocpp.host: the address the OCPP port listens on'),
    tls: z.boolean().describe('wss:// (ocpp.tls set)'),
    clientCertRequired: z.boolean().describe('Security Profile 3: every charger must present a certificate naming it'),
    unauthenticatedChargers: z
      .array(z.string())
      .describe('chargers without password or client certificate on an OCPP port that is not loopback: anyone who can reach the port and knows the id can connect as one'),
  }),
});

export type SecurityView = z.infer<typeof securityViewSchema>;

export function registerSecurityRoutes(app: FastifyInstance, env: RouteEnv): void {
  app.get(
    '/api/v1/security',
    {
      onRequest: env.guard('operator'),
      schema: { tags: ['security'], summary: 'Exposure of the site (operator): chargers that anyone reaching the OCPP port can connect as', response: { 200: responseSchema(securityViewSchema) } },
    },
    async (): Promise<SecurityView> => {
      const ocpp = env.ctx.config.ocpp;
      return {
        ocpp: {
          host: ocpp.host,
          tls: ocpp.tls !== undefined,
          clientCertRequired: ocpp.tls?.clientCert === 'required',
          unauthenticatedChargers: [...(env.unauthenticatedChargers?.() ?? [])],
        },
      };
    },
  );
}

/** ems_ocpp_unauthenticated_chargers: how many chargers anyone reaching the OCPP port can connect as. */
export function registerSecurityMetrics(registry: Registry, unauthenticatedChargers: () => readonly string[]): void {
  new Gauge({
    name: 'ems_ocpp_unauthenticated_chargers',
    help: 'Chargers without password or client certificate on an OCPP port that is not loopback-only',
    registers: [registry],
    collect() {
      this.set(unauthenticatedChargers().length);
    },
  });
}
