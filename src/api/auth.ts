import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { AuthTokenKind, Role, Storage } from '../storage/types.ts';
import { ApiValidationError, AuthRequiredError, ForbiddenError, RateLimitedError, SetupError } from './api-errors.ts';
import { LoginRateLimit } from './login-rate-limit.ts';
import { hashPassword, verifyPassword } from './password-hash.ts';
import { passwordProblem } from './password-policy.ts';

export const SESSION_COOKIE = 'ems_session';
export const CSRF_COOKIE = 'ems_csrf';
export const CSRF_HEADER = 'x-csrf-token';
export { MIN_PASSWORD_LENGTH } from './password-policy.ts';

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
export const roleAtLeast = (role: Role, needed: Role): boolean => RANK[role] >= RANK[needed];

/** Who is asking, and how they proved it. */
export interface Principal {
  username: string;
  role: Role;
  /** Cookie-authenticated writes must carry the CSRF header; bearer ones need not. */
  via: 'cookie' | 'bearer';
  tokenKind: AuthTokenKind;
  tokenHash: string;
  csrf?: string;
}

export interface IssuedSession {
  token: string;
  role: Role;
  csrf: string;
  expiresAtMs: number;
}

export interface AuthOptions {
  /** Login sessions end this long after login. Default 12 h. */
  sessionTtlMs?: number;
  /** Environment, for EMS_ADMIN_PASSWORD. */
  env?: Record<string, string | undefined>;
  /** scrypt cost N for new hashes (default 2^15). Tests lower it; hashes keep their own N. */
  scryptN?: number;
  /** Where the one-time setup token is printed (default: stdout); it never goes to the log. */
  print?: (line: string) => void;
  /** Counts throttled and failed logins (ems_security_events_total). */
  onSecurityEvent?: (kind: 'login-failed' | 'login-throttled', ip: string) => void;
}

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');
const newSecret = () => randomBytes(32).toString('base64url');
export const tokenId = (tokenHash: string): string => tokenHash.slice(0, 16);

const safeEqual = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export type Auth = ReturnType<typeof createAuth>;

/** Local users, login sessions, API tokens and first-run setup. Passwords are scrypt hashes. */
export function createAuth(store: Storage, clock: Clock, log: Logger, options: AuthOptions = {}) {
  const sessionTtlMs = options.sessionTtlMs ?? 12 * 3_600_000;
  // scrypt runs on libuv's small thread pool; a flood of logins must not starve file and DNS work.
  const limiter = new LoginRateLimit(clock, 4);
  const securityEvent = options.onSecurityEvent ?? (() => undefined);
  let setupTokenHash: string | undefined;
  // Verified against when the user is unknown, so a wrong name costs as long as a wrong password.
  const hash = (password: string) => hashPassword(password, { N: options.scryptN ?? 1 << 15, r: 8, p: 1 });
  const decoyHash = hash(newSecret());

  const issueSession = (username: string, role: Role): IssuedSession => {
    const token = newSecret();
    const csrf = newSecret();
    const expiresAtMs = clock.nowMs() + sessionTtlMs;
    store.tokens.create({ tokenHash: hashToken(token), kind: 'session', username, csrf, expiresAtMs });
    return { token, role, csrf, expiresAtMs };
  };

  return {
    sessionTtlMs,

    /** First run: EMS_ADMIN_PASSWORD creates `admin`; otherwise a one-time setup token is printed. */
    async bootstrap(): Promise<{ setupToken?: string }> {
      if (store.users.count() > 0) return {};
      const password = (options.env ?? process.env).EMS_ADMIN_PASSWORD;
      if (password) {
        const problem = passwordProblem(password);
        if (problem) {
          log.error(`EMS_ADMIN_PASSWORD is too weak (needs ${problem}); no admin created`);
        } else {
          store.users.create({ username: 'admin', passwordHash: await hash(password), role: 'admin' });
          store.audit.record({ actor: 'system', action: 'user.create', target: 'admin', after: { role: 'admin', from: 'EMS_ADMIN_PASSWORD' } });
          log.info('created user admin from EMS_ADMIN_PASSWORD');
          return {};
        }
      }
      const setupToken = newSecret();
      setupTokenHash = hashToken(setupToken);
      const line = `No users yet. Create the admin once with: POST /api/v1/auth/setup {"token":"${setupToken}","password":"..."}`;
      // The token goes to the terminal only: the persistent log is readable by more people than the console.
      log.warn('no users yet: the one-time setup token was printed to the terminal (stdout); POST it to /api/v1/auth/setup with a password');
      (options.print ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);
      return { setupToken };
    },

    setupRequired: () => setupTokenHash !== undefined && store.users.count() === 0,

    async setup(token: string, password: string, ip?: string): Promise<IssuedSession & { username: string }> {
      if (!setupTokenHash || store.users.count() > 0) throw new SetupError('setup is already done; log in instead');
      if (!safeEqual(hashToken(token), setupTokenHash)) throw new AuthRequiredError('setup token is wrong');
      const problem = passwordProblem(password);
      if (problem) throw new ApiValidationError([{ path: 'password', message: problem }]);
      setupTokenHash = undefined;
      store.users.create({ username: 'admin', passwordHash: await hash(password), role: 'admin' });
      store.audit.record({ actor: 'admin', action: 'user.create', target: 'admin', after: { role: 'admin', from: 'setup token' }, ip });
      return { ...issueSession('admin', 'admin'), username: 'admin' };
    },

    async login(username: string, password: string, ip: string): Promise<IssuedSession> {
      const slot = limiter.acquire(ip);
      if (!slot.granted) {
        securityEvent('login-throttled', ip);
        const message =
          slot.why === 'backoff'
            ? `too many failed logins from your address; try again in ${slot.retryAfterS} s`
            : slot.why === 'in-flight'
              ? 'one login at a time from your address; try again in a second'
              : 'too many logins at once; try again in a second';
        throw new RateLimitedError(message, slot.retryAfterS);
      }
      const user = store.users.get(username);
      let ok: boolean;
      try {
        ok = await verifyPassword(password, user?.passwordHash ?? (await decoyHash));
      } finally {
        limiter.release(ip);
      }
      if (!user || !ok) {
        const { burstStarted } = limiter.fail(ip);
        securityEvent('login-failed', ip);
        if (burstStarted) log.info({ ip }, 'login failed; further failures from this address back off and are counted (ems_security_events_total), not logged');
        throw new AuthRequiredError('wrong username or password');
      }
      limiter.succeed(ip);
      return issueSession(user.username, user.role);
    },

    logout(tokenHash: string): void {
      store.tokens.remove(tokenHash);
    },

    /** The principal behind a bearer token or session cookie; undefined when none or invalid. */
    authenticate(authorization: string | undefined, sessionCookie: string | undefined): Principal | undefined {
      const bearer = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
      const token = bearer ?? sessionCookie;
      if (!token) return undefined;
      const tokenHash = hashToken(token);
      const record = store.tokens.find(tokenHash);
      if (!record) return undefined;
      const user = store.users.get(record.username);
      if (!user) return undefined;
      return { username: user.username, role: user.role, via: bearer ? 'bearer' : 'cookie', tokenKind: record.kind, tokenHash, csrf: record.csrf };
    },

    /** A long-lived token for a machine client, acting as `username` with that user's role. */
    createApiToken(username: string, name: string, expiresAtMs?: number): { token: string; id: string } {
      const token = `ems_${newSecret()}`;
      const tokenHash = hashToken(token);
      store.tokens.create({ tokenHash, kind: 'api', username, name, expiresAtMs });
      return { token, id: tokenId(tokenHash) };
    },

    hashPassword: hash,
  };
}

export function requireRole(principal: Principal | undefined, role: Role): Principal {
  if (!principal) throw new AuthRequiredError('log in first (session cookie or Authorization: Bearer <token>)');
  if (!roleAtLeast(principal.role, role)) throw new ForbiddenError(`needs the ${role} role; ${principal.username} is ${principal.role}`);
  return principal;
}

export function checkCsrf(principal: Principal, header: string | string[] | undefined): boolean {
  if (principal.via !== 'cookie') return true;
  const given = Array.isArray(header) ? header[0] : header;
  return !!given && !!principal.csrf && safeEqual(given, principal.csrf);
}
