import type { Clock } from '../clock.ts';
import { FailureBackoff } from '../failure-backoff.ts';

/**
 * Who may try a password now. Keyed on the client address only (the real one behind a trusted
 * proxy, see http.trustProxy), never on the username: a flood against `admin` from one client must
 * not lock `admin` out for everyone. Per address: one check in flight at a time, and exponential
 * backoff after failures whatever the usernames; across addresses, a few concurrent checks (scrypt
 * runs on libuv's small thread pool). A client that floods occupies one slot, so a correct login
 * from another client still gets through. The failure table cannot be flushed (see FailureBackoff).
 */
export class LoginRateLimit {
  private readonly backoff: FailureBackoff;
  private readonly inFlight = new Set<string>();

  constructor(
    clock: Clock,
    private readonly maxConcurrent = 4,
    options: { freeFailures?: number; baseMs?: number; maxMs?: number; maxKeys?: number } = {},
  ) {
    this.backoff = new FailureBackoff(clock, {
      freeFailures: options.freeFailures ?? 4,
      baseMs: options.baseMs ?? 60_000,
      maxMs: options.maxMs ?? 15 * 60_000,
      forgetAfterMs: 15 * 60_000,
      maxKeys: options.maxKeys ?? 50_000,
    });
  }

  /**
   * Takes a slot for one password check from `ip`, or says why not: `retryAfterS` > 0 and `why`.
   * A granted slot must be given back with release().
   */
  acquire(ip: string): { granted: true } | { granted: false; retryAfterS: number; why: 'backoff' | 'in-flight' | 'busy' } {
    const waitMs = this.backoff.waitMs(ip);
    if (waitMs > 0) return { granted: false, retryAfterS: Math.ceil(waitMs / 1000), why: 'backoff' };
    if (this.inFlight.has(ip)) return { granted: false, retryAfterS: 1, why: 'in-flight' };
    if (this.inFlight.size >= this.maxConcurrent) return { granted: false, retryAfterS: 1, why: 'busy' };
    this.inFlight.add(ip);
    return { granted: true };
  }

  release(ip: string): void {
    this.inFlight.delete(ip);
  }

  /** A failed check; `burstStarted` for the first failure after a quiet spell (log once per burst). */
  fail(ip: string): { burstStarted: boolean } {
    return this.backoff.fail(ip);
  }

  succeed(ip: string): void {
    this.backoff.succeed(ip);
  }
}
