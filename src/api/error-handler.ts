import type { FastifyError, FastifyInstance } from 'fastify';
import { ConfigError, EmsError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { ApiValidationError, RateLimitedError } from './api-errors.ts';

/** EmsError code → HTTP status. Codes not listed fall back on their suffix, then 500. */
const STATUS_BY_CODE: Record<string, number> = {
  VALIDATION_FAILED: 400,
  CONFIG_INVALID: 400,
  SETUP_INVALID: 400,
  AUTH_REQUIRED: 401,
  FORBIDDEN: 403,
  CSRF_FAILED: 403,
  NOT_FOUND: 404,
  NO_SESSION: 409,
  CONFLICT: 409,
  USER_EXISTS: 409,
  RATE_LIMITED: 429,
};

export function statusForCode(code: string): number {
  if (STATUS_BY_CODE[code]) return STATUS_BY_CODE[code];
  if (code.endsWith('NOT_FOUND')) return 404;
  if (code.endsWith('FORBIDDEN')) return 403;
  if (code.endsWith('INVALID') || code.endsWith('INPUT')) return 400;
  if (code.endsWith('TIMEOUT')) return 504;
  return 500;
}

/** The one place errors become HTTP answers: `{ error: CODE, message, issues? }`. */
export function installErrorHandler(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((error: FastifyError | EmsError | Error, request, reply) => {
    if (error instanceof EmsError) {
      const status = statusForCode(error.code);
      if (status >= 500) log.error({ err: error, url: request.url }, 'request failed');
      if (error instanceof RateLimitedError) reply.header('retry-after', String(error.retryAfterS));
      const body: Record<string, unknown> = { error: error.code, message: error.message };
      if (error instanceof ApiValidationError) body.issues = error.issues;
      if (error instanceof ConfigError) body.issues = error.problems;
      return reply.status(status).send(body);
    }
    const fastifyError = error as FastifyError;
    const status = fastifyError.statusCode && fastifyError.statusCode >= 400 ? fastifyError.statusCode : 500;
    if (status >= 500) {
      log.error({ err: error, url: request.url }, 'request failed');
      return reply.status(500).send({ error: 'INTERNAL', message: 'internal error; see the EMS log' });
    }
    // Fastify's own 4xx: unparsable JSON, body too large, unsupported media type.
    return reply.status(status).send({ error: fastifyError.code ?? 'BAD_REQUEST', message: fastifyError.message });
  });
}
