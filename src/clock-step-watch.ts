import type { Bus } from './bus.ts';
import { CLOCK_STEP_MS, monotonicMs, type Clock } from './clock.ts';
import type { Logger } from './log.ts';

/**
 * The one owner of "the wall clock stepped" (an NTP correction, an operator setting the time).
 * Checked at the start of every control cycle, before anything reads the time for a decision: a
 * step is announced on the bus ('clock.stepped') so every holder of wall-clock stamps can move
 * them by the step (ages and pause timers stay true) and every charging profile is sent again.
 */
export class ClockStepWatch {
  private wallMinusMonoMs: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly bus: Bus,
    private readonly log: Logger,
  ) {}

  /** Returns the step since the last check, ms (0 when none); announces it first. */
  check(): number {
    const deltaMs = this.clock.nowMs() - monotonicMs(this.clock);
    const previous = this.wallMinusMonoMs;
    this.wallMinusMonoMs = deltaMs;
    if (previous === undefined || Math.abs(deltaMs - previous) < CLOCK_STEP_MS) return 0;
    const stepMs = deltaMs - previous;
    this.log.warn(
      { stepS: Math.round(stepMs / 1000) },
      'the wall clock stepped: readings, pause timers and session timers are moved with it, and every charging profile is sent again (durations and refreshes run on the monotonic clock)',
    );
    this.bus.emit('clock.stepped', { stepMs, atMs: this.clock.nowMs() });
    return stepMs;
  }
}
