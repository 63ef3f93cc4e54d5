// Every start is in failsafe until the first grid reading comes; the demo at x60 reads its meter
// only after its first cycle, so a newcomer's first line was a JSON warning "failsafe on: no grid
// meter reading". The start is said at info (still "failsafe on", which the restart tests look
// for); data that goes stale later is a warning as before.
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import type { ChargerCommands } from '../../src/control/charger-commands.ts';
import { createControlLoop, type ControlLoop } from '../../src/control/control-loop.ts';
import { silentLogger } from '../../src/log.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { capturingLogger } from '../ocpp/system.ts';

const T0 = Date.parse('2026-12-07T12:00:00Z');

describe('the control loop on the failsafe', () => {
  let control: ControlLoop | undefined;
  afterEach(async () => control?.stop());

  it('says the failsafe at start at info, and a failsafe after fresh data at warn', async () => {
    const config = configSchema.parse({
      storage: { path: ':memory:' },
      grid: { maxCurrent: 100, meter: 'grid' },
      devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
      control: { intervalMs: 60_000, staleAfterMs: 10_000 },
      chargers: [{ id: 'CP1', maxCurrent: 32, phases: 3 }],
    });
    const bus = new Bus(silentLogger);
    const clock = new ManualClock(T0);
    const state = new SiteState(config, bus);
    const chargers: ChargerCommands = { applyCaps: async (caps) => ({ sent: caps.length, unconfirmedDecreases: 0 }) };
    const { log, lines } = await capturingLogger();
    control = createControlLoop({ config, bus, log, clock, state }, chargers);
    const failsafeLines = () => lines.filter((l) => /failsafe on/.test(l.msg ?? ''));
    await control.runCycle();
    expect(failsafeLines()).toMatchObject([{ level: 30, msg: expect.stringMatching(/^failsafe on at start until site data comes: /) }]);
    bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: clock.nowMs(), currentA: [10, 10, 10], powerW: 6900 });
    await control.runCycle();
    expect(lines.some((l) => /failsafe off/.test(l.msg ?? ''))).toBe(true);
    clock.advance(30_000);
    await control.runCycle();
    expect(failsafeLines().at(-1)).toMatchObject({ level: 40, msg: expect.stringMatching(/^failsafe on: /) });
  });
});
