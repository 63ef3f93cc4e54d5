import { EmsError } from '../errors.ts';

export interface FieldIssue {
  /** Dotted path of the wrong field, e.g. `departure` or `chargers.3.minCurrent`. */
  path: string;
  message: string;
  line?: number;
}

export class ApiValidationError extends EmsError {
  override readonly code = 'VALIDATION_FAILED';
  constructor(
    readonly issues: readonly FieldIssue[],
    options?: { cause?: unknown },
  ) {
    super(issues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; '), options);
  }
}

export class AuthRequiredError extends EmsError {
  override readonly code = 'AUTH_REQUIRED';
}
export class ForbiddenError extends EmsError {
  override readonly code = 'FORBIDDEN';
}
export class CsrfError extends EmsError {
  override readonly code = 'CSRF_FAILED';
}
export class NotFoundError extends EmsError {
  override readonly code = 'NOT_FOUND';
}
export class NoSessionError extends EmsError {
  override readonly code = 'NO_SESSION';
}
export class ConflictError extends EmsError {
  override readonly code = 'CONFLICT';
}
export class RateLimitedError extends EmsError {
  override readonly code = 'RATE_LIMITED';
  constructor(
    message: string,
    readonly retryAfterS: number,
  ) {
    super(message);
  }
}
export class SetupError extends EmsError {
  override readonly code = 'SETUP_INVALID';
}
export class ConfigSaveError extends EmsError {
  override readonly code = 'CONFIG_SAVE_FAILED';
}
export class HttpTlsError extends EmsError {
  override readonly code = 'HTTP_TLS_INVALID';
}
export class HttpListenError extends EmsError {
  override readonly code = 'HTTP_LISTEN_FAILED';
}
