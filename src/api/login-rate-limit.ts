import type { Clock } from '../clock.ts';

/**
 * Failed logins per (client address, username): after `maxFailures` within `windowMs` further
 * attempts are refused until the window has passed. A success clears the count. Bounded memory.
 */
export class LoginRateLimit {
  private readonly failures = new Map<string, { count: number; firstAtMs: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly maxFailures = 5,
    private readonly windowMs = 15 * 60_000,
    private readonly maxKeys = 10_000,
  ) {}

  /** Seconds until another attempt is allowed; 0 when allowed now. */
  retryAfterS(ip: string, username: string): number {
    const entry = this.failures.get(this.key(ip, username));
    if (!entry || entry.count < this.maxFailures) return 0;
    const leftMs = entry.firstAtMs + this.windowMs - this.clock.nowMs();
    return leftMs > 0 ? Math.ceil(leftMs / 1000) : 0;
  }

  fail(ip: string, username: string): void {
    const key = this.key(ip, username);
    const nowMs = this.clock.nowMs();
    const entry = this.failures.get(key);
    if (!entry || nowMs - entry.firstAtMs >= this.windowMs) {
      if (this.failures.size >= this.maxKeys) this.evictExpired(nowMs);
      this.failures.set(key, { count: 1, firstAtMs: nowMs });
    } else {
      entry.count += 1;
    }
  }

  succeed(ip: string, username: string): void {
    this.failures.delete(this.key(ip, username));
  }

  private key(ip: string, username: string): string {
    return `${ip}\u0000${username.toLowerCase()}`;
  }

  private evictExpired(nowMs: number): void {
    for (const [key, entry] of this.failures) if (nowMs - entry.firstAtMs >= this.windowMs) this.failures.delete(key);
    // Still full: forget the oldest entries rather than grow without bound.
    for (const key of this.failures.keys()) {
      if (this.failures.size < this.maxKeys) break;
      this.failures.delete(key);
    }
  }
}
