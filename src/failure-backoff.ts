import type { Clock } from './clock.ts';

export interface FailureBackoffOptions {
  /** Failures that cost no wait; the next one starts the first wait. */
  freeFailures: number;
  /** The first wait; each further failure doubles it, up to maxMs. */
  baseMs: number;
  maxMs: number;
  /** A key quiet this long starts over (and may be forgotten). */
  forgetAfterMs: number;
  /** Keys kept; more distinct keys share one overflow key (which backs off like any other). */
  maxKeys: number;
}

interface Entry {
  failures: number;
  lastFailureAtMs: number;
  blockedUntilMs: number;
}

/** The key every new key maps to while the table is full of keys still backing off. */
export const OVERFLOW_KEY = '\u0000overflow';

/**
 * Exponential backoff after failed attempts, per key (a client address, a charger id, ...). A key
 * in its wait is refused without its attempt being judged. Memory is bounded without ever forgetting
 * a key that failed recently: when the table is full, only keys quiet for forgetAfterMs are evicted,
 * and while none is, new keys share the overflow key, so flooding the table cannot reset anyone's wait.
 */
export class FailureBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly options: FailureBackoffOptions,
  ) {}

  /** Milliseconds until `key` may try again; 0 when it may now. */
  waitMs(key: string): number {
    const entry = this.entries.get(this.resolve(key));
    if (!entry) return 0;
    return Math.max(0, entry.blockedUntilMs - this.clock.nowMs());
  }

  /** Records a failure; `burstStarted` is true for the first failure after a quiet spell (log once per burst). */
  fail(key: string): { failures: number; waitMs: number; burstStarted: boolean } {
    const nowMs = this.clock.nowMs();
    const slot = this.slotFor(key, nowMs);
    let entry = this.entries.get(slot);
    const burstStarted = !entry || nowMs - entry.lastFailureAtMs >= this.options.forgetAfterMs;
    if (!entry || burstStarted) {
      entry = { failures: 0, lastFailureAtMs: nowMs, blockedUntilMs: 0 };
      this.entries.set(slot, entry);
    }
    entry.failures += 1;
    entry.lastFailureAtMs = nowMs;
    const over = entry.failures - this.options.freeFailures;
    const waitMs = over > 0 ? Math.min(this.options.maxMs, this.options.baseMs * 2 ** Math.min(over - 1, 30)) : 0;
    entry.blockedUntilMs = nowMs + waitMs;
    return { failures: entry.failures, waitMs, burstStarted };
  }

  succeed(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The key itself when known or when there is room; else the overflow key. */
  private resolve(key: string): string {
    return this.entries.has(key) ? key : this.entries.size >= this.options.maxKeys && this.entries.has(OVERFLOW_KEY) ? OVERFLOW_KEY : key;
  }

  private slotFor(key: string, nowMs: number): string {
    if (this.entries.has(key)) return key;
    if (this.entries.size < this.options.maxKeys) return key;
    for (const [k, e] of this.entries) {
      if (k !== OVERFLOW_KEY && e.blockedUntilMs <= nowMs && nowMs - e.lastFailureAtMs >= this.options.forgetAfterMs) this.entries.delete(k);
    }
    return this.entries.size < this.options.maxKeys ? key : OVERFLOW_KEY;
  }
}
