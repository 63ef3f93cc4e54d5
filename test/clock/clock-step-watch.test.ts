// The app's clock across wall-clock steps: readings are stamped at random moments, the wall clock
// steps an hour (or a few seconds) either way between them, and the step is found only at the next
// control cycle's check. Whatever the order, every stamp the site state holds keeps its true age
// (monotonic time since it was taken): none is moved twice, none looks fresh or stale because of a
// step. The check's tolerance (CLOCK_STEP_MS: a smaller change is followed as drift) bounds the error.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { Bus } from '../../src/bus.ts';
import { CLOCK_STEP_MS, ManualClock } from '../../src/clock.ts';
import { ClockStepWatch } from '../../src/clock-step-watch.ts';
import { silentLogger } from '../../src/log.ts';
import { SiteState } from '../../src/state/site-state.ts';

const config = configSchema.parse({
  site: { name: 'Clock', voltage: 230, timezone: 'UTC' },
  grid: { maxCurrent: 100, meter: 'grid' },
  chargers: [{ id: 'CP1', connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3 }],
  devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
});

type Action =
  | { kind: 'advance'; ms: number }
  | { kind: 'step'; ms: number }
  | { kind: 'reading' }
  | { kind: 'status' }
  | { kind: 'meter' }
  | { kind: 'disconnect' }
  | { kind: 'check' };

const HOUR = 3_600_000;
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 20_000 }) }),
  fc.record({ kind: fc.constant('step' as const), ms: fc.oneof(fc.constantFrom(HOUR, -HOUR, 2 * HOUR, -2 * HOUR), fc.integer({ min: -HOUR, max: HOUR })) }),
  fc.constant({ kind: 'reading' as const }),
  fc.constant({ kind: 'status' as const }),
  fc.constant({ kind: 'meter' as const }),
  fc.constant({ kind: 'disconnect' as const }),
  fc.constant({ kind: 'check' as const }),
);

describe('the app clock across wall-clock steps', () => {
  it('keeps the true age of every stamp whatever the order of readings, steps and checks', () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 1, maxLength: 40 }), (actions) => {
        const wall = new ManualClock(Date.parse('2026-12-06T12:00:00Z'));
        const bus = new Bus(silentLogger);
        const state = new SiteState(config, bus);
        const clock = new ClockStepWatch(wall, bus, silentLogger);
        // The monotonic time each kind of stamp was taken at.
        const takenAt = new Map<string, number>();
        // Steps not yet found by a check whose sum is below the check's tolerance are followed as drift.
        let pendingMs = 0;
        let driftMs = 0;
        for (const a of actions) {
          if (a.kind === 'advance') wall.advance(a.ms);
          else if (a.kind === 'step') {
            wall.stepWall(a.ms);
            pendingMs += a.ms;
          } else if (a.kind === 'check') {
            clock.check();
            if (Math.abs(pendingMs) < CLOCK_STEP_MS) driftMs += Math.abs(pendingMs);
            pendingMs = 0;
          } else if (a.kind === 'reading') {
            bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: clock.nowMs(), currentA: [1, 1, 1], powerW: 690 });
            takenAt.set('grid', wall.monotonicMs());
          } else if (a.kind === 'status') {
            bus.emit('connector.status', { chargerId: 'CP1', connectorId: 1, status: 'Charging', atMs: clock.nowMs() });
            takenAt.set('status', wall.monotonicMs());
          } else if (a.kind === 'meter') {
            bus.emit('connector.meter', { chargerId: 'CP1', connectorId: 1, atMs: clock.nowMs(), currentA: [6, 6, 6] });
            takenAt.set('draw', wall.monotonicMs());
          } else {
            bus.emit('charger.disconnected', { chargerId: 'CP1', atMs: clock.nowMs() });
            takenAt.set('charger', wall.monotonicMs());
          }
          // A control cycle reads the time after its check; any moment in between is checked too.
          const nowMs = clock.nowMs();
          const monoNowMs = wall.monotonicMs();
          const stamps: Record<string, number | undefined> = {
            grid: state.devices.get('grid')?.reading?.atMs,
            status: state.connector('CP1', 1)?.statusAtMs,
            draw: state.connector('CP1', 1)?.drawAtMs,
            charger: state.chargers.get('CP1')?.sinceMs,
          };
          for (const [key, atMs] of Object.entries(stamps)) {
            const taken = takenAt.get(key);
            if (taken === undefined || atMs === undefined) continue;
            expect(Math.abs(nowMs - atMs - (monoNowMs - taken)), `${key} age after ${JSON.stringify(actions)}`).toBeLessThanOrEqual(driftMs);
          }
        }
      }),
      { numRuns: 2_000, seed: 10 },
    );
  });

  it('announces a step once, in the same call that moves its time', () => {
    const wall = new ManualClock(0);
    const bus = new Bus(silentLogger);
    const clock = new ClockStepWatch(wall, bus, silentLogger);
    const seen: { stepMs: number; clockMs: number }[] = [];
    bus.on('clock.stepped', ({ stepMs }) => seen.push({ stepMs, clockMs: clock.nowMs() }));
    wall.advance(1_000);
    wall.stepWall(HOUR);
    // Until the check, the app's clock carries on from before the step.
    expect(clock.nowMs()).toBe(1_000);
    expect(clock.check()).toBe(HOUR);
    expect(seen).toEqual([{ stepMs: HOUR, clockMs: HOUR + 1_000 }]);
    expect(clock.check()).toBe(0);
    // A drift under the tolerance is followed without an announcement.
    wall.stepWall(500);
    expect(clock.check()).toBe(0);
    expect(clock.nowMs()).toBe(HOUR + 1_500);
    expect(seen).toHaveLength(1);
  });
});
