import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CSRF_COOKIE, SESSION_COOKIE, hashToken, type IssuedSession } from '../auth.ts';
import { ApiValidationError } from '../api-errors.ts';
import { verifyPassword } from '../password-hash.ts';
import type { RouteEnv } from '../route-env.ts';
import { jsonSchema, responseSchema } from '../zod-schema.ts';
import { newPassword } from '../password-policy.ts';

const loginBody = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(256),
});
const setupBody = z.strictObject({
  token: z.string().min(1).max(200),
  password: newPassword,
});
const passwordBody = z.strictObject({
  currentPassword: z.string().min(1).max(256),
  newPassword: newPassword,
});
const loginAnswer = z.object({ token: z.string(), role: z.enum(['viewer', 'operator', 'admin']), username: z.string(), expiresAt: z.string() });

export function setSessionCookies(request: FastifyRequest, reply: FastifyReply, session: IssuedSession): void {
  const common = { path: '/', sameSite: 'strict' as const, secure: request.protocol === 'https', expires: new Date(session.expiresAtMs) };
  reply.setCookie(SESSION_COOKIE, session.token, { ...common, httpOnly: true });
  reply.setCookie(CSRF_COOKIE, session.csrf, { ...common, httpOnly: false });
}

export function registerAuthRoutes(app: FastifyInstance, env: RouteEnv): void {
  const tags = ['auth'];
  app.get('/api/v1/auth/setup', { schema: { tags, summary: 'Whether the first admin still has to be created' } }, async () => ({
    setupRequired: env.auth.setupRequired(),
  }));

  app.post<{ Body: z.infer<typeof setupBody> }>(
    '/api/v1/auth/setup',
    { schema: { tags, summary: 'Create the admin with the one-time setup token printed at first start', body: jsonSchema(setupBody), response: { 200: responseSchema(loginAnswer) } } },
    async (request, reply) => {
      const session = await env.auth.setup(request.body.token, request.body.password, request.ip);
      setSessionCookies(request, reply, session);
      return { token: session.token, role: session.role, username: 'admin', expiresAt: new Date(session.expiresAtMs).toISOString() };
    },
  );

  app.post<{ Body: z.infer<typeof loginBody> }>(
    '/api/v1/auth/login',
    {
      schema: {
        tags,
        summary: 'Log in: answers a bearer token and sets the session cookie (HttpOnly, SameSite=Strict) and the CSRF cookie',
        body: jsonSchema(loginBody),
        response: { 200: responseSchema(loginAnswer) },
      },
    },
    async (request, reply) => {
      const session = await env.auth.login(request.body.username, request.body.password, request.ip);
      env.store.audit.record({ actor: request.body.username, action: 'auth.login', ip: request.ip });
      setSessionCookies(request, reply, session);
      return { token: session.token, role: session.role, username: request.body.username, expiresAt: new Date(session.expiresAtMs).toISOString() };
    },
  );

  app.post('/api/v1/auth/logout', { schema: { tags, summary: 'End the session (cookie or bearer)' } }, async (request, reply) => {
    const bearer = request.headers.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const token = bearer ?? request.cookies[SESSION_COOKIE];
    if (token) {
      const principal = env.auth.authenticate(request.headers.authorization, request.cookies[SESSION_COOKIE]);
      // API tokens are revoked through /api/v1/tokens, not by logging out.
      if (principal?.tokenKind === 'session') {
        env.auth.logout(hashToken(token));
        env.store.audit.record({ actor: principal.username, action: 'auth.logout', ip: request.ip });
      }
    }
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    reply.clearCookie(CSRF_COOKIE, { path: '/' });
    return reply.status(204).send();
  });

  app.post<{ Body: z.infer<typeof passwordBody> }>(
    '/api/v1/auth/password',
    { onRequest: env.guard('viewer'), schema: { tags, summary: 'Change your own password; your other login sessions end', body: jsonSchema(passwordBody) } },
    async (request, reply) => {
      const principal = request.principal!;
      const user = env.store.users.get(principal.username);
      if (!user || !(await verifyPassword(request.body.currentPassword, user.passwordHash))) {
        throw new ApiValidationError([{ path: 'currentPassword', message: 'wrong password' }]);
      }
      env.store.users.update(user.username, { passwordHash: await env.auth.hashPassword(request.body.newPassword) });
      env.store.tokens.removeSessionsOf(user.username, principal.tokenKind === 'session' ? principal.tokenHash : undefined);
      env.audit(request, 'user.password', user.username, undefined, { passwordChanged: true });
      return reply.status(204).send();
    },
  );

  app.get('/api/v1/auth/me', { onRequest: env.guard('viewer'), schema: { tags, summary: 'Who is logged in' } }, async (request) => ({
    username: request.principal!.username,
    role: request.principal!.role,
    via: request.principal!.via,
  }));
}
