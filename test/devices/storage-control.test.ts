import { describe, expect, it } from 'vitest';
import type { DeviceReading } from '../../adapters/types.ts';
import { ManualClock } from '../../src/clock.ts';
import type { DeviceControls } from '../../src/devices/device-service.ts';
import { createSolarCeilings } from '../../src/devices/solar-ceilings.ts';
import { createStorageControl } from '../../src/devices/storage-control.ts';
import { testContext } from './context.ts';

const config = {
  grid: { maxCurrent: 250, maxPower: 100_000, maxExportPower: 20_000, meter: 'grid', safetyMargin: 0 },
  chargers: [{ id: 'CP1', connectors: 1 }, { id: 'CP2', connectors: 1 }],
  devices: [
    { id: 'grid', role: 'grid-meter', driver: 'simulated' },
    { id: 'bess', role: 'battery', driver: 'simulated', maxChargePowerW: 30_000, maxDischargePowerW: 30_000, minSocPct: 10, maxSocPct: 90 },
    { id: 'pv', role: 'pv', driver: 'simulated', ratedPowerW: 60_000 },
  ],
};

function setup() {
  const clock = new ManualClock(1_000_000);
  const ctx = testContext(config, clock);
  const writes: { battery: number[]; pv: (number | undefined)[] } = { battery: [], pv: [] };
  const controls = new Map<string, DeviceControls>([
    ['bess', { deviceId: 'bess', role: 'battery', battery: { setPowerW: async (w) => void writes.battery.push(w) } }],
    ['pv', { deviceId: 'pv', role: 'pv', pv: { setLimitW: async (w) => void writes.pv.push(w) } }],
  ]);
  const reading = (r: Omit<DeviceReading, 'atMs'>) => ctx.bus.emit('device.reading', { ...r, atMs: clock.nowMs() });
  return { clock, ctx, writes, controls, reading };
}

describe('storage control', () => {
  it('discharges the battery above the import cap and charges it from PV surplus', async () => {
    const { ctx, writes, controls, reading, clock } = setup();
    const control = createStorageControl(ctx, controls);
    await control.start();
    reading({ deviceId: 'bess', role: 'battery', powerW: 0, socPct: 50 });
    reading({ deviceId: 'pv', role: 'pv', powerW: 0 });
    reading({ deviceId: 'grid', role: 'grid-meter', powerW: 120_000, currentA: [170, 170, 170] });
    await control.runOnce();
    expect(writes.battery.at(-1)).toBe(20_000);
    clock.advance(5000);
    reading({ deviceId: 'bess', role: 'battery', powerW: 0, socPct: 50 });
    reading({ deviceId: 'pv', role: 'pv', powerW: 30_000 });
    reading({ deviceId: 'grid', role: 'grid-meter', powerW: -10_000, currentA: [15, 15, 15] });
    await control.runOnce();
    expect(writes.battery.at(-1)).toBe(-10_000);
    await control.stop();
  });

  it('curtails PV above the export cap once the battery is full', async () => {
    const { ctx, writes, controls, reading } = setup();
    const control = createStorageControl(ctx, controls);
    reading({ deviceId: 'bess', role: 'battery', powerW: 0, socPct: 90 });
    reading({ deviceId: 'pv', role: 'pv', powerW: 50_000 });
    reading({ deviceId: 'grid', role: 'grid-meter', powerW: -30_000, currentA: [40, 40, 40] });
    await control.runOnce();
    expect(writes.pv.at(-1)).toBe(40_000);
    expect(control.status().dispatch?.batteryReason).toMatch(/maximum/);
  });

  it('sets the battery to 0 when the grid reading goes stale', async () => {
    const { ctx, writes, controls, reading, clock } = setup();
    const control = createStorageControl(ctx, controls);
    reading({ deviceId: 'bess', role: 'battery', powerW: 0, socPct: 50 });
    reading({ deviceId: 'grid', role: 'grid-meter', powerW: 130_000, currentA: [190, 190, 190] });
    await control.runOnce();
    expect(writes.battery.at(-1)).toBe(30_000);
    clock.advance(60_000);
    await control.runOnce();
    expect(writes.battery.at(-1)).toBe(0);
  });

  it('does not rewrite a setpoint that moved less than the deadband', async () => {
    const { ctx, writes, controls, reading, clock } = setup();
    const control = createStorageControl(ctx, controls, { deadbandW: 500 });
    reading({ deviceId: 'bess', role: 'battery', powerW: 0, socPct: 50 });
    reading({ deviceId: 'grid', role: 'grid-meter', powerW: 110_000, currentA: [160, 160, 160] });
    await control.runOnce();
    clock.advance(1000);
    reading({ deviceId: 'grid', role: 'grid-meter', powerW: 110_200, currentA: [160, 160, 160] });
    await control.runOnce();
    expect(writes.battery).toEqual([10_000]);
  });
});

describe('solar charging ceilings', () => {
  it('holds a pv session at 0 until the surplus lasts, and leaves fast sessions alone', async () => {
    const { ctx, reading, clock } = setup();
    const solar = createSolarCeilings(ctx);
    await solar.start();
    for (const [chargerId, t] of [['CP1', 1], ['CP2', 2]] as const) {
      ctx.bus.emit('connector.status', { chargerId, connectorId: 1, status: 'Charging', atMs: clock.nowMs() });
      ctx.bus.emit('session.started', { chargerId, connectorId: 1, transactionId: t, idTag: 'x', tier: 'guest', startedAtMs: clock.nowMs() + t, meterStartWh: 0 });
    }
    ctx.bus.emit('session.update', { chargerId: 'CP1', connectorId: 1, chargeMode: 'pv' });
    reading({ deviceId: 'grid', role: 'grid-meter', powerW: -9000, currentA: [-13, -13, -13] });
    let ceilings = solar.ceilingsW(ctx.state.snapshot(clock.nowMs()));
    expect(ceilings.get('CP1/1')).toBe(0);
    expect(ceilings.has('CP2/1')).toBe(false);
    clock.advance(61_000);
    reading({ deviceId: 'grid', role: 'grid-meter', powerW: -9000, currentA: [-13, -13, -13] });
    ceilings = solar.ceilingsW(ctx.state.snapshot(clock.nowMs()));
    expect(ceilings.get('CP1/1')).toBe(9000);
    expect(solar.mode('CP1', 1)).toBe('pv');
    await solar.stop();
  });
});
