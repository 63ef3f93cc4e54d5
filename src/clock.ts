/** Time comes from here, never from Date.now() in feature code, so tests can drive it. */
export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

/** A clock a test (or the accelerated demo) moves by hand. */
export class ManualClock implements Clock {
  constructor(private atMs = 0) {}
  nowMs(): number {
    return this.atMs;
  }
  set(atMs: number): void {
    this.atMs = atMs;
  }
  advance(ms: number): void {
    this.atMs += ms;
  }
}
