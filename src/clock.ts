/** Time comes from here, never from Date.now() in feature code, so tests can drive it. */
export interface Clock {
  /** Wall-clock time, ms since the epoch: for timestamps. It may step (NTP). */
  nowMs(): number;
  /**
   * A clock that never steps, ms (any origin): for durations, refreshes and backoff. Optional for
   * clocks that cannot step; `monotonicMs(clock)` falls back to nowMs().
   */
  monotonicMs?(): number;
}

/** A change of (wall − monotonic) larger than this counts as a step of the wall clock, ms. */
export const CLOCK_STEP_MS = 2_000;

/** The clock's monotonic time, or its wall time for clocks without one. */
export function monotonicMs(clock: Clock): number {
  return clock.monotonicMs ? clock.monotonicMs() : clock.nowMs();
}

/**
 * A timer a test can drive: resolves `promise` after `ms` unless cancelled. Features that wait take
 * one injected (virtual time in tests, `realWait` in the app) instead of calling setTimeout.
 */
export type Wait = (ms: number) => { promise: Promise<void>; cancel(): void };

/** setTimeout behind `Wait`; the timer does not keep the process alive. */
export const realWait: Wait = (ms) => {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return { promise, cancel: () => clearTimeout(timer) };
};

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.timeOrigin + performance.now(),
};

/** A clock a test (or the accelerated demo) moves by hand. */
export class ManualClock implements Clock {
  private monoMs: number;
  constructor(private atMs = 0) {
    this.monoMs = atMs;
  }
  nowMs(): number {
    return this.atMs;
  }
  monotonicMs(): number {
    return this.monoMs;
  }
  /** Time passes to `atMs` (both clocks move by the same amount). */
  set(atMs: number): void {
    this.monoMs += atMs - this.atMs;
    this.atMs = atMs;
  }
  advance(ms: number): void {
    this.atMs += ms;
    this.monoMs += ms;
  }
  /** The wall clock steps (an NTP correction); no time passes. */
  stepWall(ms: number): void {
    this.atMs += ms;
  }
}
