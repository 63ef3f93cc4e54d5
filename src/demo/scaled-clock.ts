import type { Clock } from '../clock.ts';

/** Demo time: runs `speed` times faster than the wall clock, from the moment it is made. */
export class ScaledClock implements Clock {
  private readonly startRealMs = Date.now();
  constructor(
    private readonly speed: number,
    private readonly startSimMs = Date.now(),
  ) {}
  nowMs(): number {
    return this.startSimMs + (Date.now() - this.startRealMs) * this.speed;
  }
}
