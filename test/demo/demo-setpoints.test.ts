// The demo's battery follows a setpoint written through the real Modbus path (SunSpec model 124 on
// the demo's battery server), and the EMS's grid meter, read over Modbus, sees the difference; its
// PV inverter obeys a limit written through model 704.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModbusLine } from '../../adapters/modbus/line.ts';
import { SunSpecDevice } from '../../adapters/modbus/sunspec-device.ts';
import { loadConfigFile } from '../../src/config-file.ts';
import { scaleDemoConfig } from '../../src/demo/demo-config.ts';
import { startDemoSite, type DemoSite } from '../../src/demo/demo-site.ts';
import { ScaledClock } from '../../src/demo/scaled-clock.ts';
import { silentLogger } from '../../src/log.ts';
import { eventually } from '../devices/context.ts';

describe('the demo battery on its Modbus server', () => {
  let demo: DemoSite | undefined;
  let line: ModbusLine | undefined;
  afterAll(async () => {
    await line?.close();
    await demo?.stop();
  });

  it('follows a setpoint written over Modbus, and the grid meter the EMS reads moves by the difference', async () => {
    const base = scaleDemoConfig(loadConfigFile(new URL('../../config/examples/demo.yaml', import.meta.url).pathname), 2);
    const config = {
      ...base,
      ocpp: { ...base.ocpp, host: '127.0.0.1', port: 0 },
      http: { ...base.http, host: '127.0.0.1', port: 0 },
      storage: { ...base.storage, path: join(mkdtempSync(join(tmpdir(), 'demo-setpoints-')), 'ems.sqlite') },
      // The EMS only reads the battery here, so the test is the only one writing its setpoint.
      devices: base.devices.map((d) => (d.role === 'battery' ? { ...d, control: false } : d)),
      // No cards, so no car arrives (the demo plugs one in at random, with a card that is free): a
      // car charging between the two grid readings below would move the grid by its draw too.
      idTags: [],
    };
    // Early afternoon in Berlin in June: the sun is up, so a PV limit has something to cut.
    const clock = new ScaledClock(1, Date.UTC(2026, 5, 21, 11, 30));
    demo = await startDemoSite({ config, log: silentLogger, clock, modbusDevices: true, initialOccupancy: 0, stepMs: 200 });
    const running = demo.app.ctx.config;
    const battery = running.devices.find((d) => d.role === 'battery')!;
    const gridId = running.grid.meter!;
    if (battery.driver !== 'modbus') throw new Error('the demo battery should be a Modbus device');
    const state = demo.app.ctx.state;
    await eventually(() => state.devices.get(battery.id)?.health === 'online' && state.devices.get(gridId)?.health === 'online', 10_000, 'battery and grid meter online');

    line = new ModbusLine({ transport: { kind: 'tcp', host: battery.host!, port: battery.port! }, timeoutMs: 1000, log: silentLogger, nowMs: Date.now });
    const writer = new SunSpecDevice({ deviceId: 'test-writer', role: 'battery', line, unitId: battery.unitId, nowMs: Date.now, log: silentLogger });

    /** Write a setpoint; wait until the EMS reads the battery at it, then for a grid reading taken after that. */
    const apply = async (setpointW: number) => {
      await writer.setPowerW(setpointW);
      await eventually(() => demo!.lastReading()?.batteryPowerW === setpointW, 15_000, `simulated battery at ${setpointW} W`);
      await eventually(() => state.devices.get(battery.id)?.reading?.powerW === setpointW, 15_000, `EMS reads the battery at ${setpointW} W`);
      const afterMs = clock.nowMs();
      const grid = await eventually(() => {
        const r = state.devices.get(gridId)?.reading;
        return r && r.atMs > afterMs && r;
      }, 15_000, 'a fresh grid reading');
      return grid.powerW!;
    };

    expect(demo.setpoints().batteryPowerW).toBeUndefined();
    const dischargingGridW = await apply(8000);
    // The adapter writes a 60 s revert timer with the setpoint; the simulated battery keeps to it.
    expect(demo.setpoints()).toMatchObject({ batteryPowerW: 8000, batteryHoldMs: 60_000 });
    const chargingGridW = await apply(-6000);
    // 8 kW discharge → 6 kW charge: the site draws 14 kW more from the grid (building load drifts a little).
    expect(Math.abs(chargingGridW - dischargingGridW - 14_000)).toBeLessThan(1500);

    const pv = running.devices.find((d) => d.role === 'pv')!;
    if (pv.driver !== 'modbus') throw new Error('the demo PV should be a Modbus device');
    const pvLine = new ModbusLine({ transport: { kind: 'tcp', host: pv.host!, port: pv.port! }, timeoutMs: 1000, log: silentLogger, nowMs: Date.now });
    try {
      const inverter = new SunSpecDevice({ deviceId: 'test-pv', role: 'pv', line: pvLine, unitId: pv.unitId, nowMs: Date.now, log: silentLogger });
      const unlimitedW = demo.lastReading()!.pvPowerW;
      expect(unlimitedW).toBeGreaterThan(8000);
      await inverter.setLimitW(5000);
      // The limit travels as a percentage of the rating (0.01 % steps): within a few W.
      await eventually(() => Math.abs(demo!.lastReading()!.pvPowerW - 5000) <= 5, 15_000, 'simulated PV at its limit');
      await eventually(() => Math.abs((state.devices.get(pv.id)?.reading?.powerW ?? 0) - 5000) <= 5, 15_000, 'EMS reads PV at its limit');
      await inverter.setLimitW(undefined);
      await eventually(() => demo!.lastReading()!.pvPowerW > 8000, 15_000, 'PV back to full output');
    } finally {
      await pvLine.close();
    }
  });
});
