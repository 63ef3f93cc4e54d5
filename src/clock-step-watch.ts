import type { Bus } from './bus.ts';
import { CLOCK_STEP_MS, monotonicMs, type Clock } from './clock.ts';
import type { Logger } from './log.ts';

/**
 * The one owner of "the wall clock stepped" (an NTP correction, an operator setting the time), and
 * the clock the whole app stamps with (src/app.ts hands it out as `ctx.clock`).
 *
 * Its `nowMs()` is the monotonic clock plus the wall-clock offset seen at the last `check()`: wall
 * time that moves only when a step is announced. `check()` runs at the start of every control
 * cycle; when the wall clock stepped since the last one, the offset moves and 'clock.stepped' is
 * announced in the same synchronous call, so every holder of stamps (readings, pause timers) moves
 * them by the step at the very moment the time it stamps with moves. A reading stamped between the
 * step and the check is on the old clock like everything stored with it, and is moved once; one
 * stamped after the check is on the new clock and is not moved. Ages are thus monotonic
 * differences: no reading can look fresh (or an hour old) because of a step.
 */
export class ClockStepWatch implements Clock {
  private wallMinusMonoMs: number;

  constructor(
    private readonly wall: Clock,
    private readonly bus: Bus,
    private readonly log: Logger,
  ) {
    this.wallMinusMonoMs = wall.nowMs() - monotonicMs(wall);
  }

  /** Wall time as of the last check, carried forward on the monotonic clock, ms since the epoch. */
  nowMs(): number {
    return monotonicMs(this.wall) + this.wallMinusMonoMs;
  }

  monotonicMs(): number {
    return monotonicMs(this.wall);
  }

  /**
   * Follows the wall clock: returns the step since the last check, ms (0 when none), after moving
   * this clock by it and announcing it. A slow drift (NTP slewing) is followed without an
   * announcement.
   */
  check(): number {
    const deltaMs = this.wall.nowMs() - monotonicMs(this.wall);
    const previous = this.wallMinusMonoMs;
    this.wallMinusMonoMs = deltaMs;
    if (Math.abs(deltaMs - previous) < CLOCK_STEP_MS) return 0;
    const stepMs = deltaMs - previous;
    this.log.warn(
      { stepS: Math.round(stepMs / 1000) },
      'the wall clock stepped: readings, pause timers and session timers are moved with it, and every charging profile is sent again (durations and refreshes run on the monotonic clock)',
    );
    this.bus.emit('clock.stepped', { stepMs, atMs: this.nowMs() });
    return stepMs;
  }
}
