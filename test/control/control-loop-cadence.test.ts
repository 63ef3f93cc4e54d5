// The live loop's cadence under a flood of MeterValues: the connectors' meters alone trigger at most
// one cycle per meterTriggerGapMs, while the grid meter (and every other trigger) still gets its
// cycle within minTriggerGapMs, even when a slower meter-triggered cycle is already pending.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import type { ChargerCommands } from '../../src/control/charger-commands.ts';
import { createControlLoop, type ControlLoop } from '../../src/control/control-loop.ts';
import { silentLogger } from '../../src/log.ts';
import { SiteState } from '../../src/state/site-state.ts';

const T0 = Date.parse('2026-12-06T12:00:00Z');
const CHARGERS = 20;

function site() {
  const config = configSchema.parse({
    storage: { path: ':memory:' },
    grid: { maxCurrent: 400, meter: 'grid' },
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
    // A long period so that only triggered cycles happen in these windows.
    control: { intervalMs: 60_000 },
    chargers: Array.from({ length: CHARGERS }, (_, i) => ({ id: `CP${i}`, maxCurrent: 32, phases: 3 })),
  });
  const bus = new Bus(silentLogger);
  const clock = new ManualClock(T0);
  const state = new SiteState(config, bus);
  const rounds: number[] = [];
  const chargers: ChargerCommands = {
    async applyCaps(caps) {
      rounds.push(performance.now());
      return { sent: caps.length, unconfirmedDecreases: 0 };
    },
  };
  const control = createControlLoop({ config, bus, log: silentLogger, clock, state }, chargers, { minTriggerGapMs: 100, meterTriggerGapMs: 500 });
  for (let i = 0; i < CHARGERS; i++) bus.emit('charger.connected', { chargerId: `CP${i}`, atMs: T0, protocol: 'ocpp1.6' });
  return { bus, control, rounds };
}

/** Every charger sends MeterValues once a second, spread over the second (a real site's phases). */
function meterFlood(bus: Bus, i: number): void {
  bus.emit('connector.meter', { chargerId: `CP${i % CHARGERS}`, connectorId: 1, atMs: T0 + i * 50, currentA: [10, 10, 10], powerW: 6900 });
}

/** A cycle's stages are turns of the event loop (setImmediate, not faked here): lets a started cycle finish. */
async function stagesDone(): Promise<void> {
  for (let i = 0; i < 4; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('control loop cadence', () => {
  let control: ControlLoop | undefined;
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] }));
  afterEach(async () => {
    await control?.stop();
    vi.useRealTimers();
  });

  it('runs at most one cycle per 500 ms while only connector meters arrive (20 a second)', async () => {
    const s = site();
    control = s.control;
    await s.control.start();
    const before = s.rounds.length;
    for (let i = 0; i < 200; i++) {
      meterFlood(s.bus, i);
      await vi.advanceTimersByTimeAsync(50);
    }
    // 10 s of meters: 20 cycles at the 500 ms gap (it was 100 at the 100 ms gap).
    const cycles = s.rounds.length - before;
    expect(cycles).toBeGreaterThanOrEqual(18);
    expect(cycles).toBeLessThanOrEqual(21);
    const gaps = s.rounds.slice(before + 1).map((t, k) => t - s.rounds[before + k]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(500);
  });

  it('still runs a cycle within 100 ms of a grid meter reading while a meter-triggered cycle waits', async () => {
    const s = site();
    control = s.control;
    await s.control.start();
    await vi.advanceTimersByTimeAsync(1_000);
    meterFlood(s.bus, 0);
    await vi.advanceTimersByTimeAsync(1); // the meter's cycle runs at once (the last cycle is long past)
    await stagesDone();
    const afterMeter = s.rounds.length;
    meterFlood(s.bus, 1); // this one waits 500 ms
    await vi.advanceTimersByTimeAsync(20);
    expect(s.rounds.length).toBe(afterMeter);
    const readingAtMs = performance.now();
    s.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: T0 + 1_000, powerW: 60_000, currentA: [90, 90, 90] });
    await vi.advanceTimersByTimeAsync(100);
    await stagesDone();
    expect(s.rounds.length).toBe(afterMeter + 1);
    expect(s.rounds.at(-1)! - readingAtMs).toBeLessThanOrEqual(100);
  });
});
