// `ems demo` near real time: the simulated meter, PV and battery are Modbus TCP SunSpec devices,
// and the EMS reads them through its real adapters.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, describe } from 'vitest';
import { loadConfigFile } from '../../src/config-file.ts';
import { scaleDemoConfig } from '../../src/demo/demo-config.ts';
import { startDemoSite, type DemoSite } from '../../src/demo/demo-site.ts';
import { ScaledClock } from '../../src/demo/scaled-clock.ts';
import { silentLogger } from '../../src/log.ts';
import { eventually } from './context.ts';

describe('the demo on real Modbus devices', () => {
  let demo: DemoSite | undefined;
  afterAll(async () => {
    await demo?.stop();
  });

  it('reads grid, PV and battery over Modbus TCP and reports them online', async () => {
    const base = scaleDemoConfig(loadConfigFile(new URL('../../config/examples/demo.yaml', import.meta.url).pathname), 2);
    const config = {
      ...base,
      ocpp: { ...base.ocpp, host: '127.0.0.1', port: 0 },
      http: { ...base.http, host: '127.0.0.1', port: 0 },
      storage: { path: join(mkdtempSync(join(tmpdir(), 'demo-')), 'ems.sqlite') },
    };
    demo = await startDemoSite({ config, log: silentLogger, clock: new ScaledClock(1), modbusDevices: true, initialOccupancy: 0, stepMs: 200 });
    const devices = demo.app.ctx.config.devices;
    expect(devices.filter((d) => d.role !== 'load').every((d) => d.driver === 'modbus')).toBe(true);
    const state = demo.app.ctx.state;
    await eventually(() => devices.every((d) => state.devices.get(d.id)?.health === 'online'), 10_000, 'all demo devices online');
    expect(state.devices.get(config.grid.meter!)?.reading?.currentA).toHaveLength(3);
    // The EMS sees what the simulation computed (to the register resolution: 0.1 A, 1 W). The
    // simulation steps every 200 ms and the EMS polls on its own period, so on a busy machine one
    // poll may lag a step or two behind: some poll within 10 s must match the step it read.
    let seen = '';
    await eventually(
      () => {
        const grid = state.devices.get(config.grid.meter!)?.reading;
        const simulated = demo!.lastReading()!;
        seen = `EMS ${grid?.powerW} W, simulation ${simulated.gridPowerW} W`;
        return grid?.powerW !== undefined && Math.abs(grid.powerW - simulated.gridPowerW) < Math.abs(simulated.gridPowerW) * 0.05 + 100;
      },
      10_000,
      'the EMS to read the grid power the simulation computed',
    ).catch((error: Error) => {
      throw new Error(`${error.message} (last: ${seen})`);
    });
    expect(state.devices.get([...state.devices.values()].find((d) => d.role === 'battery')!.id)?.reading?.socPct).toBeGreaterThan(0);
  });
});
