// The one reconnect and retry policy of every client connection (MQTT devices and bridge, Modbus
// lines, VENs, InfluxDB export, price feeds): exponential from 0.5 s, doubled per failure, capped
// at 5 s, so a peer that comes back is used again within seconds, while a dead one is not hammered.
// The local controller's uplinks use the same Backoff with their configured bounds and jitter.
// Pure: the caller owns the timer and the clock.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
  /**
   * Each wait is up to this fraction shorter, at random (0..1; default 0): many clients that lost
   * the same peer together (one upstream socket per charger) do not all come back in the same instant.
   */
  jitter?: number;
}

export const RECONNECT_POLICY: Readonly<BackoffPolicy> = { initialMs: 500, maxMs: 5_000, factor: 2 };

/** Fixed period for clients that only take one (mqtt.js `reconnectPeriod`): the policy's start. */
export const MQTT_RECONNECT_PERIOD_MS = 1_000;

export class Backoff {
  private failures = 0;

  /** `random` in [0, 1) (injectable for tests); used only with `policy.jitter`. */
  constructor(
    private readonly policy: Readonly<BackoffPolicy> = RECONNECT_POLICY,
    private readonly random: () => number = Math.random,
  ) {}

  /** Consecutive failures since the last success. */
  get failureCount(): number {
    return this.failures;
  }

  /** Records a failure; returns how long to wait before the next attempt, ms (jittered when the policy says so). */
  fail(): number {
    this.failures++;
    const jitter = Math.min(1, Math.max(0, this.policy.jitter ?? 0));
    return this.delayMs() * (1 - jitter * this.random());
  }

  /** The wait after the failures so far (0 when none). */
  delayMs(): number {
    if (this.failures === 0) return 0;
    const raw = this.policy.initialMs * this.policy.factor ** Math.min(this.failures - 1, 30);
    return Math.min(raw, this.policy.maxMs);
  }

  succeed(): void {
    this.failures = 0;
  }
}

/** The wait for a periodic job after `failures` consecutive failures: its own period, stretched by the policy but never past the cap (or the period, if that is longer). */
export function retryDelayMs(periodMs: number, failures: number, policy: Readonly<BackoffPolicy> = RECONNECT_POLICY): number {
  if (failures <= 0) return periodMs;
  const stretched = periodMs * policy.factor ** Math.min(failures - 1, 30);
  return Math.min(stretched, Math.max(policy.maxMs, periodMs));
}
