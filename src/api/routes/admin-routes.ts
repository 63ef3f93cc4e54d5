import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Role } from '../../storage/types.ts';
import { ConflictError, NotFoundError } from '../api-errors.ts';
import { tokenId } from '../auth.ts';
import { redactSecrets } from '../redact.ts';
import type { RouteEnv } from '../route-env.ts';
import { jsonSchema } from '../zod-schema.ts';
import { newPassword } from '../password-policy.ts';

const username = z.string().min(1).max(64).regex(/^[A-Za-z0-9._@-]+$/, 'use letters, digits, . _ @ -');
const password = newPassword;
const ROLES = ['viewer', 'operator', 'admin'] as const satisfies readonly Role[];
// Fails to compile when storage grows a role this list lacks.
const everyRole: Exclude<Role, (typeof ROLES)[number]> extends never ? true : never = true;
void everyRole;
const role = z.enum(ROLES);
const createUser = z.strictObject({ username, password, role });
const updateUser = z
  .strictObject({ password: password.optional(), role: role.optional() })
  .refine((b) => b.password !== undefined || b.role !== undefined, { message: 'give password or role' });
const userParams = z.object({ username });
const createToken = z.strictObject({
  name: z.string().min(1).max(64),
  username: username.optional().describe('the user the token acts as (its role applies); default: you'),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});
const tokenParams = z.object({ id: z.string().regex(/^[0-9a-f]{16}$/, 'a token id from GET /api/v1/tokens') });
const auditQuery = z.strictObject({
  since: z.coerce.number().int().min(0).max(253_402_300_799_999).optional().describe('epoch ms'),
  before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional().describe('entry id, for paging back'),
  action: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const publicUser = (u: { username: string; role: string; createdAtMs: number; updatedAtMs: number }) => ({
  username: u.username,
  role: u.role,
  createdAt: new Date(u.createdAtMs).toISOString(),
  updatedAt: new Date(u.updatedAtMs).toISOString(),
});

export function registerAdminRoutes(app: FastifyInstance, env: RouteEnv): void {
  const { store, auth } = env;
  const admin = env.guard('admin');
  const tags = ['users'];
  const countAdmins = () => store.users.list().filter((u) => u.role === 'admin').length;

  app.get('/api/v1/users', { onRequest: admin, schema: { tags, summary: 'Local users (admin)' } }, async () => store.users.list().map(publicUser));

  app.post<{ Body: z.infer<typeof createUser> }>(
    '/api/v1/users',
    { onRequest: admin, schema: { tags, summary: 'Create a user (admin)', body: jsonSchema(createUser) } },
    async (request, reply) => {
      const { username, password, role } = request.body;
      const user = store.users.create({ username, passwordHash: await auth.hashPassword(password), role });
      env.audit(request, 'user.create', username, undefined, { role });
      return reply.status(201).send(publicUser(user));
    },
  );

  app.patch<{ Params: z.infer<typeof userParams>; Body: z.infer<typeof updateUser> }>(
    '/api/v1/users/:username',
    { onRequest: admin, schema: { tags, summary: "Change a user's password or role (admin)", params: jsonSchema(userParams), body: jsonSchema(updateUser) } },
    async (request) => {
      const current = store.users.get(request.params.username);
      if (!current) throw new NotFoundError(`no user ${request.params.username}`);
      const { password, role } = request.body;
      if (role && role !== 'admin' && current.role === 'admin' && countAdmins() === 1) {
        throw new ConflictError('this is the last admin; make another user admin first');
      }
      const updated = store.users.update(current.username, { role, passwordHash: password ? await auth.hashPassword(password) : undefined })!;
      // A new password ends the user's login sessions; their API tokens stay (revoke those separately).
      if (password) store.tokens.removeSessionsOf(current.username);
      env.audit(request, 'user.update', current.username, { role: current.role }, { role: updated.role, passwordChanged: password !== undefined });
      return publicUser(updated);
    },
  );

  app.delete<{ Params: z.infer<typeof userParams> }>(
    '/api/v1/users/:username',
    { onRequest: admin, schema: { tags, summary: 'Delete a user and its sessions and tokens (admin)', params: jsonSchema(userParams) } },
    async (request, reply) => {
      const current = store.users.get(request.params.username);
      if (!current) throw new NotFoundError(`no user ${request.params.username}`);
      if (current.role === 'admin' && countAdmins() === 1) throw new ConflictError('cannot delete the last admin');
      store.users.remove(current.username);
      env.audit(request, 'user.delete', current.username, { role: current.role }, undefined);
      return reply.status(204).send();
    },
  );

  app.get('/api/v1/tokens', { onRequest: admin, schema: { tags: ['tokens'], summary: 'API tokens for machine clients (admin)' } }, async () =>
    store.tokens.listApi().map((t) => ({
      id: tokenId(t.tokenHash),
      name: t.name ?? null,
      username: t.username,
      createdAt: new Date(t.createdAtMs).toISOString(),
      expiresAt: t.expiresAtMs === undefined ? null : new Date(t.expiresAtMs).toISOString(),
      lastUsedAt: t.lastUsedAtMs === undefined ? null : new Date(t.lastUsedAtMs).toISOString(),
    })),
  );

  app.post<{ Body: z.infer<typeof createToken> }>(
    '/api/v1/tokens',
    {
      onRequest: admin,
      schema: { tags: ['tokens'], summary: 'Create an API token; it is shown once. Clients send Authorization: Bearer <token> (admin)', body: jsonSchema(createToken) },
    },
    async (request, reply) => {
      const owner = request.body.username ?? request.principal!.username;
      const user = store.users.get(owner);
      if (!user) throw new NotFoundError(`no user ${owner}`);
      const expiresAtMs = request.body.expiresInDays ? env.ctx.clock.nowMs() + request.body.expiresInDays * 86_400_000 : undefined;
      const { token, id } = auth.createApiToken(owner, request.body.name, expiresAtMs);
      env.audit(request, 'token.create', id, undefined, { name: request.body.name, username: owner, role: user.role, expiresAtMs });
      return reply.status(201).send({ id, token, username: owner, role: user.role, expiresAt: expiresAtMs ? new Date(expiresAtMs).toISOString() : null });
    },
  );

  app.delete<{ Params: z.infer<typeof tokenParams> }>(
    '/api/v1/tokens/:id',
    { onRequest: admin, schema: { tags: ['tokens'], summary: 'Revoke an API token (admin)', params: jsonSchema(tokenParams) } },
    async (request, reply) => {
      const token = store.tokens.listApi().find((t) => tokenId(t.tokenHash) === request.params.id);
      if (!token) throw new NotFoundError(`no API token ${request.params.id}`);
      store.tokens.remove(token.tokenHash);
      env.audit(request, 'token.revoke', request.params.id, { name: token.name, username: token.username }, undefined);
      return reply.status(204).send();
    },
  );

  app.get<{ Querystring: z.infer<typeof auditQuery> }>(
    '/api/v1/audit',
    { onRequest: env.guard('viewer'), schema: { tags: ['audit'], summary: 'The audit log, newest first: who, what, before, after, when', querystring: jsonSchema(auditQuery) } },
    async (request) => {
      // Secrets are masked for everyone; below admin, config and user changes show who and when, not what.
      const details = request.principal?.role === 'admin';
      return store.audit
        .list({ sinceMs: request.query.since, beforeId: request.query.before, action: request.query.action, limit: request.query.limit })
        .map((e) =>
          details || !/^(config|user|token)\./.test(e.action)
            ? { ...e, at: new Date(e.atMs).toISOString(), before: redactSecrets(e.before), after: redactSecrets(e.after) }
            : { ...e, at: new Date(e.atMs).toISOString(), before: undefined, after: undefined },
        );
    },
  );
}
