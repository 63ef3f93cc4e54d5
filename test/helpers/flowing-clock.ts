// A clock on which real time passes (timers, backoffs and a live peer's clock agree with it) and
// which a test can also move: advance() makes time pass at once (both clocks), stepWall() steps
// only the wall clock, as an NTP correction does.
import type { Clock } from '../../src/clock.ts';

export class FlowingClock implements Clock {
  private wallOffsetMs = 0;
  private advancedMs = 0;

  nowMs(): number {
    return Date.now() + this.wallOffsetMs + this.advancedMs;
  }

  monotonicMs(): number {
    return performance.timeOrigin + performance.now() + this.advancedMs;
  }

  advance(ms: number): void {
    this.advancedMs += ms;
  }

  stepWall(ms: number): void {
    this.wallOffsetMs += ms;
  }
}
