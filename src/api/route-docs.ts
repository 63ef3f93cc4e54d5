// The OpenAPI side of every route, in one place: the shared error schema, an operationId, the
// error answers a route can give, per-route security (login and setup need none), and the
// answers of routes whose handlers do not declare a response schema themselves.
import type { RouteOptions } from 'fastify';
import { z } from 'zod';
import { connectorViewSchema, sessionViewSchema } from './view-schemas.ts';
import { responseSchema } from './zod-schema.ts';

export const API_ERROR_SCHEMA = {
  $id: 'ApiError',
  type: 'object',
  description: 'Every 4xx/5xx answer: a machine-readable code, a sentence for people, and the fields at fault',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'code, e.g. VALIDATION_FAILED, AUTH_REQUIRED, FORBIDDEN, NOT_FOUND, CONFLICT, RATE_LIMITED, INTERNAL' },
    message: { type: 'string' },
    issues: {
      type: 'array',
      description: 'the fields at fault (400)',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string', description: 'dotted path, e.g. grid.maxCurrent' }, message: { type: 'string' }, line: { type: 'integer', description: 'line in the config YAML' } },
      },
    },
  },
} as const;

const errorRef = (description: string) => ({ description, $ref: 'ApiError#' });
const iso = z.string().describe('ISO 8601 time');
const isoOrNull = iso.nullable();
const role = z.enum(['viewer', 'operator', 'admin']);
const noContent = { 204: { type: 'null', description: 'Done; no content' } };
const json = (schema: z.ZodType, status = 200) => ({ [status]: responseSchema(schema) });
/** JSON by default, CSV with ?format=csv. */
export const jsonOrCsv = (schema: z.ZodType) => ({
  200: {
    description: 'JSON, or text/csv with ?format=csv (a header row, then one row per item)',
    content: { 'application/json': { schema: responseSchema(schema) }, 'text/csv': { schema: { type: 'string' } } },
  },
});

const user = z.object({ username: z.string(), role, createdAt: iso, updatedAt: iso });
const triple = z.tuple([z.number(), z.number(), z.number()]);
const circuitNode = z.object({
    id: z.string(),
    maxCurrentA: z.number(),
    limitA: z.number().describe('after the safety margin'),
    loadA: triple.describe('per site phase: the submeter when there is one, else the EV draw below'),
    evLoadA: triple,
    capA: triple,
    measured: z.boolean(),
    reconciliation: z
      .object({
        belowA: triple.describe('what is below the submeter: child circuits (their submeters, else their EV draw) plus this node’s chargers, A per site phase'),
        unmeteredA: triple.describe('measured − below: load the EMS does not see separately (building, lights); negative means the submeter reads less than what is below it'),
        mismatch: z.boolean().describe('the submeter reads clearly less than the sum below it: a wrong meter, CT or phase mapping'),
        text: z.string(),
      })
      .nullable()
      .describe('only for a node with a submeter'),
    chargers: z.array(z.string()),
});
/** One node of the fuse tree; its children have the same shape (a named, recursive component). */
const circuitJson = responseSchema(circuitNode) as { properties: Record<string, unknown>; required?: string[] };
export const CIRCUIT_SCHEMA = {
  ...circuitJson,
  $id: 'Circuit',
  properties: { ...circuitJson.properties, children: { type: 'array', items: { $ref: 'Circuit#' } } },
  required: [...(circuitJson.required ?? []), 'children'],
};
const signal = z.object({ id: z.string(), kind: z.string(), value: z.number().nullable().optional(), start: isoOrNull, end: isoOrNull, openEnded: z.boolean(), active: z.boolean(), source: z.string().optional() }).loose();
const historyPoint = z.object({
  atMs: z.number().int(),
  gridPowerW: z.number().optional(),
  pvPowerW: z.number().optional(),
  batteryPowerW: z.number().optional(),
  evPowerW: z.number(),
  buildingPowerW: z.number().optional(),
  limitPowerW: z.number().optional(),
  gridL1A: z.number().optional(),
  gridL2A: z.number().optional(),
  gridL3A: z.number().optional(),
});
const transaction = z
  .object({
    transactionId: z.number().int(),
    chargerId: z.string(),
    connectorId: z.number().int(),
    idTag: z.string(),
    name: z.string().nullable(),
    tier: z.string().nullable(),
    cost: z.number().nullable(),
    currency: z.string().nullable(),
    startedAt: iso,
    stoppedAt: isoOrNull,
    energyWh: z.number().nullable(),
    settings: z.object({}).loose().nullable(),
  })
  .loose();
const configAnswer = z.object({
  saved: z.boolean(),
  dryRun: z.boolean().optional(),
  changed: z.array(z.string()).describe('top-level sections that differ'),
  applied: z.array(z.string()).describe('sections applied without a restart'),
  restartRequired: z.array(z.string()),
  message: z.string().optional(),
  warnings: z.array(z.object({ path: z.string(), message: z.string() }).loose()),
});

/** Answers of routes that do not declare a response schema in their own file, keyed "METHOD url". */
const RESPONSES: Record<string, Record<string, unknown>> = {
  'GET /api/v1/auth/setup': json(z.object({ setupRequired: z.boolean() })),
  'POST /api/v1/auth/logout': noContent,
  'POST /api/v1/auth/password': noContent,
  'GET /api/v1/auth/me': json(z.object({ username: z.string(), role, via: z.string().describe('cookie | bearer') })),
  'GET /api/v1/sessions': jsonOrCsv(z.object({ active: z.array(sessionViewSchema.extend({ chargerId: z.string(), connectorId: z.number().int(), capA: z.number().nullable(), drawA: z.number(), reason: z.string().nullable(), rank: z.number().int().nullable() })), recent: z.array(transaction) })),
  'GET /api/v1/chargers': json(
    z.array(
      z.object({
        id: z.string(),
        online: z.boolean(),
        protocol: z.string().nullable(),
        since: isoOrNull,
        connectors: z.number().int(),
        maxCurrentA: z.number(),
        minCurrentA: z.number(),
        phases: z.number().int(),
        phaseRotation: z.string(),
        tier: z.string().nullable(),
        upstream: z.object({}).loose().nullable().describe('local-controller mode: the uplink of this charger'),
      }),
    ),
  ),
  'GET /api/v1/circuits': { 200: { description: 'The fuse tree; the root is the connection point', $ref: 'Circuit#' } },
  'GET /api/v1/signals': json(z.array(signal)),
  'POST /api/v1/signals/:eventId/opt-out': json(z.object({ ok: z.boolean() })),
  'POST /api/v1/signals/:eventId/opt-in': json(z.object({ ok: z.boolean() })),
  'GET /api/v1/history': jsonOrCsv(z.object({ resolution: z.enum(['1s', '1m', '15m']), from: iso, to: iso, points: z.array(historyPoint) })),
  'GET /api/v1/events': json(
    z.array(
      z.object({
        id: z.number().int(),
        atMs: z.number().int(),
        at: iso,
        kind: z.string(),
        severity: z.enum(['info', 'warning', 'error']),
        text: z.string(),
        chargerId: z.string().optional(),
        connectorId: z.number().int().optional(),
        deviceId: z.string().optional(),
      }),
    ),
  ),
  'GET /api/v1/peak': json(z.object({ month: z.string(), peakPowerW: z.number().nullable(), at: isoOrNull })),
  'PATCH /api/v1/connectors/:chargerId/:connectorId/session': json(connectorViewSchema),
  'GET /api/v1/config': json(
    z.object({
      path: z.string().nullable(),
      yaml: z.string().describe('the YAML text, secrets masked'),
      config: z.object({}).loose().describe('the running config, secrets masked'),
      restartRequired: z.array(z.string()),
      liveSections: z.array(z.string()),
      overrides: z.object({ path: z.string().nullable(), sections: z.array(z.string()) }).optional().describe('operator edits kept in the state directory over the installer’s file'),
    }),
  ),
  'PUT /api/v1/config': json(configAnswer),
  'GET /api/v1/users': json(z.array(user)),
  'POST /api/v1/users': json(user, 201),
  'PATCH /api/v1/users/:username': json(user),
  'DELETE /api/v1/users/:username': noContent,
  'GET /api/v1/tokens': json(z.array(z.object({ id: z.string(), name: z.string().nullable(), username: z.string(), createdAt: iso, expiresAt: isoOrNull, lastUsedAt: isoOrNull }))),
  'POST /api/v1/tokens': json(z.object({ id: z.string(), token: z.string().describe('shown once'), username: z.string(), role, expiresAt: isoOrNull }), 201),
  'DELETE /api/v1/tokens/:id': noContent,
  'GET /api/v1/audit': json(
    z.array(z.object({ id: z.number().int(), atMs: z.number().int(), at: iso, actor: z.string(), action: z.string(), target: z.string().nullable().optional(), before: z.unknown(), after: z.unknown(), ip: z.string().nullable().optional() }).loose()),
  ),
  'GET /healthz': {
    200: responseSchema(z.object({ status: z.literal('ok'), at: iso, lastDecisionAt: isoOrNull, failsafe: z.boolean() })),
    503: { ...responseSchema(z.object({ status: z.literal('stalled'), at: iso, lastDecisionAt: isoOrNull, failsafe: z.boolean() })), description: 'the control loop has stopped deciding' },
  },
  'GET /metrics': { 200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } },
  'GET /api/v1/live': {
    101: {
      description:
        'WebSocket (upgrade). The server pushes JSON messages `{ "type": "state", "state": <GET /api/v1/state> }` at most twice a second, and `{ "type": "event", ... }` for site events. Browsers must send an Origin of this host.',
    },
  },
};

const camel = (method: string, url: string) =>
  method.toLowerCase() +
  url
    .replace(/^\/api\/v1/, '')
    .split(/[/{}:-]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');

/**
 * An onRoute hook: fills in what the OpenAPI document needs for a route. Routes with
 * `schema.hide` (the docs UI, static files) are left alone.
 */
export function documentRoute(route: RouteOptions): void {
  const schema = (route.schema ?? {}) as Record<string, unknown> & { hide?: boolean; response?: Record<string, unknown> };
  if (schema.hide || route.url.startsWith('/api/docs')) return;
  const methods = ([] as string[]).concat(route.method).filter((m) => m !== 'HEAD');
  const method = methods[0];
  if (!method) return;
  schema.operationId ??= camel(method, route.url);
  const table = RESPONSES[`${method} ${route.url}`];
  const response: Record<string, unknown> = { ...(table ?? {}), ...(schema.response ?? {}) };
  const guarded = route.onRequest !== undefined;
  const hasInput = schema.body !== undefined || schema.querystring !== undefined || schema.params !== undefined;
  if (hasInput) response[400] ??= errorRef('invalid input: `issues` names the fields');
  if (guarded) {
    response[401] ??= errorRef('not logged in: send a bearer token or the session cookie');
    response[403] ??= errorRef('your role does not allow this, or a cookie write without the CSRF header');
  }
  if (schema.params !== undefined) response[404] ??= errorRef('no such item');
  response[500] ??= errorRef('internal error; see the EMS log');
  schema.response = response;
  // No onRequest guard: anyone may call it (login, setup, health, public metrics).
  if (!guarded) schema.security ??= [];
  route.schema = schema;
}
