// The planner's car-max learner waits a car's response time under a cap before it reads a draw.
// The draw stamps of the site state move with a step of the wall clock; so must the time the cap
// was first seen, or a forward step reads a draw the car had no time to settle to, and a backward
// one stops learning for the length of the step.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { CarDrawWatcher } from '../../src/planner/car-draw-watcher.ts';
import type { ConnectorState } from '../../src/state/site-state.ts';

const HOUR_MS = 3_600_000;
const T0 = Date.UTC(2026, 11, 6, 12);
const config = configSchema.parse({
  site: { name: 'step', timezone: 'UTC' },
  grid: { maxCurrent: 63 },
  control: { carResponseS: 5 },
  chargers: [{ id: 'CP1', maxCurrent: 32 }],
});
const caps = [{ chargerId: 'CP1', connectorId: 1, currentA: 32 }] as any;

/** A car that draws 16 A of its 32 A cap (its own limit), stamped at `drawAtMs`. */
function connector(drawAtMs: number): ConnectorState {
  return {
    chargerId: 'CP1',
    connectorId: 1,
    status: 'Charging',
    drawA: [16, 16, 16],
    drawAtMs,
    session: { transactionId: 7, paused: false, energyWh: 1_000 },
  } as unknown as ConnectorState;
}

describe('CarDrawWatcher across a wall-clock step', () => {
  it('after a backward step, learns from a draw taken a response time after the cap, on the new clock', () => {
    const watcher = new CarDrawWatcher(config);
    watcher.watch(T0, [connector(T0 - 1_000)], caps);
    watcher.shift(-HOUR_MS);
    expect(watcher.watch(T0 - HOUR_MS + 6_000, [connector(T0 - HOUR_MS + 6_000)], caps)).toBe(true);
    expect(watcher.carMaxPowerW('CP1', 1, 7)).toBeCloseTo(16 * 230 * 3, -2);
  });

  it('after a forward step, does not read a draw taken before the car had its response time', () => {
    const watcher = new CarDrawWatcher(config);
    watcher.watch(T0, [connector(T0 - 1_000)], caps);
    watcher.shift(HOUR_MS);
    expect(watcher.watch(T0 + HOUR_MS + 1_000, [connector(T0 + HOUR_MS + 1_000)], caps)).toBe(false);
    expect(watcher.carMaxPowerW('CP1', 1, 7)).toBeUndefined();
    expect(watcher.watch(T0 + HOUR_MS + 6_000, [connector(T0 + HOUR_MS + 6_000)], caps)).toBe(true);
  });
});
